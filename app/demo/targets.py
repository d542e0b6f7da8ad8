"""What the console may stop and start, and how: a pure table, so the API can refuse anything
else and the tests can check every entry without running it.

- supervisor programs (relay, the three consumer groups, the Celery worker and beat) are
  stopped and started by the supervisord that `make up` runs them under;
- ``api`` is one API process: gunicorn's master removes a worker on SIGTTOU and adds one on
  SIGTTIN. Stopping the whole API from a request it is serving would leave nothing to start
  it again, and would make the request wait for its own shutdown;
- ``kafka`` is the broker(s), through `python -m stack stop|start kafka`.
"""

from __future__ import annotations

from dataclasses import dataclass

PROGRAMS = ("relay", "pipeline", "feed", "projector", "worker", "worker-followups", "beat")
ACTIONS = ("stop", "start")


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # program | api | service
    label: str


TARGETS: dict[str, Target] = {
    **{
        "relay": Target("relay", "program", "outbox relay"),
        "pipeline": Target("pipeline", "program", "consumer group comanda-pipeline"),
        "feed": Target("feed", "program", "consumer group comanda-restaurant-feed"),
        "projector": Target("projector", "program", "consumer group comanda-admin-projection"),
        "worker": Target("worker", "program", "Celery worker (order steps)"),
        "worker-followups": Target(
            "worker-followups", "program", "Celery worker (payment follow-ups)"
        ),
        "beat": Target("beat", "program", "Celery beat (sweeps)"),
    },
    "api": Target("api", "api", "one API process (gunicorn worker)"),
    "kafka": Target("kafka", "service", "Kafka broker(s)"),
}


def command(target: str, action: str, *, python: str) -> list[str]:
    """The command line that applies ``action`` to a service (the stack's own CLI). Raises
    KeyError / ValueError for anything else: programs and ``api`` are not commands."""
    t = TARGETS[target]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if t.kind != "service":
        raise ValueError(f"{target} is not started or stopped by a command")
    return [python, "-m", "stack", action, t.name]


def demo_refusal(enabled: bool, production: bool) -> str | None:
    """Why the fault controls are refused, or None when they may run."""
    if production:
        return "demo controls are refused in production"
    if not enabled:
        return "demo controls are off: start Comanda with COMANDA_DEMO=1"
    return None
