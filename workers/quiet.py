"""Keep routine task lines out of the logs.

Beat sends each sweep every 2 s; Celery logs "Sending due task", "received" and "succeeded"
for every one, four lines a second that bury a newcomer's own order. Those routine INFO lines
are dropped here; a sweep that acts logs its own line (workers/tasks.py), and any warning or
error (a retry, a failure) still shows.

The pipeline's steps (three tasks per order) keep their "succeeded" line, which carries the
correlation id `make trace` follows, and lose their "received" line: it is written by the
worker's one consumer thread, which also feeds every pool thread (docs/perf-pipeline.md).
"""

from __future__ import annotations

import logging

ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")
RECEIVED_LOGGER = "celery.worker.strategy"


def task_name(record: logging.LogRecord) -> str | None:
    """The task a Celery line is about, from its arguments (no message formatting)."""
    args = record.args
    if isinstance(args, dict) and isinstance(args.get("name"), str):
        return args["name"]
    return None


class Chatter(logging.Filter):
    """Drops INFO lines (and below) about the given tasks."""

    def __init__(self, task_names: set[str]) -> None:
        super().__init__()
        self.task_names = frozenset(task_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        name = task_name(record)
        if name is not None:
            return name not in self.task_names
        message = record.getMessage()
        return not any(name in message for name in self.task_names)


PeriodicChatter = Chatter  # the name it had when it only quieted the sweeps


def install(beat_schedule: dict, step_tasks: set[str] = frozenset()) -> None:
    names = {entry["task"] for entry in beat_schedule.values()}
    chatter = Chatter(names)
    for name in ROUTINE_LOGGERS:
        logging.getLogger(name).addFilter(chatter)
    if step_tasks:
        logging.getLogger(RECEIVED_LOGGER).addFilter(Chatter(set(step_tasks)))
