"""Every metric Comanda records, and how a process exposes them to Prometheus.

prometheus_client does the bookkeeping and the text format. Processes that fork workers (the
API's gunicorn, Celery's prefork worker) run in its multiprocess mode: the stack gives each of
them its own PROMETHEUS_MULTIPROC_DIR, the children write there, and the parent serves the sum.
Each process serves on a loopback port of its own (COMANDA_PROCESS_METRICS_PORT, set per
program by the stack); nothing is exposed on the public API port without a token.
The gauges that come from SQL and Kafka are not here: one `exporter` process computes them
(monitoring/collector.py) so no API request or worker pays for them.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

log = logging.getLogger("comanda.metrics")
PORT_ENV = "COMANDA_PROCESS_METRICS_PORT"
# Loopback unless told otherwise (docker-compose.yml: 0.0.0.0, Prometheus is another container).
HOST_ENV = "COMANDA_MONITORING_HOST"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets from 2.5 ms to 30 s: API calls sit at the low end, gateway retries at the top.
BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_DURATION = Histogram(
    "comanda_http_request_duration_seconds",
    "API request duration by route template, method and status.",
    ["route", "method", "status"],
    buckets=BUCKETS,
)
STEP_DURATION = Histogram(
    "comanda_pipeline_step_duration_seconds",
    "Pipeline step (Celery task) run time by step and outcome (success, retry, failure).",
    ["step", "outcome"],
    buckets=BUCKETS,
)
STEP_ORDERS = Histogram(
    "comanda_pipeline_step_orders",
    "Orders per pipeline step task, by step: a task carries a batch, larger under load.",
    ["step"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
TASK_DURATION = Histogram(
    "comanda_task_duration_seconds",
    "Every Celery task's run time by task and outcome.",
    ["task", "outcome"],
    buckets=BUCKETS,
)
TASK_RETRIES = Counter(
    "comanda_task_retries", "Celery task retries scheduled, by task and reason.", ["task", "reason"]
)
TASK_GIVE_UPS = Counter(
    "comanda_task_give_ups", "Celery tasks that failed for good (retries exhausted).", ["task"]
)
SWEEP_ACTIONS = Counter(
    "comanda_sweep_actions", "Orders a periodic sweep acted on, by sweep.", ["sweep"]
)
GATEWAY_CALLS = Counter(
    "comanda_gateway_calls",
    "Payment gateway calls by operation and outcome (a status, or transient/timeout/refused).",
    ["operation", "outcome"],
)


def registry() -> CollectorRegistry:
    """The registry to serve: the multiprocess sum when this program forks, else our own."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    reg = CollectorRegistry()
    multiprocess.MultiProcessCollector(reg)
    return reg


def render() -> bytes:
    return generate_latest(registry())


def fresh_multiproc_dir() -> None:
    """Empty the multiprocess dir at a program's start: files of an earlier run's pids would
    otherwise be summed in forever."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)


def process_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def serve(reg: CollectorRegistry | None = None) -> int | None:
    """Serve /metrics on $COMANDA_MONITORING_HOST (127.0.0.1 by default):
    $COMANDA_PROCESS_METRICS_PORT (a thread); None when unset (a test or a one-off command)."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return None
    host = os.environ.get(HOST_ENV, "").strip() or "127.0.0.1"
    try:
        start_http_server(int(raw), addr=host, registry=reg or registry())
    except OSError as exc:  # e.g. a previous instance still holds the port: keep working
        log.warning("metrics: cannot serve on %s:%s (%s); running without", host, raw, exc)
        return None
    return int(raw)
