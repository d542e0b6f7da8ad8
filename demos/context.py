"""The stack a demo acts on, read from the environment the way ``python -m stack`` reads it.

Processes are stopped and started only through the stack's own supervisord (its rendered
config under the state dir) and ``python -m stack`` commands; the API is reached at
``COMANDA_URL`` (https with ``COMANDA_CA_FILE`` when the stack serves TLS).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from stack.config import REPO
from tests.chaos.stackctl import Stack
from tests.conftest import wait_until
from tests.e2e.client import Client


class Context:
    def __init__(self, stack: Stack | None = None) -> None:
        self.stack = stack or Stack()
        self.api_url = os.environ.get("COMANDA_URL", "").rstrip("/") or self.stack.api_url
        self.ca_file = os.environ.get("COMANDA_CA_FILE") or None
        self.stack.api_url = self.api_url
        if self.ca_file:
            self.stack.http.verify = self.ca_file
        url = os.environ.get("DATABASE_URL") or self.stack.database_url
        self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
        self.out_dir = self.stack.cfg.state_dir / "demos"
        self.out_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ clients

    def client(self) -> Client:
        client = Client(self.api_url, wait_until)
        if self.ca_file:
            client.session.verify = self.ca_file
        return client

    # ------------------------------------------------------------------ database (read only)

    def rows(self, sql: str, **params: object) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def scalar(self, sql: str, **params: object):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    # ------------------------------------------------------------------ processes

    def program(self, action: str, name: str) -> None:
        """``supervisorctl stop|start|restart <name>`` on this stack's supervisord."""
        done = self.stack.supervisorctl(action, name, timeout=120)
        if done.returncode != 0 and "ALREADY" not in done.stdout + done.stderr:
            raise RuntimeError(f"supervisorctl {action} {name}: {done.stdout}{done.stderr}")

    def state(self, name: str) -> str:
        prog = self.stack.programs().get(name)
        return prog.state if prog else "UNKNOWN"

    def procs_up(self, **env: str | None) -> None:
        """``python -m stack procs-up`` with these settings (None: unset), so supervisord
        renders and runs the app with them; returns once the API is ready again."""
        child = dict(os.environ)
        for key, value in env.items():
            if value is None:
                child.pop(key, None)
            else:
                child[key] = value
        done = subprocess.run(
            [sys.executable, "-m", "stack", "procs-up"],
            cwd=REPO, env=child, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"stack procs-up failed: {done.stdout[-800:]}{done.stderr[-800:]}")
        self.wait_ready()

    def wait_ready(self, timeout: float = 180) -> None:
        if not self.stack.wait_ready(timeout):
            raise RuntimeError(f"the stack is not ready: {self.stack.readyz()}")

    def chart_path(self, name: str) -> Path:
        return self.out_dir / f"{name}.png"


def now() -> float:
    return time.time()
