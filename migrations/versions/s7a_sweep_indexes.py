"""sweep indexes: the sweeps cost O(orders that could be due), not O(all orders ever)

The stuck-order sweep (every 5 s) walked the whole orders and payments primary keys in a
merge join: with 130,000 finished orders that was tens of ms of PostgreSQL CPU per pass
at idle, growing with every order placed. The feed's retention task read every
unacknowledged feed row to find the acknowledged ones. Two partial indexes, each holding
only what its sweep may act on (docs/perf-sweeps.md; the order sweeps' other half is the
existing orders_status_deadline):

- payments_open: payments(order_id) of the payments still PENDING or AUTHORIZED
  (lifecycle.PAYMENT_OPEN), where a lost capture or void is found;
- restaurant_events_acked: restaurant_events(acked_at) of the acknowledged feed rows.

The predicates are a snapshot of the lifecycle tables as app/core/models.py writes them;
tests/unit/test_sweep_indexes.py fails if the two drift apart.

Revision ID: s7a
Revises: s5i
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s7a"
down_revision: str | None = "s5i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENTS_OPEN_WHERE = "status in ('AUTHORIZED', 'PENDING')"
FEED_ACKED_WHERE = "acked_at is not null"


def upgrade() -> None:
    op.create_index(
        "payments_open", "payments", ["order_id"], postgresql_where=sa.text(PAYMENTS_OPEN_WHERE)
    )
    op.create_index(
        "restaurant_events_acked",
        "restaurant_events",
        ["acked_at"],
        postgresql_where=sa.text(FEED_ACKED_WHERE),
    )


def downgrade() -> None:
    op.drop_index("restaurant_events_acked", table_name="restaurant_events")
    op.drop_index("payments_open", table_name="payments")
