"""Which API process served the requests: each API process (``api``, ``api-2``, ...) serves its
own Prometheus metrics on its loopback port (stack/monitoring.py), and counts every request
it answered by route and method. The difference of those counts before and after a batch of
requests says how nginx spread the batch over the processes."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from stack import monitoring
from stack.config import Config

REQUESTS = "comanda_http_request_duration_seconds"


def count(text: str, method: str, route_suffix: str) -> float:
    """How many requests of ``method`` on a route ending in ``route_suffix`` this exposition
    counts (every status)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != REQUESTS:
            continue
        for sample in family.samples:
            labels = sample.labels
            if (sample.name == f"{REQUESTS}_count" and labels.get("method") == method
                    and labels.get("route", "").endswith(route_suffix)):  # fmt: skip
                total += sample.value
    return total


def _scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return reply.read().decode()
    except OSError:
        return None


def per_process(cfg: Config, method: str = "POST", route_suffix: str = "/orders") -> dict:
    """API program -> requests it has answered so far (None when its metrics do not answer)."""
    found: dict[str, float | None] = {}
    for program in monitoring.api_programs(cfg):
        text = _scrape(monitoring.metrics_port(cfg, program))
        found[program] = None if text is None else count(text, method, route_suffix)
    return found


def spread(before: dict, after: dict) -> dict[str, int]:
    """program -> requests served between the two readings (a process that restarted in
    between, and so counts from 0 again, gives its whole new count)."""
    out = {}
    for program, end in after.items():
        if end is None:
            continue
        start = before.get(program) or 0.0
        out[program] = int(end - start if end >= start else end)
    return out
