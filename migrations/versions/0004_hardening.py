"""hardening: 64-bit money, orders keyed to existing restaurants, normalised e-mails

Revision ID: 0004
Revises: 0008
Create Date: 2026-11-29 08:45:00

- Every money column becomes bigint: a 3 x 99 x R$ 100,000 order overflowed the 32-bit
  total, and the database error text reached the order's timeline (issue 8).
- orders.restaurant_id gets a foreign key to restaurants. It used to "name no restaurant:
  the pipeline rejects", so an order for restaurant max+1 attached itself to the next
  restaurant created. Orders already naming no restaurant are kept (history), and the
  restaurants' id sequence is moved past their ids, so no restaurant created from now on
  receives one of them; the key is then enforced for every new or changed row, and
  validated over the old ones too when there are none of those orphans.
- orders.unknown_items: intake marks an order naming a menu item the restaurant did not
  have; the pipeline rejects it even if an item with that id appears meanwhile.
- users.email is rewritten in its normal form (roles/emails.py), so the existing unique key
  compares normal forms. Two accounts whose addresses normalise alike: the one already in
  normal form, else the older, gets it; the other keeps its stored address (it can no
  longer log in by it: logins look up normal forms) and is named in the output for an admin.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0008"  # written after 0003; follows main's head since the merge
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = [
    ("menu_items", "price_cents", False),
    ("orders", "total_cents", True),
    ("order_items", "unit_price_cents", True),
    ("payments", "amount_cents", False),
    ("gateway_charges", "amount_cents", False),
    ("proj_orders", "captured_cents", False),
]


def upgrade() -> None:
    for table, column, nullable in MONEY:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(),
            existing_nullable=nullable,
        )  # fmt: skip
    op.add_column(
        "orders",
        sa.Column("unknown_items", sa.Boolean(), server_default="false", nullable=False),
    )
    _restaurant_key()
    _normalise_emails()


def _restaurant_key() -> None:
    bind = op.get_bind()
    op.execute(
        "select setval(pg_get_serial_sequence('restaurants', 'id'), greatest("
        " (select coalesce(max(id), 0) from restaurants),"
        " (select coalesce(max(restaurant_id), 0) from orders), 1))"
    )
    op.execute(
        "alter table orders add constraint orders_restaurant_id_fkey foreign key"
        " (restaurant_id) references restaurants (id) not valid"
    )
    orphans = bind.execute(
        sa.text(
            "select count(*) from orders o where not exists"
            " (select 1 from restaurants r where r.id = o.restaurant_id)"
        )
    ).scalar()
    if orphans:
        print(f"0004: {orphans} order(s) name no restaurant; their ids are never reissued")
    else:
        op.execute("alter table orders validate constraint orders_restaurant_id_fkey")


def _normalise_emails() -> None:
    from roles.emails import normalise

    bind = op.get_bind()
    rows = bind.execute(sa.text("select id, email from users order by id")).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        normal = normalise(email)
        if normal == email:
            continue
        if normal in taken:
            print(f"0004: user {user_id}'s e-mail looks like another account's; left as it was")
            continue
        bind.execute(
            sa.text("update users set email = :e where id = :i"), {"e": normal, "i": user_id}
        )
        taken.discard(email)
        taken.add(normal)


def downgrade() -> None:
    op.drop_constraint("orders_restaurant_id_fkey", "orders", type_="foreignkey")
    op.drop_column("orders", "unknown_items")
    for table, column, nullable in MONEY:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(),
            existing_nullable=nullable,
        )  # fmt: skip
