"""Reading the pipeline's progress from PostgreSQL (read only): when each order reached a
status, according to its own timeline."""

from __future__ import annotations

import contextlib
import time

from demos.context import Context

REACHED = """
select order_id, extract(epoch from min(at)) as at from order_timeline
where order_id = any(:ids) and status = :status group by order_id
"""


def reached(ctx: Context, ids: list[int], status: str) -> dict[int, float]:
    if not ids:
        return {}
    return {r.order_id: float(r.at) for r in ctx.rows(REACHED, ids=ids, status=status)}


def statuses(ctx: Context, ids: list[int]) -> dict[str, int]:
    rows = ctx.rows(
        "select status, count(*) as n from orders where id = any(:ids) group by status", ids=ids
    )
    return {r.status: r.n for r in rows}


def wait_left_placed(ctx: Context, ids: list[int], timeout: float) -> bool:
    """True once none of ``ids`` is PLACED (the pipeline finished with each), within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if statuses(ctx, ids).get("PLACED", 0) == 0:
            return True
        time.sleep(0.5)
    return False


class Sampler:
    """Calls ``read()`` every ``every`` seconds in a thread; ``points`` holds (wall time, value)."""

    def __init__(self, read, every: float = 0.5) -> None:
        import threading

        self.read, self.every = read, every
        self.points: list[tuple[float, object]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def _run(self) -> None:
        while not self.stop.is_set():
            # A missed sample is a gap in the chart, no more.
            with contextlib.suppress(Exception):
                self.points.append((time.time(), self.read()))
            self.stop.wait(self.every)
