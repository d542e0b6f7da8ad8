"""The app processes (API, relay, consumers, Celery worker and beat) under supervisord."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import monitoring, nginx
from .config import Config
from .proc import Status, alive, log, pid_if_alive, tail, terminate, wait_for

# Generous: on a loaded 2-core machine N gunicorn masters importing the app at once are slow.
HEALTH_TIMEOUT = 180.0
LABEL_WIDTH = 10
# The programs that run a Kafka consumer group (events/consumers/).
CONSUMERS = ("pipeline", "feed", "projector")
# Gossip (every worker consuming every other worker's events) and mingle (a broadcast
# round trip at start) serve features Comanda does not use (no Celery task revokes to
# share, no clock sync between workers); each costs CPU in the worker and RabbitMQ
# whether or not anything happens. docs/perf-events.md "Fourth round".
QUIET_WORKER = "--without-gossip --without-mingle"


def api_name(i: int) -> str:
    """The API processes: `api` (on COMANDA_API_PORT), then `api-2`, `api-3`, ..."""
    return "api" if i == 0 else f"api-{i + 1}"


def programs(cfg: Config) -> dict[str, str]:
    """name -> command line (run from the repo root). The app's commands are the same in
    docker-compose.yml (tests/unit/test_compose.py checks it): whatever differs between the
    two is an environment value (program_env), never the command."""
    bin_ = cfg.venv / "bin"
    # Host, port, workers, threads, control socket and the dropped Server banner:
    # app/gunicorn_conf.py, from the environment.
    api = f'{bin_}/gunicorn -c app/gunicorn_conf.py "app.api:create_app()"'
    # Work no one waits on runs at a lower CPU priority: the payment follow-ups (voids after
    # a cancel, captures after delivery) and the admin projection. When the two cores are
    # busy, as in a storm of 5,000 cancellations, the kernel gives them what the order path
    # (API, relay, pipeline consumer, order-step worker, restaurant feed) leaves; when idle
    # they run as fast as ever. 0 turns it off (the storm bench compares both).
    background = f"nice -n {os.environ.get('COMANDA_BACKGROUND_NICE') or '10'} "
    return {
        **{api_name(i): api for i in range(cfg.api_processes)},
        "relay": f"{bin_}/python -m events.relay",
        "pipeline": f"{bin_}/python -m events.consumers.pipeline",
        "feed": f"{bin_}/python -m events.consumers.feed",
        "projector": f"{background}{bin_}/python -m events.consumers.projector",
        "worker": (
            # Threads by default: a task mostly waits (PostgreSQL, the card network), and a
            # waiting thread holds neither a process nor, outside a transaction, a connection.
            f"{bin_}/celery -A workers.celery_app worker --loglevel=INFO"
            f" --pool={os.environ.get('COMANDA_WORKER_POOL') or 'threads'}"
            f" --concurrency={os.environ.get('COMANDA_WORKER_CONCURRENCY') or '8'}"
            f" -n worker@%h -Q comanda {QUIET_WORKER}"
        ),
        # The bulkhead (app/core/task_queue.py TASK_ROUTES): the payment follow-ups (capture,
        # void) and retention on their own queue and worker, so a storm of voids never
        # queues ahead of a new order's steps. A few threads: a 2-minute target, no one
        # waiting, and every thread here is CPU the order steps do not get.
        "worker-followups": (
            f"{background}{bin_}/celery -A workers.celery_app worker --loglevel=INFO"
            " --pool=threads"
            f" --concurrency={os.environ.get('COMANDA_FOLLOWUPS_CONCURRENCY') or '4'}"
            f" -n followups@%h -Q comanda.followups {QUIET_WORKER}"
        ),
        "beat": (
            f"{bin_}/celery -A workers.celery_app beat --loglevel=INFO"
            f" --schedule={cfg.state_dir}/celerybeat-schedule"
        ),
        # TLS, HTTP -> HTTPS and round robin over the API processes (stack/nginx.py).
        "nginx": nginx.command(cfg),
        # The metrics exporter, Prometheus and Flower (stack/monitoring.py).
        **monitoring.programs(cfg),
    }


def supervisor_env(cfg: Config) -> dict[str, str]:
    """The environment every program gets (supervisord's [supervisord] environment)."""
    return {
        **cfg.app_env(),
        "PYTHONUNBUFFERED": "1",
        "COMANDA_STATE_DIR": str(cfg.state_dir),
        # The API processes listen on loopback; only nginx (also loopback) is a trusted proxy.
        # docker-compose.yml sets the same two for its network (one bridge, nginx on it).
        "COMANDA_API_HOST": "127.0.0.1",
        "COMANDA_TRUSTED_PROXIES": "127.0.0.1,::1",
        # Where every program's metrics server listens (app/core/metrics.py; Compose: 0.0.0.0).
        "COMANDA_MONITORING_HOST": cfg.monitoring_host,
    }


def program_env(cfg: Config, name: str) -> dict[str, str]:
    """What one program gets on top of supervisor_env: each API process its own port, and
    each program its own metrics port (and multiprocess dir, Flower's login: monitoring)."""
    api_ports = {api_name(i): {"COMANDA_API_PORT": str(p)} for i, p in enumerate(cfg.api_ports)}
    # The consumer groups' programs rejoin their group at once after a restart (static
    # membership: app/core/settings.py kafka_static_membership).
    static = {"COMANDA_KAFKA_STATIC_MEMBERSHIP": "1"} if name in CONSUMERS else {}
    return {**api_ports.get(name, {}), **static, **monitoring.program_env(cfg, name)}


def conf_path(cfg: Config) -> Path:
    return cfg.conf_dir / "supervisord.conf"


def pidfile(cfg: Config) -> Path:
    return cfg.pids_dir / "supervisord.pid"


def sock_path(cfg: Config) -> Path:
    return cfg.state_dir / "supervisor.sock"


def sup_log(cfg: Config) -> Path:
    return cfg.logs_dir / "supervisord.log"


def prog_log(cfg: Config, name: str) -> Path:
    return cfg.logs_dir / f"{name}.log"


def _esc(value: str) -> str:
    """supervisor expands %(name)s in values; a literal % is written %%."""
    return value.replace("%", "%%")


def _env_line(env: dict[str, str]) -> str:
    return ",".join(f'{k}="{_esc(v)}"' for k, v in env.items())


def render(cfg: Config, progs: dict[str, str]) -> str:
    env_line = _env_line(supervisor_env(cfg))
    out = [
        "; Rendered by `python -m stack procs-up`; edits are overwritten.",
        "[unix_http_server]",
        f"file={sock_path(cfg)}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={sup_log(cfg)}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={pidfile(cfg)}",
        f"directory={cfg.repo}",
        f"childlogdir={cfg.logs_dir}",
        "nodaemon=false",
        "minfds=4096",
        f"environment={env_line}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{sock_path(cfg)}",
        "",
    ]
    for name, command in progs.items():
        own_env = program_env(cfg, name)
        out += [
            f"[program:{name}]",
            f"command={_esc(command)}",
            *([f"environment={_env_line(own_env)}"] if own_env else []),
            f"directory={cfg.repo}",
            "autostart=true",
            "autorestart=true",
            "startsecs=2",
            "startretries=1000",
            # nginx: QUIT is its graceful stop (TERM is the fast one).
            f"stopsignal={'QUIT' if name == 'nginx' else 'TERM'}",
            "stopwaitsecs=30",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={prog_log(cfg, name)}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
        out.append("")
    return "\n".join(out)


def supervisord_pid(cfg: Config) -> int | None:
    return pid_if_alive(pidfile(cfg), "supervisord")


def ctl(cfg: Config, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [str(cfg.venv / "bin" / "supervisorctl"), "-c", str(conf_path(cfg)), *args]
    return subprocess.run(cmd, capture_output=capture, text=True, stdin=subprocess.DEVNULL)


def _get(url: str, context: ssl.SSLContext | None = None) -> int:
    with urllib.request.urlopen(url, timeout=3, context=context) as resp:
        return resp.status


def _healthy(cfg: Config) -> bool:
    """Every API process on its loopback port, and nginx over HTTPS with the CA verified."""
    if not all(_get(f"http://127.0.0.1:{p}/healthz") == 200 for p in cfg.api_ports):
        return False
    tls = ssl.create_default_context(cafile=str(cfg.ca_file))
    return _get(f"{cfg.app_env()['COMANDA_URL']}/healthz", tls) == 200


def _head(conf: str) -> str:
    """The config before the first [program:x]: `supervisorctl update` does not apply it."""
    return conf.split("[program:", 1)[0]


def start_supervisord(cfg: Config, progs: dict[str, str]) -> None:
    """Write the config and start supervisord, or make a running one pick up config changes."""
    from . import prereqs

    prereqs.ensure({"prometheus"})
    cfg.ensure_dirs()
    monitoring.prepare(cfg)
    new = render(cfg, progs)
    old = conf_path(cfg).read_text() if conf_path(cfg).exists() else ""
    if supervisord_pid(cfg) and _head(old) != _head(new):
        log("supervisord: its own settings (environment, paths) changed; restarting it")
        down(cfg)
    conf_path(cfg).write_text(new)
    if supervisord_pid(cfg):
        ctl(cfg, "update", capture=True)
        ctl(cfg, "start", "all", capture=True)
        log(f"supervisord: already running (pid {supervisord_pid(cfg)}), config reloaded")
        return
    sock_path(cfg).unlink(missing_ok=True)
    exe = str(cfg.venv / "bin" / "supervisord")
    # supervisord daemonizes itself (own session) and writes its pidfile.
    subprocess.run([exe, "-c", str(conf_path(cfg))], check=True, stdin=subprocess.DEVNULL)
    ready = wait_for(
        lambda: supervisord_pid(cfg) is not None and ctl(cfg, "pid", capture=True).returncode == 0,
        20,
    )
    if not ready:
        print(tail(sup_log(cfg)), file=sys.stderr)
        raise SystemExit(f"stack: supervisord did not start; see {sup_log(cfg)}")
    log(f"supervisord: started (pid {supervisord_pid(cfg)}), config {conf_path(cfg)}")


def up(cfg: Config) -> int:
    from . import prereqs

    prereqs.ensure({"nginx"})
    reload_nginx = nginx.prepare(cfg) and supervisord_pid(cfg) is not None
    start_supervisord(cfg, programs(cfg))
    if reload_nginx:  # e.g. COMANDA_API_PROCESSES changed: new upstreams, same command
        ctl(cfg, "signal", "HUP", "nginx", capture=True)
    t0 = time.monotonic()
    if not wait_for(lambda: _healthy(cfg), HEALTH_TIMEOUT, interval=0.5):
        ctl(cfg, "status")
        print(
            "\nstack: FAILED the API processes or nginx did not answer GET /healthz with 200"
            f" in {HEALTH_TIMEOUT:.0f}s"
            f"\nstack: log files: {prog_log(cfg, 'api')}, {prog_log(cfg, 'nginx')}"
            f"\n--- last lines ---\n{tail(prog_log(cfg, 'api'), 10)}\n"
            f"{tail(prog_log(cfg, 'nginx'), 10)}\n---\n"
            "stack: app processes left running for inspection; `python -m stack procs-down`",
            file=sys.stderr,
        )
        return 1
    log(
        f"api: {cfg.api_processes} process(es) healthy on 127.0.0.1:"
        f"{','.join(map(str, cfg.api_ports))}, behind nginx at {cfg.app_env()['COMANDA_URL']}"
        f" ({time.monotonic() - t0:.1f}s)"
    )
    # Give the others their startsecs to leave STARTING so the table below means something.
    wait_for(lambda: "STARTING" not in ctl(cfg, "status", capture=True).stdout, 10, 0.5)
    ctl(cfg, "status")
    return 0


def down(cfg: Config) -> int:
    pid = supervisord_pid(cfg)
    if not pid:
        pidfile(cfg).unlink(missing_ok=True)
        return 0
    log(f"supervisord: stopping programs and supervisord (pid {pid})")
    ctl(cfg, "stop", "all", capture=True)  # stops every program at once
    ctl(cfg, "shutdown", capture=True)
    if not wait_for(lambda: not alive(pid), 90):
        terminate(pid, 30)
    log("supervisord: stopped")
    return 0


def status(cfg: Config) -> int:
    if not supervisord_pid(cfg):
        print(f"supervisord not running (config {conf_path(cfg)})")
        return 0
    ctl(cfg, "status")
    return 0


def status_line(cfg: Config) -> Status:
    return Status("supervisord", supervisord_pid(cfg), f"https:{cfg.https_port}", sup_log(cfg))


class _Follower:
    """Follows one log file from an offset, coping with rotation and truncation."""

    def __init__(self, label: str, path: Path, offset: int) -> None:
        self.prefix = f"{label:<{LABEL_WIDTH}}| "
        self.path, self.offset, self.ino, self.partial = path, offset, None, b""

    def lines(self) -> list[str]:
        try:
            st = self.path.stat()
        except OSError:
            return []
        if self.ino is not None and (st.st_ino != self.ino or st.st_size < self.offset):
            self.offset = 0  # rotated or truncated
        self.ino = st.st_ino
        if st.st_size <= self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = self.partial + f.read(1 << 20)
            self.offset = f.tell()
        *complete, self.partial = data.split(b"\n")
        return [self.prefix + ln.decode("utf-8", "replace") for ln in complete]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_foreground(cfg: Config) -> int:
    """procs-up, stream every program's log with a label until Ctrl-C/SIGTERM, then procs-down."""
    # The monitoring programs' own chatter (Prometheus compactions, Flower polls) stays in
    # their files unless COMANDA_RUN_LOGS=all: `make run` shows the orders going through.
    quiet = () if os.environ.get("COMANDA_RUN_LOGS") == "all" else monitoring.QUIET_IN_RUN
    sources = {name: prog_log(cfg, name) for name in programs(cfg) if name not in quiet}
    sources["supervisor"] = sup_log(cfg)
    followers = [_Follower(label, path, _size(path)) for label, path in sources.items()]

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Explicitly: a shell starting us in the background would have left SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rc = 0
    try:
        rc = up(cfg)
        if rc == 0:
            print(
                "stack: streaming app logs; Ctrl-C stops the app processes "
                "(PostgreSQL/Kafka/RabbitMQ stay up; `make down` stops everything)",
                flush=True,
            )
        while rc == 0:
            out = [ln for f in followers for ln in f.lines()]
            if out:
                sys.stdout.write("\n".join(out) + "\n")
                sys.stdout.flush()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstack: stopping app processes ...", flush=True)
        with contextlib.suppress(BrokenPipeError):
            down(cfg)
        print(
            "stack: app processes stopped; services still running (`make down` stops them)",
            flush=True,
        )
    return rc
