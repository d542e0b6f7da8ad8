"""The stack a demo acts on: its app processes, through the stack's own supervisord (its
rendered config under the state dir), and whether the API is ready. Read from the environment
the way ``python -m stack`` reads it, so a demo acts on exactly the stack that command would.
It never signals a process itself: the fault-tolerance demo's kills are the chaos harness's.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import requests

from seeds.client import session
from stack.config import Config

PROGRAMS = (
    "api", "relay", "pipeline", "feed", "projector", "worker", "worker-followups", "beat",
)  # fmt: skip


@dataclass(frozen=True)
class Program:
    name: str
    state: str
    pid: int | None


def parse_status(out: str) -> dict[str, Program]:
    """``supervisorctl status`` lines -> name -> state and pid (our programs only)."""
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] not in PROGRAMS:
            continue
        pid = None
        if "pid" in parts:
            try:
                pid = int(parts[parts.index("pid") + 1].rstrip(","))
            except (ValueError, IndexError):
                pid = None
        found[parts[0]] = Program(parts[0], parts[1], pid)
    return found


class Stack:
    def __init__(self, cfg: Config | None = None) -> None:
        self.cfg = cfg or Config.from_env()
        env = self.cfg.app_env()
        self.api_url = env["COMANDA_URL"]
        self.database_url = env["DATABASE_URL"]
        self.http = session(str(self.cfg.ca_file))  # nginx, verified against the stack CA

    def supervisorctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        conf = self.cfg.conf_dir / "supervisord.conf"
        cmd = [str(self.cfg.venv / "bin" / "supervisorctl"), "-c", str(conf), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
        )

    def programs(self) -> dict[str, Program]:
        """name -> state and pid, as supervisord reports them (empty if it does not answer)."""
        try:
            return parse_status(self.supervisorctl("status", timeout=20).stdout)
        except subprocess.TimeoutExpired:
            return {}

    def all_running(self) -> bool:
        progs = self.programs()
        return len(progs) == len(PROGRAMS) and all(p.state == "RUNNING" for p in progs.values())

    def readyz(self, timeout: float = 10) -> tuple[int | None, str]:
        try:
            reply = self.http.get(f"{self.api_url}/readyz", timeout=timeout)
            return reply.status_code, reply.text
        except requests.RequestException as exc:
            return None, type(exc).__name__

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.readyz()[0] == 200 and self.all_running():
                return True
            time.sleep(1)
        return False
