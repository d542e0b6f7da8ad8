"""CPU per task of a Celery worker of ours doing nothing but Celery's own work: a private
worker (the stack's settings: threads pool, 8 threads, late acks, confirms) on a private
queue, fed N `ping` tasks (no result, no sleep). Its process's CPU from /proc
(tests/bench/procstat.py), from the moment the tasks are queued until the queue is empty and
every task acked, over N.

    python -m tests.worker_cpu [--tasks N] [--rounds R] [--pythonpath DIR ...]

Each --pythonpath (e.g. a pure copy of amqp, see tests/amqp_cpu.py) is a variant, run
alternately with the venv as it is ("venv"); medians per variant. Figures only. Against the
stack's RabbitMQ (management API for the queue's counts); the queue is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid

import requests
from kombu import Queue

from app.core import task_queue
from stack.config import Config
from tests.bench import procstat

PING = "workers.tasks.ping"


def cpu_seconds(pid: int) -> float:
    return procstat.cpu_seconds({"worker": pid})["worker"]


def queue_counts(cfg: Config, name: str) -> tuple[int, int]:
    port = os.environ.get("COMANDA_RABBITMQ_MANAGEMENT_PORT", "55675")
    r = requests.get(
        f"http://127.0.0.1:{port}/api/queues/%2F/{name}", auth=("comanda", "comanda"), timeout=5
    )
    if r.status_code == 404:
        return 0, 0
    r.raise_for_status()
    q = r.json()
    return q.get("messages", 0), q.get("consumers", 0)


def one_round(cfg: Config, app, name: str, pythonpath: str | None, n: int) -> float:
    env = {k: v for k, v in os.environ.items() if "METRICS" not in k and "MULTIPROC" not in k}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [
        str(sys.prefix + "/bin/celery"), "-A", "workers.celery_app", "worker",
        "--loglevel=WARNING", "--pool=threads", "--concurrency=8", "-Q", name,
        "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while queue_counts(cfg, name)[1] < 1:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the private worker did not start consuming")
            time.sleep(0.5)
        time.sleep(2)
        cpu0 = cpu_seconds(proc.pid)
        with app.producer_or_acquire() as producer:
            for i in range(n):
                app.send_task(PING, args=(str(i),), producer=producer, ignore_result=True)
        while queue_counts(cfg, name)[0] > 0:
            time.sleep(0.2)
        return (cpu_seconds(proc.pid) - cpu0) * 1000 / n
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pythonpath", action="append", default=[])
    args = parser.parse_args()
    cfg = Config.from_env()
    name = f"comanda-worker-cpu-{uuid.uuid4().hex[:6]}"
    app = task_queue.make_celery("worker-cpu")
    app.conf.task_default_queue = name
    app.conf.task_queues = [Queue(name, durable=True)]
    app.conf.task_routes = {}
    with app.connection_for_write() as conn:
        Queue(name, durable=True)(conn.default_channel).declare()
    variants = [None, *args.pythonpath]
    runs: dict[str | None, list[float]] = {v: [] for v in variants}
    try:
        for _ in range(args.rounds):
            for v in variants:
                runs[v].append(one_round(cfg, app, name, v, args.tasks))
                print(f"  {v or 'venv'}: {runs[v][-1]:.3f} ms/task", flush=True)
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(name)
    for v, r in runs.items():
        print(f"{v or 'venv':30s} worker {statistics.median(r):.3f} ms/task (median of {len(r)})")


if __name__ == "__main__":
    main()
