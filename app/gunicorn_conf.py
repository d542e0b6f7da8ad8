"""gunicorn settings for the API (``gunicorn -c app/gunicorn_conf.py "app.api:create_app()"``).

Address, port, workers, threads and the control socket come from the environment. gunicorn always
writes a ``Server: gunicorn`` line; a JSON API has no reason to name its server, so
that one line is dropped.
"""

import ctypes
import os
import signal

from gunicorn.http import wsgi

# Loopback by default: nginx in front is the only client (Compose sets COMANDA_API_HOST=0.0.0.0
# inside its private network). Each API process gets its own COMANDA_API_PORT.
_port = os.environ.get("COMANDA_API_PORT", "8000")
bind = f"{os.environ.get('COMANDA_API_HOST', '127.0.0.1')}:{_port}"
# X-Forwarded-Proto is believed only from the proxy (app/api/proxy.py does the same for the
# address): the app then knows the request came over HTTPS.
forwarded_allow_ips = os.environ.get("COMANDA_TRUSTED_PROXIES", "127.0.0.1,::1")
# gunicorn 25+ puts one control socket in $HOME for every instance otherwise.
_state = os.environ.get("COMANDA_STATE_DIR")
if _state:
    control_socket = os.path.join(_state, f"gunicorn-{_port}.ctl")
workers = int(os.environ.get("COMANDA_API_WORKERS", "2"))
threads = int(os.environ.get("COMANDA_API_THREADS", "4"))
worker_class = "gthread"
# Load the app once in the master before the socket is bound: a restart then refuses
# connections for a moment (clients retry) instead of queueing them behind booting workers.
# Safe because create_app() opens no connections; engines are made on first use.
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
limit_request_line = 8190
limit_request_fields = 100

_default_headers = wsgi.Response.default_headers


def _without_server(self):
    return [line for line in _default_headers(self) if not line.startswith("Server:")]


wsgi.Response.default_headers = _without_server


PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    """Workers die with their master. A master killed with -9 otherwise leaves its workers
    holding the listening socket for their graceful period: new connections queue there
    unserved (clients hang) and the restarted master cannot bind. Dying at once resets
    those connections, so clients retry (with their Idempotency-Key) against the new one."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server.pid:  # the master died before the line above ran
        os._exit(1)
