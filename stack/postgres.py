"""A private PostgreSQL cluster: initdb once, pg_ctl start/stop, role and databases for the app.

PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` OS
user through `runuser`, and the cluster's directory is owned by that user. That user must be able
to reach the directory: if some parent of the state dir is closed to it (e.g. /root), the cluster
lives under /var/tmp and <state>/data/postgres is a symlink to it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from .config import Config
from .prereqs import pg_bindir
from .proc import ServiceError, Status, alive, log, port_open, read_pid, run, wait_for, write_pid

NAME = "postgres"
APP_DBS = ("comanda", "comanda_test")


def _as_root() -> bool:
    return os.geteuid() == 0


def _owner_cmd(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if _as_root() else cmd


def _bin(name: str) -> str:
    bindir = pg_bindir()
    if bindir is None:
        raise ServiceError(NAME, "PostgreSQL server binaries not found (install `postgresql`)")
    return str(bindir / name)


def root_dir(cfg: Config) -> Path:
    return cfg.data_dir / "postgres"


def real_root(cfg: Config) -> Path:
    """root_dir with the fallback symlink resolved: the postgres user cannot pass through it."""
    return root_dir(cfg).resolve()


def pgdata(cfg: Config) -> Path:
    return real_root(cfg) / "pgdata"


def sock_dir(cfg: Config) -> Path:
    return real_root(cfg) / "sock"


def log_path(cfg: Config) -> Path:
    return cfg.logs_dir / "postgres.log"


def pidfile(cfg: Config) -> Path:
    return cfg.pids_dir / "postgres.pid"


def _fallback_dir(cfg: Config) -> Path:
    digest = hashlib.sha256(str(cfg.state_dir).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"comanda-postgres-{digest}"


def _owner_can_reach(path: Path) -> bool:
    if not _as_root():
        return True
    probe = subprocess.run(_owner_cmd(["test", "-x", str(path)]), capture_output=True)
    return probe.returncode == 0


def _chown(path: Path) -> None:
    if _as_root():
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _prepare_dirs(cfg: Config) -> None:
    # Our own dirs must be traversable by the postgres user whatever root's umask is.
    for d in (cfg.state_dir, cfg.data_dir, cfg.logs_dir):
        d.chmod(d.stat().st_mode | 0o011)
    root = root_dir(cfg)
    if not root.exists() and not root.is_symlink():
        if _owner_can_reach(cfg.data_dir):
            root.mkdir(mode=0o700)
        else:
            target = _fallback_dir(cfg)
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            root.symlink_to(target)
            log(f"postgres: {cfg.data_dir} is closed to the postgres user; cluster in {target}")
    real = root.resolve()
    _chown(real)
    sock = sock_dir(cfg)
    sock.mkdir(mode=0o700, exist_ok=True)
    _chown(sock)
    # pg_ctl opens the log as the postgres user.
    logf = log_path(cfg)
    if logf.is_symlink() and not logf.exists():
        logf.unlink()  # points into a wiped fallback dir
    if not logf.exists():
        if _owner_can_reach(cfg.logs_dir):
            logf.touch()
        else:
            (real / "postgres.log").touch()
            logf.symlink_to(real / "postgres.log")
    _chown(logf.resolve())


def _conf(cfg: Config) -> str:
    return "\n".join(
        [
            "# Rendered by `python -m stack` on every start; edits are overwritten.",
            "listen_addresses = '127.0.0.1'",
            f"port = {cfg.pg_port}",
            f"unix_socket_directories = '{sock_dir(cfg)}'",
            "max_connections = 200",
            "shared_buffers = 128MB",
            "fsync = on",
            "synchronous_commit = on",
            "full_page_writes = on",
            "password_encryption = 'scram-sha-256'",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            *_statements_conf(),
            "",
        ]
    )


def _statements_conf() -> list[str]:
    """COMANDA_PG_STAT_STATEMENTS=1: load pg_stat_statements (calls, rows and time per
    statement, for profiling: docs/perf-steps-sql.md). Off by default: it costs a little on
    every statement. `CREATE EXTENSION pg_stat_statements` in the database to read it."""
    if os.environ.get("COMANDA_PG_STAT_STATEMENTS", "") in ("", "0"):
        return []
    return [
        "shared_preload_libraries = 'pg_stat_statements'",
        "pg_stat_statements.track = top",
        "pg_stat_statements.track_planning = on",
    ]


def _initdb(cfg: Config) -> None:
    data = pgdata(cfg)
    if (data / "PG_VERSION").exists():
        return
    log(f"postgres: initdb {data}")
    if data.exists():
        shutil.rmtree(data)  # a half-made cluster from an interrupted initdb
    cmd = [
        _bin("initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
        "--auth-local=trust", "--auth-host=scram-sha-256",
    ]  # fmt: skip
    try:
        run(_owner_cmd(cmd), timeout=180)
    except subprocess.CalledProcessError as exc:
        raise ServiceError(NAME, f"initdb failed:\n{exc.stdout}{exc.stderr}") from None
    with open(data / "postgresql.conf", "a") as f:
        f.write("\ninclude = 'comanda.conf'\n")


def running_pid(cfg: Config) -> int | None:
    pid = read_pid(pgdata(cfg) / "postmaster.pid")
    return pid if alive(pid, "postgres") else None


def _superuser_conn() -> dict[str, object]:
    return {"user": "postgres", "dbname": "postgres", "autocommit": True, "connect_timeout": 5}


def _ensure_app_role(cfg: Config) -> None:
    with psycopg.connect(host=str(sock_dir(cfg)), port=cfg.pg_port, **_superuser_conn()) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = 'comanda'").fetchone():
            conn.execute("create role comanda login createdb password 'comanda'")
            log("postgres: created role comanda")
        for db in APP_DBS:
            if not conn.execute("select 1 from pg_database where datname = %s", (db,)).fetchone():
                conn.execute(f'create database "{db}" owner comanda')
                log(f"postgres: created database {db}")


def app_ready(cfg: Config) -> bool:
    with psycopg.connect(
        host="127.0.0.1", port=cfg.pg_port, user="comanda", password="comanda",
        dbname="comanda", connect_timeout=3,
    ) as conn:  # fmt: skip
        return conn.execute("select 1").fetchone() == (1,)


def _conf_changed(cfg: Config) -> bool:
    try:
        return (pgdata(cfg) / "comanda.conf").read_text() != _conf(cfg)
    except OSError:
        return True


def start(cfg: Config, name: str = NAME) -> None:
    if running_pid(cfg) and _conf_changed(cfg):
        # Some settings (shared_preload_libraries: COMANDA_PG_STAT_STATEMENTS) take effect
        # only at a server start: left running, the server would silently keep the old ones.
        log("postgres: its config changed; restarting the server")
        stop(cfg)
    if running_pid(cfg):
        _ensure_app_role(cfg)
        if app_ready(cfg):
            log(f"postgres: already running on 127.0.0.1:{cfg.pg_port}")
            return
    elif port_open(cfg.pg_port):
        raise ServiceError(NAME, f"port {cfg.pg_port} is taken by another process", log_path(cfg))
    _prepare_dirs(cfg)
    _initdb(cfg)
    conf = pgdata(cfg) / "comanda.conf"
    conf.write_text(_conf(cfg))
    _chown(conf)
    if not running_pid(cfg):
        logf = log_path(cfg).resolve()
        cmd = [_bin("pg_ctl"), "-D", str(pgdata(cfg)), "-l", str(logf), "-w", "-t", "60"]
        try:
            run(_owner_cmd([*cmd, "start"]), timeout=90)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(NAME, f"pg_ctl start failed: {exc}", log_path(cfg)) from None
    pid = running_pid(cfg)
    if pid:
        write_pid(pidfile(cfg), pid)
    try:
        _ensure_app_role(cfg)
    except psycopg.Error as exc:
        raise ServiceError(NAME, f"cannot create role/databases: {exc}", log_path(cfg)) from None
    if not wait_for(lambda: app_ready(cfg), 30):
        raise ServiceError(NAME, "`select 1` as comanda over TCP failed", log_path(cfg))
    log(f"postgres: ready on 127.0.0.1:{cfg.pg_port} (pid {pid})")


def stop(cfg: Config, name: str = NAME) -> None:
    pid = running_pid(cfg)
    if pid:
        base = [_bin("pg_ctl"), "-D", str(pgdata(cfg)), "-w", "-t", "60", "stop"]
        try:
            run(_owner_cmd([*base, "-m", "fast"]), timeout=90)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            run(_owner_cmd([*base, "-m", "immediate"]), timeout=90, check=False)
        log(f"postgres: stopped (pid {pid})")
    pidfile(cfg).unlink(missing_ok=True)


def wipe(cfg: Config) -> None:
    root = root_dir(cfg)
    if root.is_symlink():
        shutil.rmtree(root.resolve(), ignore_errors=True)
        root.unlink()
    elif root.exists():
        shutil.rmtree(root)


def status(cfg: Config) -> list[Status]:
    return [Status(NAME, running_pid(cfg), cfg.pg_port, log_path(cfg))]
