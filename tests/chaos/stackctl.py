"""The stack under test: where it is, its app processes (supervisord) and its services.

Everything is read from the environment the way ``python -m stack`` reads it, so the harness
acts on exactly the stack that command would act on, and never on another one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from stack import kafka as stack_kafka
from stack.config import REPO, Config
from tests import tls

PROGRAMS = (
    "api", "relay", "pipeline", "feed", "projector", "worker", "worker-followups", "beat",
)  # fmt: skip
# Programs whose master forks workers the harness may also kill (gunicorn, celery prefork).
# Programs with forked children to kill. The Celery worker forks only on the prefork pool
# (COMANDA_WORKER_POOL, read as stack/procs.py reads it); on threads it is one process.
FORKING = {"api": "gunicorn worker"}
if (os.environ.get("COMANDA_WORKER_POOL") or "threads") == "prefork":
    FORKING["worker"] = "celery pool process"
SERVICES = ("postgres", "kafka", "rabbitmq")


@dataclass(frozen=True)
class Program:
    name: str
    state: str
    pid: int | None


class Stack:
    def __init__(self, cfg: Config | None = None) -> None:
        self.cfg = cfg or Config.from_env()
        env = self.cfg.app_env()
        self.api_url = env["COMANDA_URL"]
        self.database_url = env["DATABASE_URL"]
        self.kafka_bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        self.prometheus_url = self.cfg.monitoring_env()["PROMETHEUS_URL"]
        self.brokers = self.cfg.kafka_brokers
        self.http = tls.session(str(self.cfg.ca_file))  # nginx, verified against the stack CA

    # ------------------------------------------------------------------ description

    def describe(self) -> str:
        return (
            f"state {self.cfg.state_dir}, API {self.api_url}, "
            f"PostgreSQL :{self.cfg.pg_port}, Kafka {self.kafka_bootstrap} "
            f"({self.brokers} broker{'s' if self.brokers > 1 else ''}), "
            f"RabbitMQ :{self.cfg.rabbitmq_port}"
        )

    def log_path(self, name: str) -> Path:
        return self.cfg.logs_dir / f"{name}.log"

    # ------------------------------------------------------------------ app processes

    def supervisorctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        conf = self.cfg.conf_dir / "supervisord.conf"
        cmd = [str(self.cfg.venv / "bin" / "supervisorctl"), "-c", str(conf), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
        )

    def programs(self) -> dict[str, Program]:
        """name -> state and pid, as supervisord reports them (empty if it does not answer)."""
        try:
            out = self.supervisorctl("status", timeout=20).stdout
        except subprocess.TimeoutExpired:
            return {}
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

    def all_running(self) -> bool:
        progs = self.programs()
        return len(progs) == len(PROGRAMS) and all(p.state == "RUNNING" for p in progs.values())

    @staticmethod
    def children(pid: int) -> list[int]:
        try:
            raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(x) for x in raw.split()]

    @staticmethod
    def kill(pid: int, sig: int = signal.SIGKILL) -> bool:
        try:
            os.kill(pid, sig)
            return True
        except ProcessLookupError:
            return False

    # ------------------------------------------------------------------ services

    def service(self, command: str, *names: str, timeout: float = 300) -> tuple[bool, str]:
        """``python -m stack start|stop|up <name>``; (ok, output)."""
        try:
            done = subprocess.run(
                [sys.executable, "-m", "stack", command, *names],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            return False, f"timed out after {timeout}s: {exc}"
        return done.returncode == 0, (done.stdout + done.stderr).strip()

    def broker_pid(self, node: int) -> int | None:
        return stack_kafka.running_pid(self.cfg, node)

    def broker_names(self) -> list[str]:
        if self.brokers == 1:
            return ["kafka"]
        return [f"kafka-{n}" for n in range(1, self.brokers + 1)]

    # ------------------------------------------------------------------ health

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

    def metrics(self, names: tuple[str, ...]) -> dict[str, float]:
        """The sum of each named series, from the stack's Prometheus (name -> value)."""
        values = {}
        for name in names:
            try:
                reply = self.http.get(
                    f"{self.prometheus_url}/api/v1/query",
                    params={"query": f"sum({name})"},
                    timeout=10,
                ).json()
                result = reply["data"]["result"]
            except (requests.RequestException, ValueError, KeyError):
                continue
            values[name] = float(result[0]["value"][1]) if result else 0.0
        return values

    def ensure_up(self, timeout: float = 180) -> bool:
        """Start whatever service is down (the harness always restores what it stopped, but a
        run interrupted half-way may not have) and wait for /readyz 200."""
        self.service("up")
        return self.wait_ready(timeout)
