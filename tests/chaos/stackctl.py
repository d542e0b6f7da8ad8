"""The stack under test: where it is, its app processes (supervisord) and its services.

Everything is read from the environment the way ``python -m stack`` reads it, so the harness
acts on exactly the stack that command would act on, and never on another one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from stack import kafka as stack_kafka
from stack.appctl import PROGRAMS, AppStack, Program, parse_status
from stack.config import REPO, Config
from tests import tls

# Programs with forked children to kill. The Celery worker forks only on the prefork pool
# (COMANDA_WORKER_POOL, read as stack/procs.py reads it); on threads it is one process.
FORKING = {"api": "gunicorn worker"}
if (os.environ.get("COMANDA_WORKER_POOL") or "threads") == "prefork":
    FORKING["worker"] = "celery pool process"
SERVICES = ("postgres", "kafka", "rabbitmq")
__all__ = ["FORKING", "PROGRAMS", "SERVICES", "Program", "Stack", "parse_status"]


class Stack(AppStack):
    """stack/appctl.py's app processes and API, plus what only the harness needs: the
    services, the processes' children and signals, and Prometheus."""

    def __init__(self, cfg: Config | None = None) -> None:
        cfg = cfg or Config.from_env()
        super().__init__(cfg, tls.session(str(cfg.ca_file)))
        env = self.cfg.app_env()
        self.kafka_bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        self.prometheus_url = self.cfg.monitoring_env()["PROMETHEUS_URL"]
        self.brokers = self.cfg.kafka_brokers

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
