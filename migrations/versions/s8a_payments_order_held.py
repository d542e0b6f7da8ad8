"""payments.order_held: the stuck sweep reads the open payments of orders that moved on

The stuck-order sweep (every 5 s) found a payment left to capture or void as "open payments
EXCEPT ALL orders still holding their reservation". Every order awaiting a restaurant has
an AUTHORIZED payment, so both sides were as large as the number of orders awaiting
acceptance: 200,000 of them cost ~200 ms of PostgreSQL per pass (docs/perf-sweeps.md,
"Eighth round"). The payments due are the open ones of orders that are no longer held
(confirmed with a payment to capture, cancelled or rejected with one to void): few.

- payments.order_held: whether the payment's order is in lifecycle.HOLDS_RESERVATION
  (PLACED, AWAITING_ACCEPTANCE), kept in step by PostgreSQL itself (two triggers below),
  so no code path can forget it;
- payments_settle_due: payments(order_id) of the open payments whose order is not held.

The statuses are a snapshot of the lifecycle tables as app/core/models.py writes them;
tests/unit/test_sweep_indexes.py fails if the two drift apart.

Revision ID: s8a
Revises: s7a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s8a"
down_revision: str | None = "s7a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "status in ('AWAITING_ACCEPTANCE', 'PLACED')"
SETTLE_DUE_WHERE = "status in ('AUTHORIZED', 'PENDING') and not order_held"

_OLD_HELD = HELD.replace("status", "OLD.status", 1)
_NEW_HELD = HELD.replace("status", "NEW.status", 1)

# Orders: only a move across the held/not-held line calls the function (the WHEN clause is
# evaluated in C on every status update; PLACED -> AWAITING_ACCEPTANCE, CONFIRMED ->
# PREPARING ... never enter PL/pgSQL). The one move that does (once per order in its
# life) costs one payments primary-key lookup and, when the order has a payment, one row
# update with its index entries, in the same transaction: ~35 us per order (EXPLAIN
# ANALYZE of 20,000 moves to CONFIRMED on the 2-core dev machine: 675 ms of trigger time).
ORDER_MOVED = f"""
CREATE FUNCTION payments_follow_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payments SET order_held = ({_NEW_HELD})
     WHERE order_id = NEW.id AND order_held IS DISTINCT FROM ({_NEW_HELD});
    RETURN NULL;
END $$;
CREATE TRIGGER orders_held_moved AFTER UPDATE OF status ON orders FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND ({_OLD_HELD}) IS DISTINCT FROM ({_NEW_HELD}))
  EXECUTE FUNCTION payments_follow_order();
"""

# Payments: the app inserts a payment only in the validate step, whose order stays PLACED
# (app/orders/steps.py validated(); a rejected order gets none), so the default (true)
# would do. The insert reads the order's status anyway (one orders primary-key lookup per
# payment, i.e. per order): a later path inserting a payment for an order that has moved
# on, or a script, would otherwise hide a payment to capture or void from the sweep for
# ever. A payment whose order cannot be seen is left visible (false): the sweep applies
# the full conditions again, so that costs a row read, never a wrong re-drive.
PAYMENT_ADDED = f"""
CREATE FUNCTION payments_order_held() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.order_held := coalesce((SELECT {HELD} FROM orders WHERE id = NEW.order_id), false);
    RETURN NEW;
END $$;
CREATE TRIGGER payments_held_at_insert BEFORE INSERT ON payments FOR EACH ROW
  EXECUTE FUNCTION payments_order_held();
"""


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("order_held", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    # Back-fill: only the rows whose order is not held change (the finished orders').
    op.execute(
        f"UPDATE payments p SET order_held = false FROM orders o"
        f" WHERE o.id = p.order_id AND NOT (o.{HELD})"
    )
    op.execute(ORDER_MOVED)
    op.execute(PAYMENT_ADDED)
    op.create_index(
        "payments_settle_due",
        "payments",
        ["order_id"],
        postgresql_where=sa.text(SETTLE_DUE_WHERE),
    )


def downgrade() -> None:
    op.drop_index("payments_settle_due", table_name="payments")
    op.execute("DROP TRIGGER payments_held_at_insert ON payments")
    op.execute("DROP FUNCTION payments_order_held()")
    op.execute("DROP TRIGGER orders_held_moved ON orders")
    op.execute("DROP FUNCTION payments_follow_order()")
    op.drop_column("payments", "order_held")
