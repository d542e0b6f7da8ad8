"""The step tasks' receive strategy: Celery's own, without its "received" INFO line.

The worker's one consumer thread reads every delivery and hands it to the pool threads. For
each message Celery's default strategy built a "Received task" log record (the caller's
frame looked up, the record made, then the filters of workers/quiet.py dropped it for the
step tasks): 4.4% of the worker's GIL samples under load (py-spy, docs/perf-steps-sql.md,
fourth round). Passing Celery a silent ``info`` skips the record. The pings, sweeps and
retention tasks keep Celery's default strategy and their lines; warnings and errors are
logged as before.
"""

from __future__ import annotations

from celery.worker.strategy import default


def _silent(*_: object, **__: object) -> None:
    return None


def quiet(task, app, consumer, **options):
    return default(task, app, consumer, info=_silent, **options)
