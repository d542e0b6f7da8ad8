"""Slow probes (Kafka admin, Celery broadcast, the DLQ scan) behind a per-process cache with
single flight: while one thread refreshes a probe, every other request gets the last value at
once instead of queueing behind it. So however many consoles poll, each probe occupies at
most one API thread per process, for at most its own timeout.

A failed probe is cached too, as ``{"available": false, "message": ...}``: Kafka being down
is something the console shows, not an error of the request (and never a 5xx).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("comanda.api")


class Snapshot:
    def __init__(
        self,
        name: str,
        probe: Callable[[], Any],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name, self.probe, self.ttl, self.clock = name, probe, ttl, clock
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._at = float("-inf")
        self._value: dict | None = None

    def get(self) -> dict:
        with self._lock:
            fresh = self.clock() - self._at < self.ttl
            value = self._value
        if fresh and value is not None:
            return value
        if not self._refreshing.acquire(blocking=value is None):
            return value  # another thread is refreshing: the last value will do
        try:
            value = self._run()
            with self._lock:
                self._value, self._at = value, self.clock()
            return value
        finally:
            self._refreshing.release()

    def expire(self) -> None:
        with self._lock:
            self._at = float("-inf")

    def _run(self) -> dict:
        try:
            return {"available": True, **self.probe()}
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable now"
            # The reason goes to the log; class names would tell clients the libraries.
            log.warning("ops probe %s failed: %s", self.name, type(exc).__name__)
            return {"available": False, "message": f"{self.name} unreachable"}
