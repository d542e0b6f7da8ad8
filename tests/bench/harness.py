"""What every bench (make bench, bench-storm, bench-soak) does around its load: the progress
line, a restaurant and customers of its own, the stack's supervisorctl, waiting for the
stack to be quiet, and refusing to start on a stack that is still busy."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

from seeds.client import ApiClient, expect
from stack.config import Config
from tests.bench import figures, probe, rush

PIPELINE = ("relay", "pipeline", "feed", "projector", "worker", "worker-followups", "beat")


class Progress:
    """One line on stderr, redrawn in place: the phase, its share done, the run's elapsed
    time. Hand-made (30 lines) rather than tqdm or rich: neither is a dependency of the
    project, and a bar per phase with a known length is all the bench needs. When stderr is
    not a terminal (make test captures it), one line per phase instead of redraws."""

    def __init__(self, stream=sys.stderr) -> None:
        self.t0, self.phase, self.stream = time.monotonic(), "", stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: float) -> None:
        if not self.tty:
            return
        bar = "#" * int(max(0.0, min(1.0, done)) * 30)
        self.stream.write(f"\r  [{bar:<30}] {self.phase:<40.40} {time.monotonic() - self.t0:5.0f}s")
        self.stream.flush()

    def start(self, phase: str) -> Progress:
        self.phase = phase
        self(0.0)
        return self

    def done(self) -> None:
        if self.tty:
            self(1.0)
            self.stream.write("\n")
        else:
            self.stream.write(f"  {self.phase}: done at {time.monotonic() - self.t0:.0f} s\n")
        self.stream.flush()

    def say(self, line: str) -> None:
        self.stream.write(f"\r  {line}\n" if self.tty else f"  {line}\n")
        self.stream.flush()


# -- set-up through the public API ----------------------------------------------------------
def client(url: str, ca_file: str | None) -> ApiClient:
    c = ApiClient(url)
    c.session.verify = ca_file or True
    return c


def setup(
    url: str,
    ca_file: str | None,
    customers: int = 4,
    acceptance_seconds: int | None = None,
    with_kitchen: bool = False,
):
    """A restaurant of its own (optionally with its acceptance time) with one dish in ample
    stock, and a few customers' tokens (through the shared client, seeds/client.py).
    Returns (tokens, order body) or, with_kitchen, also the restaurant user's client and the
    customers' clients (which refresh their own tokens: a soak outlives an access token)."""
    tag = uuid.uuid4().hex[:8]
    admin = client(url, ca_file)
    admin.login("admin@comanda.dev", "admin-password")
    kitchen, shop_id, [item_id] = _restaurant(admin, url, ca_file, tag, 1, acceptance_seconds)
    tokens, buyers = _customers(url, ca_file, tag, customers)
    body = {
        "restaurant_id": shop_id,
        "delivery_address": rush.ADDRESS,
        "items": [{"menu_item_id": item_id, "quantity": 1}],
        "payment": dict(rush.PAYMENT),
    }
    return (tokens, body, kitchen, buyers) if with_kitchen else (tokens, body)


def setup_rush(
    url: str, ca_file: str | None, customers: int, shape: rush.Shape
) -> tuple[list[str], list[dict]]:
    """The bench's lunch rush (tests/bench/rush.py): ``shape.restaurants`` restaurants of its
    own with ``shape.items`` dishes each (rush.STOCK units) and a day to accept
    (rush.ACCEPTANCE_S), a few customers' tokens, and the seeded sequence of order bodies
    over them."""
    tag = uuid.uuid4().hex[:8]
    admin = client(url, ca_file)
    admin.login("admin@comanda.dev", "admin-password")
    menu = []
    for n in range(shape.restaurants):
        _, shop_id, items = _restaurant(
            admin, url, ca_file, f"{tag}-{n}", shape.items, rush.ACCEPTANCE_S
        )
        menu.append((shop_id, items))
    tokens, _ = _customers(url, ca_file, tag, customers)
    return tokens, rush.bodies(menu, shape)


def _restaurant(admin, url, ca_file, tag: str, dishes: int, acceptance_seconds=None):
    """One restaurant (name bench-<tag>), its user logged in, ``dishes`` dishes with
    rush.STOCK units each: (the user's client, restaurant id, dish ids)."""
    new_shop = {"name": f"bench-{tag}"}
    if acceptance_seconds:
        new_shop["acceptance_seconds"] = acceptance_seconds
    shop = expect(admin.post("admin/restaurants", json=new_shop), 201).json()
    user = {"email": f"bench-{tag}@bench.dev", "password": "bench-password", "name": "b"}
    admin.post(f"admin/restaurants/{shop['id']}/users", json=user).raise_for_status()
    kitchen = client(url, ca_file)
    kitchen.login(user["email"], user["password"])
    items = []
    for d in range(dishes):
        dish = {"name": f"bench dish {d + 1}", "price_cents": 1500 + 100 * d, "stock": rush.STOCK}
        item = kitchen.post("restaurant/menu", json=dish)
        item.raise_for_status()
        items.append(item.json()["id"])
    return kitchen, shop["id"], items


