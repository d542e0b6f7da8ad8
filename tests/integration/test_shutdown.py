"""On SIGTERM every kind of process finishes or hands back its work and exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.conftest import wait_until
from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen, ready_marker: str, timeout: float = 30) -> str:
    """Wait for the marker in the output, send SIGTERM, return the whole output."""
    seen: list[str] = []
    os.set_blocking(process.stdout.fileno(), False)

    def ready_or_exited() -> bool:
        while line := process.stdout.readline():
            seen.append(line)
        return any(ready_marker in line for line in seen) or process.poll() is not None

    wait_until(ready_or_exited, timeout=60, interval=0.1, message=repr(ready_marker))
    assert any(ready_marker in line for line in seen), "".join(seen)
    process.send_signal(signal.SIGTERM)
    os.set_blocking(process.stdout.fileno(), True)
    rest, _ = process.communicate(timeout=timeout)
    return "".join(seen) + rest


@pytest.mark.parametrize(
    ("module", "ready", "stopped"),
    [
        ("events.relay", "relay starting", "relay stopped"),
        (
            "events.consumers.feed",
            "consumer comanda-restaurant-feed running",
            "consumer comanda-restaurant-feed stopped",
        ),
    ],
)
def test_relay_and_consumers_stop_cleanly_on_sigterm(module, ready, stopped):
    process = start("-m", module)
    output = stop(process, ready)
    assert process.returncode == 0, output
    assert stopped in output


def test_a_worker_on_sigterm_finishes_or_hands_back_its_task():
    """Warm shutdown: a task the worker holds is either completed or, not yet started, handed
    back to RabbitMQ (late acks), where the next worker runs it. It is never lost."""
    queue = f"shutdown-{uuid.uuid4().hex[:8]}"
    args = (
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-Q",
        queue,
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "-n",
        f"{queue}@%h",
    )
    from workers.tasks import ping

    worker = start(*args)
    result = ping.apply_async(("slow", 3), queue=queue)
    output = stop(worker, f"Task workers.tasks.ping[{result.id}] received")
    assert worker.returncode == 0, output
    assert "warm shutdown" in output.lower()
    if f"ping[{result.id}] succeeded" not in output:
        successor = start(*args)
        try:
            assert result.get(timeout=60) == "pong:slow"
        finally:
            successor.terminate()
            successor.communicate(timeout=30)
    assert result.get(timeout=5) == "pong:slow"
