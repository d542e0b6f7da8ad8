"""CPU per order of the pipeline steps alone (validate, reserve, authorize + the move to
AWAITING_ACCEPTANCE), with no Celery, Kafka or HTTP around them, and of the acceptance sweep:
the Python process's CPU and PostgreSQL's (its backends' utime+stime from /proc).

    python -m tests.bench.steps_cpu [--orders N]

Runs against the scratch database comanda_test (no workers attached). To compare with an
older version, run it with PYTHONPATH pointing at that version's checkout. Figures only.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import timedelta

from sqlalchemy.engine import make_url

from app.core.db import unit_of_work
from app.core.models import MenuItem, Order, Restaurant, User, utcnow
from app.core.settings import Settings, use_settings
from app.orders import commands, pipeline
from app.payments.gateway import SimulatedGateway
from tests.bench import procstat


def postgres_cpu() -> float:
    """Seconds of CPU of the stack's PostgreSQL: the postmaster and every backend
    (tests/bench/procstat.py, the one reader of /proc)."""
    return procstat.cpu_seconds({"postgres": procstat.roots()["postgres"]})["postgres"]


def measure(label: str, n: int, run) -> None:
    cpu0, pg0, t0 = time.process_time(), postgres_cpu(), time.monotonic()
    run()
    cpu, pg = time.process_time() - cpu0, postgres_cpu() - pg0
    print(
        f"{label:34s} python {cpu * 1000 / n:6.2f} ms/order   postgres {pg * 1000 / n:6.2f}"
        f" ms/order   ({n} orders, {time.monotonic() - t0:.1f} s wall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    url = make_url(os.environ["DATABASE_URL"]).set(database="comanda_test")
    use_settings(Settings.from_env().with_(database_url=url.render_as_string(hide_password=False)))
    with unit_of_work() as s:
        shop = Restaurant(name=f"cpu-{uuid.uuid4().hex[:6]}", is_open=True, acceptance_seconds=300)
        s.add(shop)
        s.flush()
        item = MenuItem(restaurant_id=shop.id, name="x", price_cents=1000, stock=10**6)
        buyer = User(email=f"{uuid.uuid4().hex}@t.io", password_hash="x", name="c", role="customer")
        s.add_all([item, buyer])
        s.flush()
        shop_id, item_id, buyer_id = shop.id, item.id, buyer.id
    body = {
        "restaurant_id": shop_id,
        "delivery_address": "a",
        "items": [{"menu_item_id": item_id, "quantity": 1, "notes": None}],
        "payment": {"method": "card", "token": "tok_ok"},
    }
    ids = []
    for _ in range(args.orders):
        with unit_of_work() as s:
            ids.append(commands.place_order(s, buyer_id, body, None)[0].id)
    gateway = SimulatedGateway()
    measure("validate", len(ids), lambda: [pipeline.validate(i) for i in ids])
    measure("reserve_stock", len(ids), lambda: [pipeline.reserve_stock(i) for i in ids])
    measure(
        "authorize_payment (+ AWAITING)",
        len(ids),
        lambda: [pipeline.authorize_payment(i, gateway) for i in ids],
    )
    with unit_of_work() as s:
        s.execute(
            Order.__table__.update()
            .where(Order.id.in_(ids))
            .values(deadline_at=utcnow() - timedelta(seconds=1))
        )
    try:
        from app.orders import sweeps

        expire = sweeps.expire_unaccepted
    except ImportError:  # the version before app/orders/sweeps.py: 100 a pass

        def expire():
            while True:
                with unit_of_work() as s:
                    if not commands.expire_unaccepted(s):
                        return

    measure("acceptance sweep (cancel)", len(ids), expire)
    measure("void_payment", len(ids), lambda: [pipeline.void_payment(i, gateway) for i in ids])


if __name__ == "__main__":
    main()
