"""CPU per order of every process of the stack, and PLACED -> AWAITING_ACCEPTANCE latency,
for a paced load through the API (loopback, bounded in count and time).

    python -m tests.bench.pipeline_cpu [--orders N] [--rate R] [--token tok_ok]

Reads utime+stime of each process tree from /proc before and after, waits until every
order has left PLACED and the outbox is published, subtracts the idle rate measured just
before the load, and prints ms of CPU per order per process. The load generator's own CPU
is not part of any figure. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import make_url

from stack.config import Config
from tests import tls

TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        out = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
        return out
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return []


def _cpu_tree(pid: int) -> float:
    """Seconds of CPU of a process, its live descendants and its reaped children."""
    total, todo, first = 0.0, [pid], True
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        if first:
            total += (int(fields[13]) + int(fields[14])) / TICK  # cutime, cstime
            first = False
        todo += _children(current)
    return total


def roots() -> dict[str, int]:
    cfg = Config.from_env()
    status = subprocess.run(
        [
            str(Path(sys.prefix) / "bin" / "supervisorctl"),
            "-c",
            str(cfg.conf_dir / "supervisord.conf"),
            "status",
        ],
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in status.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == "RUNNING" and parts[2] == "pid":
            found[parts[0]] = int(parts[3].rstrip(","))
    for pidfile in sorted(cfg.pids_dir.glob("*.pid")):
        if pidfile.stem != "supervisord":
            try:
                found[pidfile.stem] = int(pidfile.read_text().split()[0])
            except (ValueError, IndexError):
                continue
    return found


def sample(pids: dict[str, int]) -> dict[str, float]:
    return {name: _cpu_tree(pid) for name, pid in pids.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--token", default="tok_ok")
    parser.add_argument("--idle", type=float, default=8.0)
    args = parser.parse_args()
    base = os.environ["COMANDA_URL"].rstrip("/") + "/api/v1"
    db = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql")
    dsn = db.render_as_string(hide_password=False)

    def login(http: requests.Session, email: str, password: str) -> None:
        reply = http.post(f"{base}/auth/login", json={"email": email, "password": password})
        reply.raise_for_status()
        http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"

    tag = uuid.uuid4().hex[:8]
    admin = tls.session()  # nginx, verified against COMANDA_CA_FILE
    login(admin, "admin@comanda.dev", "admin-password")
    shop = admin.post(f"{base}/admin/restaurants", json={"name": f"cpu-{tag}"}).json()
    user = {"email": f"cpu-{tag}@bench.dev", "password": "bench-password", "name": "b"}
    admin.post(f"{base}/admin/restaurants/{shop['id']}/users", json=user).raise_for_status()
    kitchen = tls.session()
    login(kitchen, user["email"], user["password"])
    item = kitchen.post(
        f"{base}/restaurant/menu",
        json={"name": "cpu dish", "price_cents": 1500, "stock": args.orders * 2},
    ).json()
    clients = []
    for n in range(8):
        buyer = {"email": f"cpu-{tag}-{n}@bench.dev", "password": "bench-password", "name": "c"}
        tls.post(f"{base}/auth/register", json=buyer).raise_for_status()
        http = tls.session()
        login(http, buyer["email"], buyer["password"])
        clients.append(http)
    body = {
        "restaurant_id": shop["id"],
        "delivery_address": "Rua do Benchmark, 1",
        "items": [{"menu_item_id": item["id"], "quantity": 1}],
        "payment": {"method": "card", "token": args.token},
    }

    pids = roots()
    time.sleep(2)
    idle0, t_idle = sample(pids), time.monotonic()
    time.sleep(args.idle)
    idle1 = sample(pids)
    idle_rate = {k: (idle1[k] - idle0[k]) / (time.monotonic() - t_idle) for k in pids}

    def place(n: int) -> int:
        due = started + n / args.rate
        time.sleep(max(0.0, due - time.monotonic()))
        reply = clients[n % len(clients)].post(f"{base}/orders", json=body, timeout=30)
        assert reply.status_code == 202, reply.text
        return reply.json()["id"]

    before, t0 = sample(pids), time.monotonic()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(place, range(args.orders)))
    placed_s = time.monotonic() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            left = conn.execute(
                "select count(*) from orders where id = any(%s) and status = 'PLACED'", (ids,)
            ).fetchone()[0]
            unpublished = conn.execute(
                "select count(*) from outbox where published_at is null"
            ).fetchone()[0]
            if left == 0 and unpublished == 0:
                break
            time.sleep(0.5)
        time.sleep(3)  # the feed and projector consume the last events
        after, elapsed = sample(pids), time.monotonic() - t0
        lat = conn.execute(
            """
            select percentile_cont(array[0.5, 0.95, 0.99]) within group (order by ms), count(*)
            from (select extract(epoch from (a.at - p.at)) * 1000 as ms
                  from order_timeline p join order_timeline a
                    on a.order_id = p.order_id and a.event = 'awaiting_acceptance'
                  where p.event = 'placed' and p.order_id = any(%s)) x
            """,
            (ids,),
        ).fetchone()
    n = len(ids)
    print(f"{n} orders at {args.rate}/s (placed in {placed_s:.1f} s), window {elapsed:.1f} s")
    print(f"PLACED->AWAITING p50/p95/p99 ms: {[round(v) for v in lat[0] or []]} ({lat[1]} reached)")
    total = 0.0
    rows = []
    for name in pids:
        used = after[name] - before[name] - idle_rate[name] * elapsed
        rows.append((name, used * 1000 / n, (after[name] - before[name]) * 1000 / n))
        total += used * 1000 / n
    for name, net, raw in sorted(rows, key=lambda r: -r[1]):
        print(f"  {name:12s} {net:7.2f} ms/order   (raw {raw:.2f})")
    print(f"  {'TOTAL':12s} {total:7.2f} ms/order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
