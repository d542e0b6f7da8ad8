"""outbox wake-up: a writer may send it after its commit instead of inside it

A NOTIFY in a transaction makes its commit take PostgreSQL's one cluster-wide notify lock
and hold it through the commit's WAL flush, so every committing transaction that inserts
an outbox row waits for the previous one's fsync: no group commit (docs/perf-intake.md).
The trigger still notifies by default; a transaction that sets
``comanda.outbox_notify = off`` (set_config, transaction-local) sends the wake-up itself
once it has committed (app/orders/intake.py, after POST /orders' single-statement write).

Revision ID: s5i
Revises: 0007 (the chain ends at 0007: 0005 -> 0008 -> 0004 -> 0007)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s5i"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        create or replace function comanda_outbox_notify() returns trigger
        language plpgsql as $$
        begin
            if coalesce(current_setting('comanda.outbox_notify', true), '') <> 'off' then
                perform pg_notify('comanda_outbox', '');
            end if;
            return null;
        end $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        create or replace function comanda_outbox_notify() returns trigger
        language plpgsql as $$
        begin
            perform pg_notify('comanda_outbox', '');
            return null;
        end $$;
        """
    )
