"""Guards of what the services' CPU work was measured under (docs/perf-services.md), read
from the running services themselves: PostgreSQL stays durable (no CPU was bought with
fsync or synchronous_commit), and RabbitMQ's Erlang schedulers do not busy-wait (the VM's
own command line)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from stack import rabbitmq
from stack.config import Config

pytestmark = pytest.mark.integration


def test_postgres_stays_durable():
    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert conn.execute(f"SHOW {name}").fetchone()[0] == "on", name


def test_the_erlang_schedulers_do_not_busy_wait():
    """RabbitMQ 3.10's scripts pass +sbwt none by default (RABBITMQ_SCHEDULER_BUSY_WAIT_
    THRESHOLD); a guard, since busy-waiting schedulers would spin on this 2-core machine
    whenever they run out of work, idle stack included."""
    pid = rabbitmq.pidfile(Config.from_env()).read_text().split()[0]
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    for flag in (b"-sbwt", b"-sbwtdcpu", b"-sbwtdio"):
        assert args[args.index(flag) + 1] == b"none", flag


def test_rabbitmq_gathers_statistics_every_15_s():
    """The running node's own value (stack/rabbitmq.py renders it; the default is 5 s)."""
    done = rabbitmq._ctl(
        Config.from_env(), "eval", "application:get_env(rabbit, collect_statistics_interval)."
    )
    assert done.stdout.strip() == "{ok,15000}"
