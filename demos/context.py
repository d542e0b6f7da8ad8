"""The stack a demo acts on, read from the environment the way ``python -m stack`` reads it.

Processes are stopped and started only through the stack's own supervisord (its rendered
config under the state dir) and ``python -m stack`` commands; the API is reached at
``COMANDA_URL`` (https through nginx, verified against ``COMANDA_CA_FILE`` by seeds/client.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from app.payments import latency
from demos import knobs
from demos.stackctl import Stack
from seeds.tenants import Client
from stack import procs
from stack.config import REPO


class Context:
    def __init__(self, stack: Stack | None = None) -> None:
        self.stack = stack or Stack()
        self.api_url = os.environ.get("COMANDA_URL", "").rstrip("/") or self.stack.api_url
        # nginx's certificate: seeds/client.py verifies every request against COMANDA_CA_FILE
        # (the Stack's session and the Client below both come from there).
        self.stack.api_url = self.api_url
        url = os.environ.get("DATABASE_URL") or self.stack.database_url
        self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
        self.out_dir = self.stack.cfg.state_dir / "demos"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.touched: set[str] = set()  # settings procs_up changed, for restore()
        self.latency_before: list[int | None] = []  # the gateway override found, for restore()

    # ------------------------------------------------------------------ clients

    def client(self) -> Client:
        return Client(self.api_url)

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
        """``python -m stack procs-up`` with these settings (None: unset); returns once the API
        is ready again. A setting the stack renders into supervisord's config reaches its
        program that way. One the app only reads from its environment reaches the programs
        only through supervisord's own environment, so supervisord is restarted with it
        (``procs-down``, ``procs-up``) when it does not have it yet."""
        self.touched |= set(env)
        self._stack("procs-up", env)
        running = self.supervisord_env()
        stale = [k for k, v in env.items() if not knobs.rendered(k) and running.get(k) != v]
        if stale:
            print(f"  (restarting supervisord so that {', '.join(stale)} reach every process)",
                  flush=True)  # fmt: skip
            self._stack("procs-down", env)
            self._stack("procs-up", env)
        self.wait_ready()

    def restore(self) -> None:
        """Every setting a demo changed back to what the demo started with."""
        if self.latency_before:
            latency.set_override_ms(self.latency_before[0])
        if self.touched:
            self.procs_up(**{key: os.environ.get(key) for key in self.touched})

    def gateway_latency(self, ms: int | None) -> None:
        """The card network's delay for every process at once, through the run-time override
        the console's demo controls set (app/payments/latency.py: a row in PostgreSQL that
        each process reads at most once a second). No process restarts for it."""
        if not self.latency_before:
            self.latency_before.append(
                self.scalar("select value from runtime_overrides where name = :n", n=latency.NAME)
            )
        latency.set_override_ms(ms)

    def _stack(self, command: str, env: dict[str, str | None]) -> None:
        child = dict(os.environ)
        for key, value in env.items():
            if value is None:
                child.pop(key, None)
            else:
                child[key] = value
        done = subprocess.run(
            [sys.executable, "-m", "stack", command],
            cwd=REPO, env=child, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if done.returncode == 0:
            return
        if command == "procs-up":
            # Its own health wait is 60 s; a loaded machine can take longer. wait_ready()
            # (180 s) decides whether the stack came up.
            print("  (procs-up gave up waiting for /healthz; waiting longer for /readyz)",
                  flush=True)  # fmt: skip
            return
        raise RuntimeError(f"stack {command}: {done.stdout[-800:]}{done.stderr[-800:]}")

    def supervisord_env(self) -> dict[str, str]:
        """The environment supervisord started with (its programs inherit it)."""
        pid = procs.supervisord_pid(self.stack.cfg)
        if pid is None:
            return {}
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)

    def wait_ready(self, timeout: float = 180) -> None:
        if not self.stack.wait_ready(timeout):
            raise RuntimeError(f"the stack is not ready: {self.stack.readyz()}")

    def chart_path(self, name: str) -> Path:
        return self.out_dir / f"{name}.png"


def now() -> float:
    return time.time()
