"""Operations endpoints: liveness, readiness (real checks of each dependency), metrics."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select

from app.core.counters import all_counters
from app.core.db import read_only
from app.core.models import Order, OutboxEvent, RestaurantEvent, utcnow
from app.core.probes import CHECKS

log = logging.getLogger("comanda.api")
ops = Blueprint("ops", __name__)
_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz")


@ops.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "pid": os.getpid()})


@ops.get("/readyz")
def readyz():
    futures = {name: _pool.submit(check) for name, check in CHECKS.items()}
    results, down = {}, []
    for name, future in futures.items():
        try:
            future.result(timeout=6)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            # The reason goes to the log: exception names would tell clients the libraries.
            log.warning("readyz: %s down: %s", name, type(exc).__name__)
            results[name] = "down"
            down.append(name)
    body = {"status": "ready" if not down else "unavailable", "checks": results}
    if down:
        body["message"] = f"not ready: {', '.join(down)} unreachable"
        response = jsonify(body)
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(body)


@ops.get("/metrics")
def metrics():
    lines = []
    try:
        with read_only() as session:
            by_status = session.execute(
                select(Order.status, func.count()).group_by(Order.status)
            ).all()
            backlog = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None)))
            pending_feed = session.scalar(
                select(func.count()).where(RestaurantEvent.acked_at.is_(None))
            )
            overdue = session.scalar(
                select(func.count()).where(Order.status == "PLACED", Order.deadline_at < utcnow())
            )
            counters = all_counters(session)
        lines += ["# HELP comanda_orders Orders by status.", "# TYPE comanda_orders gauge"]
        lines += [f'comanda_orders{{status="{s}"}} {n}' for s, n in by_status]
        lines += [
            "# HELP comanda_outbox_unpublished Outbox rows not yet on Kafka.",
            "# TYPE comanda_outbox_unpublished gauge",
            f"comanda_outbox_unpublished {backlog}",
            "# HELP comanda_feed_unacked Restaurant feed events not yet acknowledged.",
            "# TYPE comanda_feed_unacked gauge",
            f"comanda_feed_unacked {pending_feed}",
            "# HELP comanda_orders_past_pipeline_deadline PLACED orders past their deadline.",
            "# TYPE comanda_orders_past_pipeline_deadline gauge",
            f"comanda_orders_past_pipeline_deadline {overdue}",
        ]
        for name, value in sorted(counters.items()):
            lines += [f"# TYPE comanda_{name}_total counter", f"comanda_{name}_total {value}"]
        up = 1
    except Exception:  # noqa: BLE001 - metrics must answer even when the database is down
        up = 0
    lines += [
        "# HELP comanda_database_up Whether the metrics query reached PostgreSQL.",
        "# TYPE comanda_database_up gauge",
        f"comanda_database_up {up}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
