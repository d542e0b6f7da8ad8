"""CPU per task of the pipeline consumer's publishing, and RabbitMQ's, by batch size: the
old way (Celery's confirm-mode producer, one confirm wait per task) against the batched
confirms of app/core/batch_publish.py. Both publish Celery's own messages (persistent, with
confirms) to a private queue, which is deleted at the end; nothing consumes them.

    python -m tests.bench.publish_cpu [--tasks N] [--rounds R]

Rounds alternate the two ways so a busy machine weighs on both alike; the medians are
printed. CPU from /proc (tests/bench/procstat.py): this process, and RabbitMQ's tree.
Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from kombu import Queue

from app.core import task_queue
from app.core.batch_publish import BatchPublisher
from tests.bench import procstat


def one_at_a_time(app, batch: list) -> None:
    """What events/consumers/pipeline.py did before: each send waits for its confirm."""
    with app.producer_or_acquire() as producer:
        for name, args, _ in batch:
            app.send_task(name, args=args, producer=producer)


def measure(send, batches: list[list], rabbit: dict) -> tuple[float, float]:
    own0, mq0 = time.process_time(), procstat.cpu_seconds(rabbit)["rabbitmq"]
    for batch in batches:
        send(batch)
    own, mq = time.process_time() - own0, procstat.cpu_seconds(rabbit)["rabbitmq"] - mq0
    n = sum(len(b) for b in batches)
    return own * 1000 / n, mq * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    queue = f"comanda-publish-cpu-{uuid.uuid4().hex[:6]}"
    app = task_queue.make_celery("publish-cpu")
    app.conf.task_default_queue = queue
    app.conf.task_queues = [Queue(queue, durable=True)]
    publisher = BatchPublisher(app)
    rabbit = {"rabbitmq": procstat.roots()["rabbitmq"]}
    ways = {
        "one confirm wait per task": lambda batch: one_at_a_time(app, batch),
        "batched confirms": publisher.send,
    }
    try:
        for size in (1, 4, 16):
            batches = [
                [(task_queue.VALIDATE_ORDER, [i], None) for i in range(j, j + size)]
                for j in range(0, args.tasks, size)
            ]
            figures: dict[str, list] = {way: [] for way in ways}
            for _ in range(args.rounds):
                for way, send in ways.items():
                    figures[way].append(measure(send, batches, rabbit))
                with app.connection_for_write() as conn:
                    conn.default_channel.queue_purge(queue)
            for way, runs in figures.items():
                own = statistics.median(r[0] for r in runs)
                mq = statistics.median(r[1] for r in runs)
                print(
                    f"batch {size:2d}  {way:26s} publisher {own:5.3f} ms/task"
                    f"   rabbitmq {mq:5.3f} ms/task"
                )
    finally:
        publisher.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


if __name__ == "__main__":
    main()
