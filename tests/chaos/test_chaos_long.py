"""The long chaos run (`-m chaos`, not in the default suite): at least 10 minutes and 5,000
orders against the stack the environment names, in whatever Kafka layout it has (one broker,
or three with a broker killed mid-run). `make chaos` and `make chaos-3` run the same harness
through `python -m tests.chaos`, each on a stack of its own."""

from __future__ import annotations

import os

import pytest

from tests.chaos.runner import RunConfig, run
from tests.chaos.stackctl import Stack

pytestmark = [pytest.mark.chaos, pytest.mark.long]


def test_long_chaos_run_keeps_every_invariant():
    stack = Stack()
    seed = int(os.environ.get("CHAOS_SEED", "1"))
    try:
        result = run(RunConfig(seed=seed, brokers=stack.brokers))
    finally:
        healthy = stack.ensure_up(timeout=300)
    assert healthy, f"the stack is not healthy after the chaos run: {stack.readyz()}"
    assert result.violations == 0, result.text
