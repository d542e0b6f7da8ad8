"""A private RabbitMQ node (the Debian package's code, our own name, ports, epmd and data).

We run /usr/lib/rabbitmq/bin scripts directly: the /usr/sbin wrappers `su` to the rabbitmq user
and cd to /var/lib/rabbitmq, i.e. the system instance's world. Erlang runs fine as root. epmd is
started by us on a private port (ERL_EPMD_PORT) so nothing is shared with a system epmd on 4369,
and the Erlang cookie lives in HOME=<state>/data/rabbitmq/home.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from .config import Config
from .prereqs import RABBITMQ_BIN
from .proc import (
    ServiceError,
    Status,
    alive,
    log,
    pid_if_alive,
    port_open,
    run,
    spawn,
    terminate,
    wait_for,
    write_pid,
)

NAME = "rabbitmq"
NODE = "comanda@localhost"
READY_TIMEOUT = 90.0


def data_dir(cfg: Config) -> Path:
    return cfg.data_dir / "rabbitmq"


def log_dir(cfg: Config) -> Path:
    return cfg.logs_dir / "rabbitmq"


def log_path(cfg: Config) -> Path:
    """The node's own log file (RABBITMQ_LOG_BASE/<node>.log)."""
    return log_dir(cfg) / f"{NODE}.log"


def console_log(cfg: Config) -> Path:
    return log_dir(cfg) / "console.log"


def pidfile(cfg: Config) -> Path:
    return cfg.pids_dir / "rabbitmq.pid"


def epmd_pidfile(cfg: Config) -> Path:
    return cfg.pids_dir / "epmd.pid"


