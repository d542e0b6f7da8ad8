"""outbox_published: the retention prune reads only the outbox rows it may delete

The prune deleted "published before the keep, in id order, 2,000 at a time" until a batch
came back short. With no index on published_at, every run's last statement (the short
one) read the whole outbox: 52 ms with two parallel workers at 138,000 rows, and at 100
orders/s an hour's keep holds about a million (docs/PERFORMANCE.md, "Ninth round"). The
rows it may delete are the published ones; this partial index holds just their
published_at, so each statement reads the rows it deletes and stops at the first one too
young (0.04 ms when none is due). As restaurant_events_acked does for the feed's prune.

A publish's mark now also adds an entry to this index (the mark already could not be a HOT
update: outbox_unpublished's predicate names published_at).

Revision ID: s9b
Revises: s9a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s9b"
down_revision: str | None = "s9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX_PUBLISHED_WHERE = "published_at is not null"


def upgrade() -> None:
    op.create_index(
        "outbox_published",
        "outbox",
        ["published_at"],
        postgresql_where=sa.text(OUTBOX_PUBLISHED_WHERE),
    )


def downgrade() -> None:
    op.drop_index("outbox_published", table_name="outbox")
