"""Worker concurrency against a slow card network: the authorization rate at 1, 2, 4 and 8
threads with COMANDA_GATEWAY_LATENCY_MS (default here 100).

    python -m tests.bench.worker_scaling [--latency-ms 100] [--per-thread 30] [--levels 1,2,4,8]

For each level: the supervised worker is stopped, a backlog of per-thread x level orders is
placed through the API (their validate tasks wait in RabbitMQ), then a worker of this
script's own (threads pool, that concurrency, that latency) drains it. The rate is read from
the timeline: payment_authorized rows per second between the 10th and 90th percentile of
their times (the phase where the workers only wait on the gateway). The script stops its
worker by pid and starts the supervised one again. Loopback only; figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from seeds.client import session
from stack.config import Config


def ctl(*args: str) -> str:
    conf = Config.from_env().conf_dir / "supervisord.conf"
    exe = str(Path(sys.prefix) / "bin" / "supervisorctl")
    return subprocess.run([exe, "-c", str(conf), *args], capture_output=True, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--per-thread", type=int, default=30)
    parser.add_argument("--levels", default="1,2,4,8")
    args = parser.parse_args()
    stack_env = Config.from_env().app_env()
    base = stack_env["COMANDA_URL"].rstrip("/") + "/api/v1"
    dsn = make_url(stack_env["DATABASE_URL"]).set(drivername="postgresql")
    dsn = dsn.render_as_string(hide_password=False)
    http = session(stack_env["COMANDA_CA_FILE"])  # nginx, verified against the stack CA

    def login(email: str, password: str) -> dict:
        reply = http.post(f"{base}/auth/login", json={"email": email, "password": password})
        reply.raise_for_status()
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    tag = uuid.uuid4().hex[:8]
    admin = login("admin@comanda.dev", "admin-password")
    shop = http.post(f"{base}/admin/restaurants", json={"name": f"scale-{tag}"}, headers=admin)
    shop = shop.json()
    user = {"email": f"scale-{tag}@bench.dev", "password": "bench-password", "name": "b"}
    http.post(f"{base}/admin/restaurants/{shop['id']}/users", json=user, headers=admin)
    kitchen = login(user["email"], user["password"])
    item = http.post(
        f"{base}/restaurant/menu",
        json={"name": "dish", "price_cents": 1500, "stock": 100_000},
        headers=kitchen,
    ).json()
    buyer = {"email": f"scale-{tag}-c@bench.dev", "password": "bench-password", "name": "c"}
    http.post(f"{base}/auth/register", json=buyer).raise_for_status()
    customer = login(buyer["email"], buyer["password"])
    body = {
        "restaurant_id": shop["id"],
        "delivery_address": "Rua do Benchmark, 1",
        "items": [{"menu_item_id": item["id"], "quantity": 1}],
        "payment": {"method": "card", "token": "tok_ok"},
    }
    # The worker gets this stack's connection settings explicitly (never a default that
    # could name another stack's broker).
    env = {
        **os.environ,
        **Config.from_env().app_env(),
        "COMANDA_GATEWAY_LATENCY_MS": str(args.latency_ms),
    }
    results = []
    ctl("stop", "worker")
    try:
        for level in [int(x) for x in args.levels.split(",")]:
            ids = []
            for _ in range(args.per_thread * level):
                reply = http.post(f"{base}/orders", json=body, headers=customer, timeout=30)
                assert reply.status_code == 202, reply.text
                ids.append(reply.json()["id"])
            worker = subprocess.Popen(
                [
                    str(Path(sys.prefix) / "bin" / "celery"),
                    "-A",
                    "workers.celery_app",
                    "worker",
                    "--pool=threads",
                    f"--concurrency={level}",
                    "--loglevel=WARNING",
                    "-n",
                    f"scaling-{level}@%h",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    ends = time.monotonic() + 600
                    while time.monotonic() < ends:
                        left = conn.execute(
                            "select count(*) from orders where id = any(%s) and status = 'PLACED'",
                            (ids,),
                        ).fetchone()[0]
                        if left == 0:
                            break
                        time.sleep(0.5)
                    times = [
                        row[0]
                        for row in conn.execute(
                            "select extract(epoch from at) from order_timeline"
                            " where order_id = any(%s) and event = 'payment_authorized'"
                            " order by at",
                            (ids,),
                        )
                    ]
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
            lo, hi = int(len(times) * 0.1), int(len(times) * 0.9)
            rate = (hi - lo) / float(times[hi] - times[lo]) if hi > lo else float("nan")
            results.append((level, len(ids), rate))
            print(
                f"concurrency {level}: {len(ids)} orders, {rate:.1f} authorizations/s", flush=True
            )
    finally:
        ctl("start", "worker")
    first = results[0][2]
    for level, n, rate in results:
        print(f"  {level:2d} threads  {rate:6.1f}/s  x{rate / first:4.2f}  ({n} orders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