def _customers(url, ca_file, tag: str, n: int):
    """``n`` customers registered and logged in: (their access tokens, their clients)."""
    tokens, buyers = [], []
    for k in range(n):
        buyer = client(url, ca_file)
        buyer.register(f"bench-{tag}-c{k}@bench.dev", "bench-password", "c").raise_for_status()
        tokens.append(buyer.login(f"bench-{tag}-c{k}@bench.dev", "bench-password"))
        buyers.append(buyer)
    return tokens, buyers


# -- the stack -------------------------------------------------------------------------------
def pause(*names: str) -> None:
    """SIGSTOP: the programs stop using CPU at once and keep their state (a stop and start
    through supervisord costs each program its shutdown and its start-up, a minute on a
    loaded machine, and the start-up would be measured as the pipeline's)."""
    supervisorctl("signal", "STOP", *names)


def resume(*names: str) -> None:
    supervisorctl("signal", "CONT", *names)


def supervisorctl(*args: str) -> str:
    cfg = Config.from_env()
    exe = Path(sys.prefix) / "bin" / "supervisorctl"
    return subprocess.run(
        [str(exe), "-c", str(cfg.conf_dir / "supervisord.conf"), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    ).stdout


def quiet(limit: float, progress: Progress | None = None, until=figures.idle) -> tuple[float, dict]:
    """Wait (at most ``limit`` seconds) until the outbox, Kafka lag and the RabbitMQ queue
    are empty; (seconds waited, last backlog sample). The caller decides what a cap means."""
    sampler = probe.Backlog(every=0.5)
    sampler.start()
    t0 = time.monotonic()
    last: dict = {}
    try:
        while time.monotonic() - t0 < limit:
            if progress:
                progress(min(1.0, (time.monotonic() - t0) / limit))
            last = sampler.samples[-1] if sampler.samples else {}
            if last and until(last):
                break
            time.sleep(0.5)
    finally:
        sampler.stop()
    return time.monotonic() - t0, last


def drain(limit: float, progress: Progress, what: str) -> dict:
    """Between two phases: wait for the stack to be quiet, at most ``limit`` seconds; what
    is left over is returned (and goes into the JSON) so the next phase's figures are read
    knowing it, never silently."""
    waited, last = quiet(limit, progress.start(f"drain after {what}"))
    progress.done()
    left = figures.worst(last) if last else -1
    if left:
        progress.say(f"bench: after {what}, {left} messages still waiting after {waited:.0f} s")
    return {"after": what, "waited_s": round(waited, 1), "left": left}


def ensure_idle(limit: float, progress: Progress) -> dict:
    """The stack must be idle before a run: a backlog left by an earlier run (or by anyone)
    would be measured as this run's. Wait up to ``limit`` seconds for it, saying so; refuse
    (SystemExit 2) when it does not drain."""
    sampler = probe.Backlog(every=0.5)
    sampler.start()
    try:
        while not sampler.samples:
            time.sleep(0.2)
        first = sampler.samples[0]
    finally:
        sampler.stop()
    placed = probe.stack_orders_placed()
    state = {**first, "placed_orders": placed}
    if figures.idle(first):
        return {"idle_at_start": True, **state}
    progress.say(
        f"bench: the stack is not idle (outbox {first['outbox']}, Kafka lag "
        f"{first['kafka_lag']}, RabbitMQ {first['rabbitmq']}, {placed} orders PLACED);"
        f" waiting up to {limit:.0f} s for it to drain"
    )
    waited, last = quiet(limit, progress.start("waiting for an idle stack"))
    progress.done()
    if not (last and figures.idle(last)):
        raise SystemExit(
            f"bench: refusing to run: the stack is still busy after {waited:.0f} s ({last});"
            " wait for it to drain, or `make reset` for a fresh one"
        )
    return {"idle_at_start": False, "waited_s": round(waited, 1), **state}


def fresh_tokens(buyers) -> list[str]:
    """The customers' access tokens, refreshed when close to expiry (seeds/client.py)."""
    for buyer in buyers:
        buyer.get(
            "orders", params={"limit": 1}
        )  # any authenticated call refreshes an expiring token first
    return [buyer.access_token for buyer in buyers]
