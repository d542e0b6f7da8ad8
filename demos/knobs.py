"""The settings other parts of the project add for the demos, and whether this checkout has
them. A knob is present when the project's own code (not the demos, not the tests) names its
environment variable: until then a demo says the knob is missing instead of faking a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from stack.config import REPO

GATEWAY_LATENCY = "COMANDA_GATEWAY_LATENCY_MS"
WORKER_POOL = "COMANDA_WORKER_POOL"
WORKER_CONCURRENCY = "COMANDA_WORKER_CONCURRENCY"
API_PROCESSES = "COMANDA_API_PROCESSES"
KNOBS = (GATEWAY_LATENCY, WORKER_POOL, WORKER_CONCURRENCY, API_PROCESSES)

# Where the app, the workers and the stack read their settings.
SOURCE_DIRS = ("app", "roles", "events", "workers", "stack")


def mentions(name: str, texts: Iterable[str]) -> bool:
    return any(name in text for text in texts)


def _sources(root: Path) -> Iterable[str]:
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            yield path.read_text(errors="replace")


def present(name: str, root: Path = REPO) -> bool:
    return mentions(name, _sources(root))


def rendered(name: str, root: Path = REPO) -> bool:
    """The stack writes this setting into supervisord's config (a program's command line or
    environment), so ``procs-up`` alone delivers a change of it."""
    return mentions(name, (p.read_text(errors="replace") for p in (root / "stack").rglob("*.py")))


def missing(*names: str, root: Path = REPO) -> list[str]:
    return [n for n in names if not present(n, root)]
