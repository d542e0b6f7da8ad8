"""CPU per message of the AMQP client's side of a Celery task, as the worker pays it:
publishing a task (Celery's send_task, confirm mode: what a step does to queue the next) and
receiving one (kombu consumer, prefetch, decode, ack: what the worker's consumer thread does
before Celery's strategy). Publishing is measured twice, alternated: with Celery's defaults,
and with the options workers/publishing.py gives a step (reprs given, no per-publish declare
of a queue the worker consumes). Against the stack's RabbitMQ, on a private queue deleted at
the end.

    python -m tests.amqp_cpu [--tasks N] [--rounds R]

To compare another py-amqp build (e.g. one compiled with its Cython speedups, tried in the
fifth round: docs/perf-celery.md) with the venv's, run it a second time with that copy
first on PYTHONPATH.

Medians over the rounds, this process's CPU only (time.process_time). Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import amqp.serialization
from kombu import Consumer, Queue

from app.core import task_queue
from workers import publishing


def publish(app, n: int, queue: str | None = None) -> float:
    """``queue``: with the options follow_all() gives a step sent to a queue the worker consumes."""
    cpu0 = time.process_time()
    with app.producer_or_acquire() as producer:
        for i in range(n):
            args = ([i], None)  # a step task's arguments: a batch of one order
            extra = publishing.options(args, queue, {queue}) if queue else {}
            app.send_task(task_queue.VALIDATE_ORDER, args=args, producer=producer, **extra)
    return (time.process_time() - cpu0) * 1000 / n


def consume(app, queue: Queue, n: int) -> float:
    seen = 0

    def on_message(body, message) -> None:
        nonlocal seen
        message.ack()
        seen += 1

    cpu0 = time.process_time()
    with (
        app.connection_for_read() as conn,
        Consumer(conn, [queue], callbacks=[on_message], accept=["json"], prefetch_count=32),
    ):
        while seen < n:
            try:
                conn.drain_events(timeout=5)
            except TimeoutError:
                break
    if seen < n:
        raise SystemExit(f"only {seen} of {n} messages came back")
    return (time.process_time() - cpu0) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    name = f"comanda-amqp-cpu-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, durable=True)
    app = task_queue.make_celery("amqp-cpu")
    app.conf.task_default_queue = name
    app.conf.task_queues = [queue]
    app.conf.task_routes = {}
    kind = "compiled" if amqp.serialization.__file__.endswith(".so") else "pure Python"
    runs: list[tuple[float, float, float]] = []
    try:
        for _ in range(args.rounds):
            plain = publish(app, args.tasks)
            given = publish(app, args.tasks, queue=name)
            runs.append((plain, given, consume(app, queue, 2 * args.tasks)))
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(name)
    plain, given, con = (statistics.median(r[i] for r in runs) for i in range(3))
    print(
        f"amqp {kind:11s}  publish {plain:.3f} ms/task (as follow_all() does: {given:.3f})"
        f"   receive+ack {con:.3f} ms/task   ({args.rounds} rounds of {args.tasks})"
    )


if __name__ == "__main__":
    main()
