"""Beat's retention tasks: published outbox rows and acknowledged feed rows are deleted in
bounded batches, one transaction per batch, a bounded number of batches per run."""

from __future__ import annotations

from datetime import timedelta

from app.core.db import unit_of_work
from app.core.models import utcnow
from app.core.settings import get_settings
from app.orders import retention
from workers.celery_app import app

MAX_BATCHES = 50  # per run; what is left goes in the next run


def _prune(statement) -> int:
    s = get_settings()
    before = utcnow() - timedelta(minutes=s.prune_keep_minutes)
    total = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work() as session:
            gone = retention.prune(session, statement, before, s.prune_batch)
        total += gone
        if gone < s.prune_batch:
            break
    return total


@app.task(ignore_result=True)
def prune_published_outbox() -> int:
    return _prune(retention.OUTBOX)


@app.task(ignore_result=True)
def prune_acknowledged_feed() -> int:
    return _prune(retention.FEED)