def env(cfg: Config) -> dict[str, str]:
    """Environment for rabbitmq-server and rabbitmqctl alike (same node, cookie and epmd)."""
    conf = cfg.conf_dir / "rabbitmq"
    return {
        **os.environ,
        "HOME": str(data_dir(cfg) / "home"),
        "ERL_EPMD_PORT": str(cfg.epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": NODE,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(cfg.rabbitmq_port),
        "RABBITMQ_DIST_PORT": str(cfg.rabbitmq_dist_port),
        "RABBITMQ_MNESIA_BASE": str(data_dir(cfg) / "mnesia"),
        "RABBITMQ_LOG_BASE": str(log_dir(cfg)),
        "RABBITMQ_CONFIG_FILE": str(conf / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(conf / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": str(conf / "rabbitmq-env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(conf / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(pidfile(cfg)),
    }


def _conf_text(cfg: Config) -> str:
    return (
        "# Rendered by `python -m stack` on every start; edits are overwritten.\n"
        f"listeners.tcp.default = 127.0.0.1:{cfg.rabbitmq_port}\n"
        "loopback_users.guest = true\n"
        "disk_free_limit.absolute = 100MB\n"
        "log.console = false\n"
        "log.file.level = info\n"
        # The management UI and HTTP API, on loopback only (login: the comanda user).
        f"management.tcp.ip = 127.0.0.1\n"
        f"management.tcp.port = {cfg.rabbitmq_management_port}\n"
        # Every queue, channel and connection reports its statistics to the management
        # plugin every 5 s by default; every 15 s cost less per order (docs/perf-services.md)
        # and the console's and HTTP API's queue depths are still there, a little staler.
        "collect_statistics_interval = 15000\n"
    )


PLUGINS = "[rabbitmq_management].\n"


def _stale(cfg: Config) -> bool:
    """A running node started with another config (e.g. before the management plugin)."""
    conf = cfg.conf_dir / "rabbitmq"
    try:
        return (conf / "rabbitmq.conf").read_text() != _conf_text(cfg) or (
            conf / "enabled_plugins"
        ).read_text() != PLUGINS
    except OSError:
        return True


def _render(cfg: Config) -> None:
    conf = cfg.conf_dir / "rabbitmq"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "rabbitmq.conf").write_text(_conf_text(cfg))
    (conf / "enabled_plugins").write_text(PLUGINS)
    # Empty on purpose: keeps /etc/rabbitmq/rabbitmq-env.conf (the system node's) out.
    (conf / "rabbitmq-env.conf").write_text("# private node: nothing here\n")
    home = data_dir(cfg) / "home"
    home.mkdir(parents=True, exist_ok=True)
    cookie = home / ".erlang.cookie"
    if not cookie.exists():
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
    log_dir(cfg).mkdir(parents=True, exist_ok=True)


def _ctl(cfg: Config, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run(
        [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", NODE, *args], env=env(cfg), timeout=timeout
    )


def running_pid(cfg: Config) -> int | None:
    return pid_if_alive(pidfile(cfg), "beam")


def epmd_pid(cfg: Config) -> int | None:
    return pid_if_alive(epmd_pidfile(cfg), "epmd")


def _start_epmd(cfg: Config) -> None:
    if epmd_pid(cfg):
        return
    if port_open(cfg.epmd_port):
        raise ServiceError("epmd", f"port {cfg.epmd_port} is taken by another process")
    cmd = ["epmd", "-port", str(cfg.epmd_port), "-address", "127.0.0.1"]
    proc = spawn(cmd, log_dir(cfg) / "epmd.log", env=env(cfg), cwd=cfg.state_dir)
    write_pid(epmd_pidfile(cfg), proc.pid)
    if not wait_for(lambda: port_open(cfg.epmd_port), 10, still_alive=lambda: alive(proc.pid)):
        raise ServiceError("epmd", "did not start", log_dir(cfg) / "epmd.log")


def amqp_ready(cfg: Config) -> bool:
    from kombu import Connection

    with Connection(cfg.app_env()["CELERY_BROKER_URL"], connect_timeout=3) as conn:
        conn.connect()
        return conn.connected


def _ensure_user(cfg: Config) -> None:
    users = _ctl(cfg, "list_users", "--silent").stdout
    if not any(line.split()[:1] == ["comanda"] for line in users.splitlines()):
        _ctl(cfg, "add_user", "comanda", "comanda")
        log("rabbitmq: created user comanda")
    _ctl(cfg, "set_user_tags", "comanda", "administrator")
    _ctl(cfg, "set_permissions", "-p", "/", "comanda", ".*", ".*", ".*")


def start(cfg: Config, name: str = NAME) -> None:
    if running_pid(cfg) and _stale(cfg):
        log("rabbitmq: its config changed (e.g. the management plugin); restarting the node")
        stop(cfg)
    if running_pid(cfg):
        try:
            if amqp_ready(cfg):
                log(f"rabbitmq: already running on 127.0.0.1:{cfg.rabbitmq_port}")
                return
        except Exception:
            pass
    else:
        for p in (cfg.rabbitmq_port, cfg.rabbitmq_dist_port, cfg.rabbitmq_management_port):
            if port_open(p):
                raise ServiceError(NAME, f"port {p} is taken by another process", log_path(cfg))
        _render(cfg)
        _start_epmd(cfg)
        pidfile(cfg).unlink(missing_ok=True)
        launcher = spawn(
            [str(RABBITMQ_BIN / "rabbitmq-server")],
            console_log(cfg),
            env=env(cfg),
            cwd=data_dir(cfg),
        )
        log(f"rabbitmq: starting node {NODE} (launcher pid {launcher.pid})")
        if not wait_for(
            lambda: running_pid(cfg) is not None,
            READY_TIMEOUT,
            still_alive=lambda: alive(launcher.pid),
        ):
            raise ServiceError(NAME, "node did not start", console_log(cfg))
    try:
        _ctl(cfg, "await_startup", "--timeout", str(int(READY_TIMEOUT)), timeout=READY_TIMEOUT + 30)
        _ensure_user(cfg)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stdout", "") or ""
        raise ServiceError(NAME, f"rabbitmqctl failed: {exc}\n{detail}", log_path(cfg)) from None
    if not wait_for(lambda: amqp_ready(cfg), 30):
        raise ServiceError(NAME, "AMQP login as comanda failed", log_path(cfg))
    log(
        f"rabbitmq: ready on 127.0.0.1:{cfg.rabbitmq_port} (pid {running_pid(cfg)}),"
        f" management UI http://127.0.0.1:{cfg.rabbitmq_management_port}"
    )


def stop(cfg: Config, name: str = NAME) -> None:
    pid = running_pid(cfg)
    if pid:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            _ctl(cfg, "stop", timeout=90)
        killed = terminate(pid, 30) if alive(pid) else False
        log(f"rabbitmq: {'killed after timeout' if killed else 'stopped'} (pid {pid})")
    pidfile(cfg).unlink(missing_ok=True)
    epid = epmd_pid(cfg)
    if epid:
        terminate(epid, 10)
    epmd_pidfile(cfg).unlink(missing_ok=True)


def wipe(cfg: Config) -> None:
    shutil.rmtree(data_dir(cfg), ignore_errors=True)


def status(cfg: Config) -> list[Status]:
    return [Status(NAME, running_pid(cfg), cfg.rabbitmq_port, log_path(cfg))]
