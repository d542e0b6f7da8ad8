"""proj_status_counts and feed_backlog: the exporter's two counts, kept by PostgreSQL

The exporter counted the orders by status and the unacknowledged feed rows over the whole
tables every 30 s. At 570,000 orders and 2,000,000 feed rows that took 240 + 490 ms, each
count with two parallel workers: three processes on two cores, and every order in flight
waited half a second (docs/PERFORMANCE.md, "Ninth round"). Now each count is kept as the
rows change, by statement-level triggers over the transition tables (one aggregate per
statement, never one call per row), and the exporter reads a handful of rows:

- proj_status_counts(status, orders): the admin projection's orders by status. Only the
  projector writes proj_orders, so these rows are never contended.
- feed_backlog(restaurant_id, unacked): each restaurant's unacknowledged feed rows. One row
  per restaurant: an ack waits only on its own restaurant's row, and the feed consumer
  takes its rows in restaurant order, so two writers never deadlock on them.

The counts follow the rows themselves (old and new versions, as PostgreSQL hands them to
the trigger), whatever path wrote them: the consumers, an ack, the retention prune, a
projection rebuild or a script. A TRUNCATE empties the count with its table.

Revision ID: s9a
Revises: s8a
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s9a"
down_revision: str | None = "s8a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _function(name: str, body: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$;
"""


def _triggers(table: str, count: str, key: str, column: str, counted: str) -> list[str]:
    """Functions and triggers keeping ``count``(``key``, ``column``) equal to the number of
    ``table`` rows matching ``counted``, by ``key``: +1 for each row that comes in (inserted,
    or updated into a match), -1 for each that goes out. Keys are upserted in order, so two
    writers lock them in the same order.

    PostgreSQL allows transition tables only on a trigger of one event, and a function may
    name only the transition tables of its trigger (the INSERT trigger has no "removed", the
    DELETE trigger no "added"), so each event has its own function, the missing side an
    empty set of the same row type."""
    empty = f"(SELECT * FROM {table} WHERE false)"
    out = []
    for event, added, removed, referencing in (
        ("INSERT", "added", empty, "NEW TABLE AS added"),
        ("UPDATE", "added", "removed", "OLD TABLE AS removed NEW TABLE AS added"),
        ("DELETE", empty, "removed", "OLD TABLE AS removed"),
    ):
        name = f"{count}_{event.lower()}"
        out.append(
            _function(
                name,
                f"""WITH moves AS (
        SELECT {key}, 1 AS n FROM {added} AS added WHERE {counted}
        UNION ALL
        SELECT {key}, -1 FROM {removed} AS removed WHERE {counted}
    )
    INSERT INTO {count} ({key}, {column})
    SELECT {key}, sum(n) FROM moves GROUP BY {key} HAVING sum(n) <> 0 ORDER BY {key}
    ON CONFLICT ({key}) DO UPDATE SET {column} = {count}.{column} + excluded.{column};""",
            )
        )
        out.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        )
    out.append(_function(f"{count}_truncate", f"DELETE FROM {count};"))
    out.append(
        f"CREATE TRIGGER {count}_truncate AFTER TRUNCATE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {count}_truncate();"
    )
    return out


COUNTS = (
    # table, count table, key, count column, which rows count
    ("proj_orders", "proj_status_counts", "status", "orders", "true"),
    ("restaurant_events", "feed_backlog", "restaurant_id", "unacked", "acked_at IS NULL"),
)
KEY_TYPES = {"status": "varchar(30)", "restaurant_id": "integer"}


def upgrade() -> None:
    for table, count, key, column, counted in COUNTS:
        op.execute(
            f"CREATE TABLE {count} ({key} {KEY_TYPES[key]} PRIMARY KEY, {column} bigint NOT NULL)"
        )
        # CREATE TRIGGER locks the table against writes until this migration commits, so
        # the back-fill below and the triggers see the same rows: none counted twice or lost.
        for statement in _triggers(table, count, key, column, counted):
            op.execute(statement)
        op.execute(
            f"INSERT INTO {count} ({key}, {column}) SELECT {key}, count(*) FROM {table}"
            f" WHERE {counted} GROUP BY {key}"
        )


def downgrade() -> None:
    for table, count, *_ in COUNTS:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER {count}_{event} ON {table}")
            op.execute(f"DROP FUNCTION {count}_{event}()")
        op.execute(f"DROP TABLE {count}")
