"""Logging: one line per record, JSON in production, readable in development."""

from __future__ import annotations

import json
import logging
import sys

from app.core.correlation import LogFilter
from app.core.settings import get_settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for extra in ("order_id", "correlation_id", "event_id"):
            if hasattr(record, extra):
                entry[extra] = getattr(record, extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(process: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if get_settings().production:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)s [{process}] [%(correlation_id)s] %(name)s: %(message)s"
            )
        )
    handler.addFilter(LogFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # kafka-python 3 warns of a "blocking event loop" whenever the machine is busy: noise.
    logging.getLogger("kafka.net").setLevel(logging.ERROR)
