"""Process plumbing shared by the service modules: pid files, detached spawn, waiting, stopping."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed


class ServiceError(Exception):
    """A service failed to start or stop; carries the log to show the user."""

    def __init__(self, service: str, message: str, log: Path | None = None) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.log = log


def log(msg: str) -> None:
    print(f"stack: {msg}", flush=True)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def alive(pid: int | None, needle: str | None = None) -> bool:
    """True if pid runs (not a zombie) and, when given, its command line contains needle."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if needle is not None:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            return needle.encode() in cmdline
        return True
    except (OSError, IndexError):
        return False


def pid_if_alive(pidfile: Path, needle: str | None = None) -> int | None:
    pid = read_pid(pidfile)
    return pid if alive(pid, needle) else None


def spawn(
    cmd: Sequence[str],
    logfile: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start cmd in its own session, detached from our terminal, output appended to logfile."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as out:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        out.write(f"==== stack: {stamp} starting {' '.join(cmd)[:200]}\n".encode())
        out.flush()
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.25,
    still_alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll check() until it is true (True), timeout passes or still_alive() turns false (False).

    A check that raises counts as "not yet". The policy is tenacity's; after the last
    attempt, one more look: the process may have exited after becoming ready (a launcher).
    """

    def ready() -> bool:
        try:
            return bool(check())
        except Exception:  # noqa: BLE001 - a service that is not up yet may fail in any way
            return False

    stop = stop_after_delay(timeout)
    if still_alive is not None:
        stop = stop | (lambda _state: not still_alive())
    return Retrying(
        stop=stop,
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda ok: not ok),
        retry_error_callback=lambda _state: ready(),
    )(ready)


def terminate(pid: int, timeout: float = 30.0, group: bool = False) -> bool:
    """SIGTERM pid (or its process group), wait, then SIGKILL. True if it had to be killed."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    if wait_for(lambda: not alive(pid), timeout):
        return False
    send(signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10)
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(data.splitlines()[-lines:])


def run(
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float | None = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a short command, capturing output; raise with that output if it fails."""
    proc = subprocess.run(
        list(cmd),
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
    return proc


class Status:
    """One line of `stack status`."""

    def __init__(self, name: str, pid: int | None, port: int | str, log: Path) -> None:
        self.name, self.pid, self.port, self.log = name, pid, port, log

    def line(self) -> str:
        state = "running" if self.pid else "stopped"
        pid = str(self.pid) if self.pid else "-"
        return f"{self.name:<11} {state:<8} pid={pid:<8} port={self.port!s:<12} log={self.log}"
