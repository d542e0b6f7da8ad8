"""The service registry: names the CLI accepts and the module that runs each."""

from __future__ import annotations

import importlib
from types import ModuleType

ORDER = ("postgres", "kafka", "rabbitmq")


def module(name: str) -> ModuleType:
    """`kafka-2` belongs to the kafka module; imported lazily to keep `stack env` fast."""
    base = name.split("-", 1)[0]
    if base not in ORDER:
        raise SystemExit(f"stack: unknown service {name!r} (known: {', '.join(ORDER)}, kafka-<n>)")
    return importlib.import_module(f".{base}", __package__)


def resolve(names: list[str]) -> list[str]:
    """Requested names in start order; none means all."""
    if not names:
        return list(ORDER)
    for n in names:
        module(n)
    return sorted(dict.fromkeys(names), key=lambda n: ORDER.index(n.split("-", 1)[0]))
