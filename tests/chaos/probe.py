"""Read-only looks at the stack's state (PostgreSQL, Kafka, /readyz) that tolerate outages:
whatever cannot be read now answers None, never raises."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.chaos.kafka_io import GROUPS, ORDERS, Kafka
from tests.chaos.ledger import Ledger
from tests.chaos.stackctl import Stack

log = logging.getLogger("chaos")


def ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Probe:
    def __init__(self, stack: Stack, ledger: Ledger) -> None:
        self.stack, self.ledger = stack, ledger
        self.engine: Engine = create_engine(
            stack.database_url,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=2,
            pool_timeout=5,
            connect_args={"connect_timeout": 3},
        )
        self.kafka = Kafka(stack.kafka_bootstrap)

    def rows(self, sql: str, **params: Any) -> list[Any] | None:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        except Exception:  # noqa: BLE001 - PostgreSQL may be down: the caller retries
            return None

    def scalar(self, sql: str, **params: Any) -> Any:
        found = self.rows(sql, **params)
        return found[0][0] if found else None

    @property
    def customers(self) -> list[int]:
        return sorted(self.ledger.customers)

    # ------------------------------------------------------------------ backlog

    def unpublished_before(self, at: float) -> int | None:
        return self.scalar(
            "select count(*) from outbox where published_at is null and created_at < :t",
            t=ts(at),
        )

    def placed_before(self, at: float) -> int | None:
        return self.scalar(
            "select count(*) from orders where status = 'PLACED' and created_at < :t"
            " and customer_id = any(:c)",
            t=ts(at),
            c=self.customers,
        )

    def end_offsets(self) -> dict[int, int] | None:
        try:
            return self.kafka.end_offsets(ORDERS)
        except Exception:  # noqa: BLE001
            return None

    def consumed_up_to(self, marks: dict[int, int]) -> bool | None:
        """Every consumer group has committed at least ``marks`` on every partition."""
        try:
            lags = self.kafka.lag(ORDERS, GROUPS, end=marks)
        except Exception:  # noqa: BLE001
            return None
        return all(v == 0 for v in lags.values())

    def lag(self) -> dict[str, int] | None:
        try:
            return self.kafka.lag()
        except Exception:  # noqa: BLE001
            return None
