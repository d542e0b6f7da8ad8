"""The traffic generator the console starts and stops: ``python -m seeds.generator --rate R``
in its own session, tracked by a pid file under the state dir. Only a process whose command
line is the generator's is ever signalled (a stale pid file may name a reused pid)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from app.demo.local import REPO, state_dir

MAX_RATE = 20.0


def _pid_path():
    return state_dir() / "pids" / "traffic.pid"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running() -> dict | None:
    try:
        pid, rate = _pid_path().read_text().split()
        pid_i = int(pid)
    except (OSError, ValueError):
        return None
    if "seeds.generator" not in _cmdline(pid_i):
        return None
    return {"pid": pid_i, "rate": float(rate)}


def stop() -> None:
    current = running()
    if current:
        os.kill(current["pid"], signal.SIGTERM)
    _pid_path().unlink(missing_ok=True)


def start(rate: float, url: str) -> dict:
    stop()
    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _pid_path().parent.mkdir(parents=True, exist_ok=True)
    with open(logs / "traffic.log", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seeds.generator", "--rate", str(rate), "--url", url],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_path().write_text(f"{proc.pid} {rate}\n")
    return {"pid": proc.pid, "rate": rate}
