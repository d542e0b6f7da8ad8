"""stuck-order sweep backoff: orders.redrive_count, orders.next_redrive_at

Revision ID: 0005
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orders", sa.Column("redrive_count", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("orders", sa.Column("next_redrive_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("orders", "next_redrive_at")
    op.drop_column("orders", "redrive_count")
