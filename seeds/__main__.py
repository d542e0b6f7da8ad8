"""python -m seeds [--orders N] [--url URL]: load demo data; optionally place N orders."""

from __future__ import annotations

import argparse
import os
import sys

from app.core.errors import AppError
from seeds.demo import ADMIN, CUSTOMERS, RESTAURANTS


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m seeds", description=__doc__)
    parser.add_argument(
        "--orders",
        type=int,
        default=0,
        help="place N random orders through the API (restaurants act on them)",
    )
    parser.add_argument("--url", default=os.environ.get("COMANDA_URL", "https://127.0.0.1:8443"))
    parser.add_argument("--seed", type=int, default=None, help="random seed for --orders")
    args = parser.parse_args()

    from seeds.load import load_demo

    print("Loading demo data…")
    try:
        added = load_demo()
    except AppError as exc:
        print(f"seeds: {exc.message}", file=sys.stderr)
        return 2
    print(f"  {added} rows added ({'already loaded' if added == 0 else 'new data'})")
    print(f"  admin: {ADMIN[0]} / {ADMIN[1]}")
    for spec in RESTAURANTS:
        print(f"  restaurant {spec['name']}: {spec['user'][0]} / {spec['user'][1]}")
    for email, password, _ in CUSTOMERS:
        print(f"  customer: {email} / {password}")
    if args.orders > 0:
        from seeds.traffic import place_orders

        print(f"Placing {args.orders} orders through {args.url}…")
        outcome = place_orders(args.url, args.orders, args.seed)
        print("  final statuses:", ", ".join(f"{k}={v}" for k, v in sorted(outcome.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
