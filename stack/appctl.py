"""The app processes of a running stack, as its supervisord reports them, and whether its API
is ready: what the chaos harness (tests/chaos/stackctl.py) and the demos (demos/stackctl.py)
both act on. It reads and starts/stops through supervisorctl only; it never signals a process.

The HTTP session is the caller's (seeds/client.py's, verifying nginx against the stack CA):
this package sits below seeds and does not import it.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import requests

from .config import Config

# The app's own programs (stack/procs.py programs() without nginx and monitoring).
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


class AppStack:
    def __init__(self, cfg: Config, http: requests.Session) -> None:
        self.cfg = cfg
        env = cfg.app_env()
        self.api_url = env["COMANDA_URL"]
        self.database_url = env["DATABASE_URL"]
        self.http = http

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

    def ready(self) -> bool:
        return self.readyz()[0] == 200

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready() and self.all_running():
                return True
            time.sleep(1)
        return False
