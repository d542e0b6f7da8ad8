"""The short chaos run that is part of `make test` (~2-3 minutes, a few hundred orders).

Runs against the stack `make test` brings up: kill -9 of the app processes and of forked
children, one restart of each service, poison messages; then every invariant must hold.
Marked ``chaos``: the suite runs it after every non-destructive test (tests/conftest.py), and
whatever happens it leaves the stack healthy (every service started, /readyz 200).
"""

from __future__ import annotations

import os

import pytest

from tests.chaos.runner import RunConfig, run
from tests.chaos.stackctl import Stack

pytestmark = pytest.mark.chaos


def test_short_chaos_run_keeps_every_invariant():
    stack = Stack()
    seed = int(os.environ.get("CHAOS_SEED", "1"))
    try:
        result = run(RunConfig.short_run(seed=seed))
    except SystemExit as exc:  # the harness could not run at all
        pytest.fail(str(exc), pytrace=False)
    finally:
        healthy = stack.ensure_up(timeout=240)
    assert healthy, f"the stack is not healthy after the chaos run: {stack.readyz()}"
    assert result.violations == 0, result.text
