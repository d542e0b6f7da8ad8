"""Traffic through the public API: fresh tenants and customers for the run, customers placing
(with an Idempotency-Key, retried until the outcome is known) and cancelling, restaurants
accepting, rejecting, ignoring (so acceptance timeouts happen) and progressing orders."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.api import Problems, Reply, User
from tests.chaos.ledger import ACCEPTED, REFUSED, REJECTED_4XX, Action, Attempt, Ledger

ADMIN = ("admin@comanda.dev", "admin-password")
PASSWORD = "chaos-password-123"  # noqa: S105 - accounts the harness creates for itself
KITCHEN = ("CONFIRMED", "PREPARING", "READY", "DISPATCHED", "DELIVERED")
# Card tokens and their weights: mostly good cards, some declined, flaky and lost replies.
TOKENS = {"tok_ok": 70, "tok_decline": 8, "tok_flaky": 8, "tok_timeout": 8, "tok_any": 6}


@dataclass
class Profile:
    """How the simulated people behave (probabilities)."""

    cancel_soon: float = 0.07  # right after placing: races the pipeline
    cancel_later: float = 0.07  # 0.5-6 s later: races acceptance
    foreign_item: float = 0.015  # a line from another restaurant: invalid_order
    unavailable_item: float = 0.015  # an item marked unavailable: unavailable
    small_stock: float = 0.2  # a line on a low-stock item: out_of_stock once it runs out
    accept: float = 0.68
    reject: float = 0.14  # the rest is ignored: acceptance_timeout
    big_stock: int = 1_000_000
    small_stock_units: int = 60


@dataclass
class Tenant:
    id: int
    user: User
    acceptance_seconds: int
    items: list[int] = field(default_factory=list)  # plenty of stock
    small: list[int] = field(default_factory=list)  # little stock
    unavailable: int | None = None


class Bucket:
    """A token bucket shared by the customer threads: the order rate. While ``hold`` is set
    (the pipeline's backlog is over its cap outside an outage) nobody places."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next = time.monotonic()
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.held = 0.0  # seconds spent holding, for the report

    def take(self, timeout: float) -> bool:
        if self.hold.is_set():
            time.sleep(timeout)
            with self.lock:
                self.held += timeout
            return False
        with self.lock:
            now = time.monotonic()
            self.next = max(self.next, now - 2 * self.interval)  # no burst after a stall
            if self.next <= now:
                self.next += self.interval
                return True
            wait = self.next - now
        time.sleep(min(wait, timeout))
        return False


class Traffic:
    def __init__(
        self,
        base_url: str,
        ledger: Ledger,
        problems: Problems,
        run_id: str,
        seed: int,
        rate: float,
        profile: Profile | None = None,
        log=print,
    ) -> None:
        self.base_url, self.ledger, self.problems = base_url, ledger, problems
        self.run_id, self.seed, self.profile = run_id, seed, profile or Profile()
        self.bucket = Bucket(rate)
        self.stop_placing = threading.Event()
        self.stop_all = threading.Event()
        self.tenants: list[Tenant] = []
        self.customers: list[User] = []
        self.threads: list[threading.Thread] = []
        self.kitchens: list[Kitchen] = []
        self.diners: list[Diner] = []
        self.log = log

    # ------------------------------------------------------------------ setup

    def user(self, email: str, password: str = PASSWORD) -> User:
        return User(self.base_url, email, password, self.problems)

    def setup(self, restaurants: int, customers: int, acceptance: tuple[int, ...]) -> None:
        rng = random.Random(self.seed)
        admin = self.user(*ADMIN)
        admin.login()
        p = self.profile
        for i in range(restaurants):
            seconds = acceptance[i % len(acceptance)]
            body = {"name": f"Chaos {self.run_id} #{i + 1}", "cuisine": "chaos"}
            body["acceptance_seconds"] = seconds
            made = admin.must("POST", "/admin/restaurants", 201, json=body)
            email = f"chaos-{self.run_id}-r{i + 1}@chaos.comanda.test"
            admin.must(
                "POST", f"/admin/restaurants/{made['id']}/users", 201,
                json={"email": email, "password": PASSWORD, "name": f"Kitchen {i + 1}"},
            )  # fmt: skip
            user = self.user(email)
            user.login()
            user.must("PATCH", "/restaurant", 200, json={"acceptance_seconds": seconds})
            tenant = Tenant(made["id"], user, seconds)
            for n in range(5):
                price = rng.randint(900, 6900)
                item = user.must(
                    "POST", "/restaurant/menu", 201,
                    json={"name": f"Dish {n + 1}", "price_cents": price, "stock": p.big_stock},
                )  # fmt: skip
                tenant.items.append(item["id"])
            for n in range(2):
                item = user.must(
                    "POST", "/restaurant/menu", 201,
                    json={"name": f"Special {n + 1}", "price_cents": rng.randint(2000, 9000),
                          "stock": p.small_stock_units},
                )  # fmt: skip
                tenant.small.append(item["id"])
            item = user.must(
                "POST", "/restaurant/menu", 201,
                json={"name": "Off the menu", "price_cents": 1500, "stock": 40},
            )  # fmt: skip
            user.must("PATCH", f"/restaurant/menu/{item['id']}", 200, json={"available": False})
            tenant.unavailable = item["id"]
            # What the stock invariant needs: every item's initial stock, read back.
            for entry in user.must("GET", "/restaurant/menu", 200):
                self.ledger.items[entry["id"]] = {
                    "restaurant_id": tenant.id,
                    "initial": entry["stock"],
                    "available": entry["available"],
                }
            self.ledger.restaurants[tenant.id] = {"acceptance_seconds": seconds}
            self.tenants.append(tenant)

        def register(n: int) -> User:
            email = f"chaos-{self.run_id}-c{n + 1}@chaos.comanda.test"
            user = self.user(email)
            try:
                made = user.must(
                    "POST", "/auth/register", 201, auth=False,
                    json={"email": email, "password": PASSWORD, "name": f"Diner {n + 1}"},
                )  # fmt: skip
                user.id = made["id"]
            except RuntimeError as exc:
                # A try that timed out (bcrypt on a loaded machine) may have registered the
                # user already; the retry's 409 says so, and logging in proves it.
                if ": 409 " not in str(exc):
                    raise
            user.login()
            if user.id is None:
                user.id = user.must("GET", "/auth/me", 200)["id"]
            return user

        with ThreadPoolExecutor(max_workers=3) as pool:
            self.customers = list(pool.map(register, range(customers)))
        self.ledger.customers = {c.id for c in self.customers}

    # ------------------------------------------------------------------ running

    def start(self, clients: int) -> None:
        for i in range(clients):
            diner = Diner(self, i, self.customers[i::clients])
            self.diners.append(diner)
        for tenant in self.tenants:
            self.kitchens.append(Kitchen(self, tenant))
        for worker in [*self.diners, *self.kitchens]:
            thread = threading.Thread(target=worker.run, name=worker.name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def busy(self) -> bool:
        """Work the simulated people still mean to do (cancels, accepts, kitchen steps)."""
        return any(d.busy() for d in self.diners) or any(k.busy() for k in self.kitchens)

    def stop(self, timeout: float = 60) -> None:
        self.stop_placing.set()
        self.stop_all.set()
        for thread in self.threads:
            thread.join(timeout)


def _sleep_retry(reply: Reply, cap: float = 2.0) -> None:
    try:
        delay = float(reply.headers.get("Retry-After", 1))
    except ValueError:
        delay = 1.0
    time.sleep(min(max(delay, 0.3), cap))


class Diner:
    """A thread of customers: places orders at the shared rate and cancels some of them."""

    def __init__(self, traffic: Traffic, index: int, customers: list[User]) -> None:
        self.t, self.index, self.customers = traffic, index, customers
        self.name = f"diner-{index}"
        self.rng = random.Random(traffic.seed * 1000 + index)
        self.count = 0
        self.cancels: list[tuple[float, Attempt, User]] = []  # (due monotonic, attempt, user)
        self.unresolved: Attempt | None = None

    def busy(self) -> bool:
        return bool(self.cancels) or self.unresolved is not None

    def run(self) -> None:
        t = self.t
        while not t.stop_placing.is_set():
            self.cancels_due()
            if t.bucket.take(0.25):
                self.place_one()
        while self.cancels and not t.stop_all.is_set():
            self.cancels_due()
            time.sleep(0.2)

    def body_for(self) -> tuple[dict[str, Any], str, frozenset[str], int]:
        rng, p = self.rng, self.t.profile
        tenant = rng.choice(self.t.tenants)
        flags = set()
        ids = rng.sample(tenant.items, k=rng.choice((1, 1, 2, 2, 3)))
        if rng.random() < p.small_stock:
            ids[0] = rng.choice(tenant.small)
            flags.add("small_stock")
        lines = [{"menu_item_id": i, "quantity": rng.randint(1, 3)} for i in ids]
        roll = rng.random()
        if roll < p.foreign_item and len(self.t.tenants) > 1:
            other = rng.choice([x for x in self.t.tenants if x is not tenant])
            lines.append({"menu_item_id": rng.choice(other.items), "quantity": 1})
            flags.add("foreign_item")
        elif roll < p.foreign_item + p.unavailable_item:
            lines.append({"menu_item_id": tenant.unavailable, "quantity": 1})
            flags.add("unavailable_item")
        token = rng.choices(list(TOKENS), weights=list(TOKENS.values()))[0]
        body = {
            "restaurant_id": tenant.id,
            "items": lines,
            "delivery_address": f"Rua do Caos, {rng.randint(1, 999)}",
            "payment": {"method": "card", "token": token},
        }
        return body, token, frozenset(flags), tenant.id

    def place_one(self) -> None:
        t = self.t
        customer = self.rng.choice(self.customers)
        if customer.ensure_token() is None:  # cannot even log in now (PostgreSQL down)
            time.sleep(1)
            return
        body, token, flags, restaurant_id = self.body_for()
        self.count += 1
        key = f"chaos-{t.run_id}-{self.index}-{self.count}"
        attempt = Attempt(key, customer.id, restaurant_id, body, token, flags, time.time())
        t.ledger.add(attempt)
        self.unresolved = attempt
        outcome_known = False
        while not outcome_known:
            reply = customer.call("POST", "/orders", json=body, headers={"Idempotency-Key": key})
            attempt.tries += 1
            if reply.status == 202:
                t.ledger.resolve(attempt, ACCEPTED, 202, reply.body["id"])
                outcome_known = True
            elif reply.status == 503 and reply.known and attempt.unknown_tries == 0:
                t.ledger.resolve(attempt, REFUSED, 503)  # refused before anything happened
                outcome_known = True
            elif reply.status == 401 or reply.status == 503 or not reply.known:
                # No answer, nginx's own 503 (api.py: the process may have committed before
                # it died), or the app's 503 after an earlier no-answer: the outcome is
                # unknown until the same key is answered. Retry it whatever the harness is
                # asked to do.
                if reply.status != 401 and not (reply.status == 503 and reply.known):
                    attempt.unknown_tries += 1
                if t.stop_all.is_set():
                    break
                _sleep_retry(reply)
            else:
                t.ledger.resolve(attempt, REJECTED_4XX, reply.status)
                outcome_known = True
        attempt.answered = time.time()
        self.unresolved = None
        if attempt.outcome != ACCEPTED:
            return
        roll, p = self.rng.random(), t.profile
        if roll < p.cancel_soon:
            self.cancel(attempt, customer)
        elif roll < p.cancel_soon + p.cancel_later:
            due = time.monotonic() + self.rng.uniform(0.5, 6.0)
            self.cancels.append((due, attempt, customer))

    def cancels_due(self) -> None:
        now = time.monotonic()
        due = [c for c in self.cancels if c[0] <= now]
        self.cancels = [c for c in self.cancels if c[0] > now]
        for _, attempt, customer in due:
            self.cancel(attempt, customer)

    def cancel(self, attempt: Attempt, customer: User) -> None:
        """Cancel until answered: 202 or 409 (or 404, which the invariants flag)."""
        for _ in range(120):
            reply = customer.call(
                "POST", f"/orders/{attempt.order_id}/cancel", json={"reason": "changed my mind"}
            )
            if reply.status == 401:
                time.sleep(0.5)
                continue
            self.t.ledger.act(
                attempt.order_id, Action("cancel", reply.label, reply.sent, reply.received)
            )
            if reply.status in (202, 409, 404, 400, 403) or self.t.stop_all.is_set():
                return
            _sleep_retry(reply)


@dataclass
class Plan:
    """What a restaurant decided for one order, and how far it got."""

    order_id: int
    decision: str  # accept | reject | ignore
    due: float  # monotonic
    steps: int = 0  # kitchen steps to take after accepting (0-4)
    reached: int = 0  # moves done: 1 once CONFIRMED (KITCHEN[0]), 5 once DELIVERED
    tries: int = 0
    done: bool = False


class Kitchen:
    """One restaurant: polls its orders awaiting acceptance, decides, acts, cooks."""

    def __init__(self, traffic: Traffic, tenant: Tenant) -> None:
        self.t, self.tenant = traffic, tenant
        self.name = f"kitchen-{tenant.id}"
        self.rng = random.Random(traffic.seed * 7919 + tenant.id)
        self.plans: dict[int, Plan] = {}

    def busy(self) -> bool:
        return any(not p.done and p.decision != "ignore" for p in self.plans.values())

    def run(self) -> None:
        while not self.t.stop_all.is_set():
            self.poll()
            now = time.monotonic()
            for plan in list(self.plans.values()):
                if not plan.done and plan.decision != "ignore" and plan.due <= now:
                    self.step(plan)
            time.sleep(0.5)

    def poll(self) -> None:
        reply = self.tenant.user.call(
            "GET", "/restaurant/orders", params={"status": "AWAITING_ACCEPTANCE", "limit": 100}
        )
        if reply.status != 200:
            return
        p = self.t.profile
        for order in reply.body["items"]:
            if order["id"] in self.plans or order["id"] not in self.t.ledger.by_order:
                continue  # decided already, or its 202 is not in the ledger yet: act later
            roll = self.rng.random()
            decision = (
                "accept"
                if roll < p.accept
                else "reject"
                if roll < p.accept + p.reject
                else "ignore"
            )
            steps = self.rng.choice((0, 1, 2, 3, 4, 4, 4, 4)) if decision == "accept" else 0
            delay = self.rng.uniform(0.0, 2.5)
            self.plans[order["id"]] = Plan(order["id"], decision, time.monotonic() + delay, steps)

    def record(self, plan: Plan, kind: str, reply: Reply) -> None:
        if plan.order_id in self.t.ledger.by_order:
            self.t.ledger.act(plan.order_id, Action(kind, reply.label, reply.sent, reply.received))

    def step(self, plan: Plan) -> None:
        user, oid = self.tenant.user, plan.order_id
        if plan.reached == 0:  # still to accept or reject
            if plan.decision == "accept":
                kind, reply = "accept", user.call("POST", f"/restaurant/orders/{oid}/accept")
            else:
                kind = "reject"
                reply = user.call(
                    "POST", f"/restaurant/orders/{oid}/reject", json={"reason": "kitchen is full"}
                )
        else:
            kind = KITCHEN[plan.reached]
            reply = user.call("POST", f"/restaurant/orders/{oid}/status", json={"status": kind})
        if reply.status == 401:
            plan.due = time.monotonic() + 0.5
            return
        self.record(plan, kind, reply)
        plan.tries += 1
        if reply.status == 202:
            if kind == "reject":
                plan.done = True
                return
            plan.reached += 1
            plan.tries = 0
            plan.done = plan.reached > plan.steps
            plan.due = time.monotonic() + self.rng.uniform(0.2, 2.0)
        elif reply.status == 409:
            self.resync(plan)
        elif reply.status in (400, 403, 404) or plan.tries > 200:
            plan.done = True  # the invariants report the answer
        else:  # 503 or no answer: try again shortly; a lost 202 shows up as a 409 + resync
            plan.due = time.monotonic() + 1.0

    def resync(self, plan: Plan) -> None:
        """After a 409, look at the order: our earlier call may have worked after all (its
        reply was lost), or the order moved on without us (cancelled, timed out)."""
        reply = self.tenant.user.call("GET", f"/restaurant/orders/{plan.order_id}")
        if reply.status != 200:
            plan.due = time.monotonic() + 1.0
            return
        status = reply.body["status"]
        if status in KITCHEN and plan.decision == "accept":
            plan.reached = KITCHEN.index(status) + 1
            plan.done = plan.reached > plan.steps
            plan.due = time.monotonic() + self.rng.uniform(0.2, 2.0)
        else:
            plan.done = True
