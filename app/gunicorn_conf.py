"""gunicorn settings for the API (``gunicorn -c app/gunicorn_conf.py "app.api:create_app()"``).

Address, port, workers, threads and the control socket come from the environment. gunicorn always
writes a ``Server: gunicorn`` line; a JSON API has no reason to name its server, so
that one line is dropped.
"""

import ctypes
import json
import os
import signal

from gunicorn import glogging, util
from gunicorn.http import wsgi

from app.core import heap, metrics

# Before the app is preloaded: the workers' metric files of an earlier run go (multiprocess mode).
metrics.fresh_multiproc_dir()

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
# nginx keeps its idle upstream connections for less (stack/nginx.py keepalive_timeout 4s).
keepalive = 5
accesslog = "-"
# The reply's X-Request-ID (the correlation id) ends each line, so `stack trace` finds it.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms [%({x-request-id}o)s]'


class AccessLogger(glogging.Logger):
    """gunicorn's logger, building only the atoms ``access_log_format`` uses. The stock
    ``atoms`` makes a dict of every request header, response header and environ entry for
    every request (~3% of an API worker's CPU in a burst, docs/perf-intake.md).
    tests/unit/test_access_log.py checks that each atom of the format is built here."""

    def atoms(self, resp, req, environ, request_time):
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request_id = next((v for k, v in resp.headers if k.lower() == "x-request-id"), "-")
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "b": str(sent) if sent is not None else "-",
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
            "{x-request-id}o": request_id,
        }


logger_class = AccessLogger
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

_default_headers = wsgi.Response.default_headers


def _without_server(self):
    return [line for line in _default_headers(self) if not line.startswith("Server:")]


wsgi.Response.default_headers = _without_server

# gunicorn answers what it cannot parse itself (a malformed request line 400, an over-long
# one 414, too many or too large header fields 431) before Flask sees the request, with an
# HTML page that quotes the offending input. These answer in the API's one JSON error shape
# with a fixed message instead; the detail stays in gunicorn's log ("Invalid request from").
GUNICORN_ERRORS = {
    400: "malformed request",
    403: "forbidden",
    414: "request line too long",
    417: "expectation failed",
    431: "request header fields too large",
    500: "internal error",
    501: "transfer coding not supported",
}


def json_error(sock, status_int, reason, mesg):  # noqa: ARG001 - mesg quotes the request
    body = json.dumps({"message": GUNICORN_ERRORS.get(status_int, "bad request")}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = json_error


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


def pre_fork(server, worker):
    """The preloaded app's objects are frozen before each fork: no full garbage collection
    of a worker walks them (a pause of every thread), and the workers keep sharing their
    pages with the master instead of the collector touching them (app/core/heap.py)."""
    heap.freeze_startup_objects()


def when_ready(server):
    """The master serves the sum of its workers' metrics on the API's loopback metrics port."""
    metrics.serve()


def child_exit(server, worker):
    metrics.process_dead(worker.pid)
