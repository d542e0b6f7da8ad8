"""What the console may stop and start, and how: a pure table, so the API can refuse anything
else and the tests can check every entry without running it.

- supervisor programs (relay, the three consumer groups, the Celery worker and beat) are
  stopped and started with supervisorctl, exactly as `make up` manages them;
- ``api`` is one API process: gunicorn's master removes a worker on SIGTTOU and adds one on
  SIGTTIN. Stopping the whole API from a request it is serving would leave nothing to start
  it again, and would make the request wait for its own shutdown;
- ``kafka`` is the broker(s), through `python -m stack stop|start kafka`.
"""

from __future__ import annotations

from dataclasses import dataclass

PROGRAMS = ("relay", "pipeline", "feed", "projector", "worker", "beat")
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
        "worker": Target("worker", "program", "Celery worker"),
        "beat": Target("beat", "program", "Celery beat (sweeps)"),
    },
    "api": Target("api", "api", "one API process (gunicorn worker)"),
    "kafka": Target("kafka", "service", "Kafka broker(s)"),
}


def command(target: str, action: str, *, python: str, supervisorctl: str, conf: str) -> list[str]:
    """The command line that applies ``action`` to a program or service (not to ``api``,
    which is a signal to a running process). Raises KeyError / ValueError for anything else."""
    t = TARGETS[target]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if t.kind == "program":
        return [supervisorctl, "-c", conf, action, t.name]
    if t.kind == "service":
        return [python, "-m", "stack", action, t.name]
    raise ValueError(f"{target} is not started or stopped by a command")


def parse_supervisor_status(text: str) -> dict[str, dict]:
    """`supervisorctl status` lines -> {program: {state, pid}}."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, state = parts[0], parts[1]
        pid = None
        if "pid" in parts:
            raw = parts[parts.index("pid") + 1].rstrip(",")
            pid = int(raw) if raw.isdigit() else None
        out[name] = {"state": state, "pid": pid}
    return out


def demo_refusal(enabled: bool, production: bool) -> str | None:
    """Why the fault controls are refused, or None when they may run."""
    if production:
        return "demo controls are refused in production"
    if not enabled:
        return "demo controls are off: start Comanda with COMANDA_DEMO=1"
    return None
