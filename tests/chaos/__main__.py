"""``python -m tests.chaos``: one chaos run against the stack the environment names.

    .venv/bin/python -m tests.chaos --short                 # ~2 min, a few hundred orders
    .venv/bin/python -m tests.chaos --minutes 10 --orders 5000
    COMANDA_KAFKA_BROKERS=3 ... python -m tests.chaos --brokers 3

Exit status: 0 when every invariant holds and the run met its targets, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from tests.chaos.runner import RunConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--short", action="store_true", help="the short run of `make test`")
    parser.add_argument("--minutes", type=float, help="traffic lasts at least this long")
    parser.add_argument("--orders", type=int, help="...and until this many orders got 202")
    parser.add_argument("--brokers", type=int, choices=(1, 3), help="expected Kafka brokers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, help="concurrent customer threads")
    parser.add_argument("--report", type=Path, help="where to write the JSON report")
    args = parser.parse_args(argv)
    cfg = RunConfig.short_run() if args.short else RunConfig()
    changes = {
        name: getattr(args, name)
        for name in ("minutes", "orders", "brokers", "seed", "clients", "report")
        if getattr(args, name) is not None
    }
    cfg = replace(cfg, **changes)
    result = run(cfg)
    return 0 if result.violations == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
