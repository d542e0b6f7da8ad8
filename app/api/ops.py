"""Operations endpoints: liveness and readiness (real checks of each dependency).
Metrics: app/api/metrics.py (and each process's loopback port, app/core/metrics.py)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, jsonify

from app.core.probes import CHECKS

log = logging.getLogger("comanda.api")
ops = Blueprint("ops", __name__)
_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz")


@ops.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})  # no process id: it helps only an attacker


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
