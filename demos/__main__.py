"""``python -m demos``: list the demos; ``python -m demos <concept> [--short]``: run one.

The stack must be up (``make up``) and its settings in the environment (``make demo-<x>``
does both). Exit status: 0 when the demo ran and wrote its table and chart.
"""

from __future__ import annotations

import argparse
import sys
import time

from demos.registry import DEMOS, find, load


def listing() -> str:
    width = max(len(d.name) for d in DEMOS)
    lines = ["Demos (make demo-<name>, or .venv/bin/python -m demos <name> [--short]):", ""]
    lines += [f"  {d.name:<{width}}  {d.shows}" for d in DEMOS]
    lines += ["", "Each prints a before/after table, writes a PNG under .run/demos/ and says"
              " what to notice. Details: docs/DEMOS.md"]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos", description=__doc__)
    parser.add_argument("name", nargs="?", help="the concept; none lists them")
    parser.add_argument("--short", action="store_true", help="a quick version (make test)")
    parser.add_argument("--ready", action="store_true",
                        help="exit 0 when the stack is up and ready, else 1 (make demo-<x> runs"
                        " `make up` only when not: it re-seeds, which takes a minute)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.ready:
        from demos.stackctl import Stack

        stack = Stack()
        return 0 if stack.readyz(timeout=5)[0] == 200 and stack.all_running() else 1
    if not args.name:
        print(listing())
        return 0
    entry = find(args.name)
    if entry is None:
        print(f"no demo named {args.name!r}\n\n{listing()}", file=sys.stderr)
        return 2
    from demos.context import Context  # the stack is only needed to run one

    t0 = time.monotonic()
    print(f"demo {entry.name}: {entry.shows} ...", flush=True)
    outcome = load(entry).run(Context(), short=args.short)
    print()
    print(outcome.render())
    print(f"\n(done in {time.monotonic() - t0:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
