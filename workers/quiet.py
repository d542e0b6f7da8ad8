"""Keep the periodic sweeps out of the logs unless they did something.

Beat sends each sweep every 2 s; Celery logs "Sending due task", "received" and "succeeded"
for every one, four lines a second that bury a newcomer's own order. Those routine INFO lines
are dropped here; a sweep that acts logs its own line (workers/tasks.py), and any warning or
error (a retry, a failure) still shows.
"""

from __future__ import annotations

import logging

ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class PeriodicChatter(logging.Filter):
    def __init__(self, task_names: set[str]) -> None:
        super().__init__()
        self.task_names = task_names

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not any(name in message for name in self.task_names)


def install(beat_schedule: dict) -> None:
    names = {entry["task"] for entry in beat_schedule.values()}
    chatter = PeriodicChatter(names)
    for name in ROUTINE_LOGGERS:
        logging.getLogger(name).addFilter(chatter)
