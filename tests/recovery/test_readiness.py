"""/readyz really checks each service: 503 naming it while it is stopped, 200 once back.

Runs against the running stack: it stops one service at a time with `python -m stack stop`
and starts it again, so it also shows the app processes riding out the outage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.integration.conftest import REPO  # noqa: F401 - shared helpers

pytestmark = pytest.mark.integration
CHECK_NAME = {"postgres": "database", "kafka": "kafka", "rabbitmq": "rabbitmq"}


def readyz() -> requests.Response:
    return requests.get(f"{os.environ['COMANDA_URL']}/readyz", timeout=20)


def wait_for(predicate, timeout: float, what: str):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = readyz()
            if predicate(last):
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(1)
    raise AssertionError(f"{what}: last reply {getattr(last, 'text', last)!r}")


def stack(command: str, service: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stack", command, service],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("service", ["rabbitmq", "postgres", "kafka"])
def test_readyz_names_a_stopped_service_and_recovers(service):
    wait_for(lambda r: r.status_code == 200, 60, "stack not ready before the test")
    stack("stop", service)
    try:
        down = wait_for(lambda r: r.status_code == 503, 30, f"readyz stayed 200 without {service}")
        body = down.json()
        assert body["checks"][CHECK_NAME[service]].startswith("down")
        assert CHECK_NAME[service] in body["message"]
        others = [c for s, c in CHECK_NAME.items() if s != service]
        assert all(body["checks"][c] == "ok" for c in others), body
    finally:
        stack("start", service)
    wait_for(lambda r: r.status_code == 200, 90, f"readyz did not recover after {service}")
