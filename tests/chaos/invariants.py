"""The invariants, checked at quiescence from PostgreSQL (ground truth tables) and Kafka (the
``orders`` and ``orders.dlq`` topics from the offsets they had when the run began), against
what the ledger says the harness did and was answered.

The lifecycle table below is the contract's (/work/shared/API.md), written out again on
purpose: the checker does not borrow the application's own idea of what is allowed.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from tests.chaos.api import Problems
from tests.chaos.faults import Fault
from tests.chaos.kafka_io import DLQ, GROUPS, ORDERS, Kafka, Record
from tests.chaos.ledger import ACCEPTED, REFUSED, UNRESOLVED, Attempt, Ledger
from tests.chaos.probe import Probe

KITCHEN = ("CONFIRMED", "PREPARING", "READY", "DISPATCHED", "DELIVERED")
DEAD = ("REJECTED", "CANCELLED")
LIVE = ("PLACED", "AWAITING_ACCEPTANCE")  # the statuses that may hold reserved stock
PIPELINE_REASONS = {"invalid_order", "unavailable", "out_of_stock", "payment_declined"}
ALLOWED: dict[tuple[str, str], set[str | None]] = {
    ("PLACED", "AWAITING_ACCEPTANCE"): {None},
    ("AWAITING_ACCEPTANCE", "CONFIRMED"): {None},
    ("CONFIRMED", "PREPARING"): {None},
    ("PREPARING", "READY"): {None},
    ("READY", "DISPATCHED"): {None},
    ("DISPATCHED", "DELIVERED"): {None},
    ("PLACED", "REJECTED"): PIPELINE_REASONS,
    ("AWAITING_ACCEPTANCE", "REJECTED"): {"restaurant_rejected"},
    ("PLACED", "CANCELLED"): {"customer_cancelled", "acceptance_timeout"},
    ("AWAITING_ACCEPTANCE", "CANCELLED"): {"customer_cancelled", "acceptance_timeout"},
}
STATUS_EVENT = {
    "PLACED": "order.placed",
    "AWAITING_ACCEPTANCE": "order.awaiting_acceptance",
    "CONFIRMED": "order.accepted",
    "PREPARING": "order.status_changed",
    "READY": "order.status_changed",
    "DISPATCHED": "order.status_changed",
    "DELIVERED": "order.status_changed",
    "REJECTED": "order.rejected",
    "CANCELLED": "order.cancelled",
}
# The status an order.* event's snapshot must show (status_changed covers several).
SNAPSHOT = {v: k for k, v in STATUS_EVENT.items() if k not in KITCHEN[1:]}
ACTION_TARGET = {"cancel": "CANCELLED", "accept": "CONFIRMED", "reject": "REJECTED"}
TOLERANCE = 1.0  # seconds, between the harness's clock readings and the app's timestamps
SAMPLES = 12  # violations listed per check


@dataclass
class Check:
    name: str
    what: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.violations.append(message)


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


@dataclass
class Event:
    event_id: str
    type: str
    order_id: int
    restaurant_id: int
    version: int | None
    snapshot_status: str | None
    partition: int
    offset: int
    key: str | None


@dataclass
class World:
    """Everything the checks read, loaded once at quiescence."""

    now: float
    orders: dict[int, dict[str, Any]]
    items: dict[int, list[dict[str, Any]]]
    payments: dict[int, dict[str, Any]]
    charges: dict[int, dict[str, Any]]
    timeline: dict[int, list[dict[str, Any]]]
    outbox: dict[str, dict[str, Any]]
    idem: dict[str, int]  # idempotency key -> order id (harness customers)
    menu: dict[int, int]  # harness menu item -> stock now
    feed: set[str]
    projected: set[str]
    proj_orders: dict[int, str]
    kafka_orders: list[Record]
    kafka_dlq: list[Record]
    # The counts PostgreSQL keeps as rows change (migration s9a), and the same counted
    # afresh: ("status", status) -> proj_status_counts / proj_orders by status, and
    # ("restaurant", id) -> feed_backlog / unacknowledged restaurant_events; zeros left out.
    counts_kept: dict[tuple[str, Any], int] = field(default_factory=dict)
    counts_counted: dict[tuple[str, Any], int] = field(default_factory=dict)


def load(probe: Probe, ledger: Ledger, start: dict[str, dict[int, int]]) -> World:
    """Read PostgreSQL in one REPEATABLE READ transaction (one consistent snapshot even if
    something still moves), then Kafka from the run's start offsets to their end."""
    for _ in range(30):
        try:
            with probe.engine.connect() as conn:
                conn.exec_driver_sql("set transaction isolation level repeatable read")
                world = _load(conn, probe, ledger)
                conn.rollback()
            break
        except OperationalError:
            time.sleep(2)
    else:
        raise RuntimeError("PostgreSQL does not answer: cannot check the invariants")
    kafka = probe.kafka
    world.kafka_orders = kafka.read(ORDERS, start[ORDERS], kafka.end_offsets(ORDERS))
    world.kafka_dlq = kafka.read(DLQ, start[DLQ], kafka.end_offsets(DLQ))
    return world


def _load(conn: Connection, probe: Probe, ledger: Ledger) -> World:
    customers = probe.customers

    def q(sql: str, **params: Any) -> list[Any]:
        return list(conn.execute(text(sql), params))

    orders = {
        r.id: r._asdict()
        for r in q(
            "select id, customer_id, restaurant_id, status, reason, stage, deadline_at,"
            " total_cents, payment_token, created_at, updated_at from orders"
            " where customer_id = any(:c)",
            c=customers,
        )
    }
    ids = sorted(orders)
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in q(
        "select order_id, menu_item_id, quantity, stock_state from order_items"
        " where order_id = any(:i) order by id",
        i=ids,
    ):
        items[r.order_id].append(r._asdict())
    payments = {
        r.order_id: r._asdict() for r in q("select * from payments where order_id = any(:i)", i=ids)
    }
    keys = [f"order-{i}-payment" for i in ids]
    charges = {
        int(r.idempotency_key.split("-")[1]): r._asdict()
        for r in q("select * from gateway_charges where idempotency_key = any(:k)", k=keys)
    }
    timeline: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in q(
        "select order_id, id, at, status, event, detail from order_timeline"
        " where order_id = any(:i) order by id",
        i=ids,
    ):
        timeline[r.order_id].append(r._asdict())
    outbox = {
        str(r.event_id): r._asdict()
        for r in q(
            "select id, event_id, key, payload, published_at from outbox"
            " where (payload->>'order_id')::bigint = any(:i)",
            i=ids,
        )
    }
    idem = {
        r.key: r.order_id
        for r in q(
            "select key, order_id from idempotency_keys where customer_id = any(:c)", c=customers
        )
    }
    menu = {
        r.id: r.stock
        for r in q("select id, stock from menu_items where id = any(:m)", m=sorted(ledger.items))
    }
    event_ids = list(outbox)
    feed = {
        str(r.event_id)
        for r in q("select event_id from restaurant_events where order_id = any(:i)", i=ids)
    }
    projected = {
        str(r.event_id)
        for r in q(
            "select event_id from proj_events where consumer = 'admin'"
            " and event_id = any(cast(:e as uuid[]))",
            e=event_ids,
        )
    }
    proj_orders = {
        r.order_id: r.status
        for r in q("select order_id, status from proj_orders where order_id = any(:i)", i=ids)
    }
    kept = {
        ("status", r.status): r.orders
        for r in q("select status, orders from proj_status_counts where orders <> 0")
    }
    kept |= {
        ("restaurant", r.restaurant_id): r.unacked
        for r in q("select restaurant_id, unacked from feed_backlog where unacked <> 0")
    }
    counted = {
        ("status", r.status): r.n
        for r in q("select status, count(*) as n from proj_orders group by 1")
    }
    counted |= {
        ("restaurant", r.restaurant_id): r.n
        for r in q(
            "select restaurant_id, count(*) as n from restaurant_events where acked_at is null"
            " group by 1"
        )
    }
    return World(
        time.time(), orders, items, payments, charges, timeline, outbox, idem, menu,
        feed, projected, proj_orders, [], [], kept, counted,
    )  # fmt: skip


# ---------------------------------------------------------------------------- helpers


def moves(rows: list[dict[str, Any]]) -> list[tuple[str | None, str, float]]:
    """(from, to, at) for every status change in a timeline, the placement first."""
    found, previous = [], None
    for row in rows:
        if row["status"] != previous:
            found.append((previous, row["status"], epoch(row["at"])))
            previous = row["status"]
    return found


def statuses_during(rows: list[dict[str, Any]], start: float, end: float) -> set[str]:
    """Every status the order had at some instant of [start, end]."""
    seen, before = set(), "PLACED"
    for row in rows:
        at = epoch(row["at"])
        if at <= start - TOLERANCE:
            before = row["status"]
        elif at <= end + TOLERANCE:
            seen.add(row["status"])
    return seen | {before}


def refused_in(kind: str, status: str) -> bool:
    """Whether the contract makes ``kind`` a 409 when the order is ``status``."""
    if kind == "cancel":
        return status not in ("PLACED", "AWAITING_ACCEPTANCE")
    if kind in ("accept", "reject"):
        return status != "AWAITING_ACCEPTANCE"
    if status in KITCHEN[:-1]:
        return KITCHEN[KITCHEN.index(status) + 1] != kind
    return True


def past_acceptance_deadline(rows: list[dict[str, Any]], restaurant: dict, at: float) -> bool:
    """Whether the order's acceptance deadline had passed by ``at``: accept, reject and cancel
    answer 409 then even while the status still reads AWAITING_ACCEPTANCE (the sweep that
    cancels it runs every couple of seconds; the commands check the deadline themselves)."""
    seconds = restaurant.get("acceptance_seconds")
    awaiting = [when for _, to, when in moves(rows) if to == "AWAITING_ACCEPTANCE"]
    if seconds is None or not awaiting:
        return False
    return at >= awaiting[0] + seconds - TOLERANCE


def parse_events(world: World, ledger: Ledger) -> tuple[dict[int, list[Event]], list[str]]:
    """Harness orders' events on Kafka, per order, in offset order per partition; and the
    records that are neither valid events nor harness poison."""
    poison = {(p["partition"], p["offset"]) for p in ledger.poison}
    per_order: dict[int, list[Event]] = defaultdict(list)
    strange = []
    for rec in world.kafka_orders:
        if (rec.partition, rec.offset) in poison:
            continue
        try:
            raw = json.loads(rec.value)
            order_id = raw["order_id"]
            data = raw.get("data") or {}
            event = Event(
                str(raw["event_id"]), raw["type"], order_id, raw["restaurant_id"],
                data.get("version"), (data.get("order") or {}).get("status"),
                rec.partition, rec.offset, rec.key.decode() if rec.key else None,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            strange.append(f"orders[{rec.partition}]@{rec.offset}: unreadable ({exc!r})")
            continue
        if order_id in world.orders:
            per_order[order_id].append(event)
    return per_order, strange


# ---------------------------------------------------------------------------- checks


def check_orders_exist(world: World, ledger: Ledger) -> Check:
    c = Check("accepted orders exist", "every order answered 202 is in PostgreSQL as placed")
    for a in ledger.accepted():
        c.checked += 1
        o = world.orders.get(a.order_id)
        if o is None:
            c.fail(f"order {a.order_id} (key {a.key}) answered 202 but is not in orders")
            continue
        want = sorted((li["menu_item_id"], li["quantity"]) for li in a.body["items"])
        got = sorted((li["menu_item_id"], li["quantity"]) for li in world.items[a.order_id])
        if (o["customer_id"], o["restaurant_id"], o["payment_token"]) != (
            a.customer_id, a.restaurant_id, a.token,
        ) or want != got:  # fmt: skip
            c.fail(f"order {a.order_id} differs from what was placed (key {a.key})")
    return c


def check_no_phantoms(world: World, ledger: Ledger) -> Check:
    c = Check("no phantom orders", "no order the API refused or never confirmed exists")
    known = set(ledger.by_order)
    for oid in world.orders:
        c.checked += 1
        if oid not in known:
            keys = [k for k, v in world.idem.items() if v == oid]
            c.fail(f"order {oid} exists but was never answered 202 (keys {keys})")
    for a in ledger.attempts.values():
        if a.outcome != ACCEPTED:
            c.checked += 1
            if a.key in world.idem:
                c.fail(f"key {a.key} answered {a.status_code} but made order {world.idem[a.key]}")
    return c


def check_answers(world: World, ledger: Ledger) -> Check:
    c = Check(
        "every attempt answered",
        "each order POST ends with a known answer (202 or 503), none with another 4xx",
    )
    for a in ledger.attempts.values():
        c.checked += 1
        if a.outcome == UNRESOLVED:
            c.fail(f"key {a.key}: no answer after {a.tries} tries")
        elif a.outcome not in (ACCEPTED, REFUSED):
            c.fail(f"key {a.key}: answered {a.status_code} to a valid order")
    return c


def check_lifecycle(world: World, ledger: Ledger) -> Check:
    c = Check("timeline follows the lifecycle", "every status move is in the contract's table")
    for oid, o in world.orders.items():
        c.checked += 1
        rows = world.timeline.get(oid, [])
        path = moves(rows)
        if not path or path[0][1] != "PLACED":
            c.fail(f"order {oid}: timeline does not start with PLACED: {[m[1] for m in path]}")
            continue
        for i, (src, dst, _) in enumerate(path[1:], start=1):
            if (src, dst) not in ALLOWED:
                c.fail(f"order {oid}: move {src} -> {dst} is not allowed")
            elif i == len(path) - 1 and o["reason"] not in ALLOWED[(src, dst)]:
                c.fail(f"order {oid}: {src} -> {dst} with reason {o['reason']!r}")
        if path[-1][1] != o["status"]:
            c.fail(f"order {oid}: status {o['status']} but timeline ends {path[-1][1]}")
    return c


def check_consistent(world: World, ledger: Ledger) -> Check:
    c = Check(
        "status consistent with actions",
        "final status follows from what customers and restaurants did and were answered",
    )
    for a in ledger.accepted():
        o = world.orders.get(a.order_id)
        if o is None:
            continue
        c.checked += 1
        oid, status, reason = a.order_id, o["status"], o["reason"]
        done = {x.kind for x in a.actions if x.done}
        maybe = done | {x.kind for x in a.actions if x.unknown}
        why = []
        if status == "CANCELLED" and reason == "customer_cancelled" and "cancel" not in maybe:
            why.append("cancelled by the customer, who never had a cancel accepted")
        if status == "REJECTED" and reason == "restaurant_rejected" and "reject" not in maybe:
            why.append("rejected by the restaurant, which never had a reject accepted")
        if status in KITCHEN and "accept" not in maybe:
            why.append("confirmed without an accepted accept")
        if "cancel" in done and (status, reason) != ("CANCELLED", "customer_cancelled"):
            why.append("cancel answered 202")
        if "reject" in done and (status, reason) != ("REJECTED", "restaurant_rejected"):
            why.append("reject answered 202")
        if "accept" in done and status not in KITCHEN:
            why.append("accept answered 202")
        if status in KITCHEN:
            low = max([KITCHEN.index(k) for k in done if k in KITCHEN[1:]] + [0])
            high = max([KITCHEN.index(k) for k in maybe if k in KITCHEN[1:]] + [0])
            if not low <= KITCHEN.index(status) <= high:
                why.append(f"kitchen steps answered 202 reach {KITCHEN[low]}")
        if status == "REJECTED" and reason == "invalid_order" and "foreign_item" not in a.flags:
            why.append("invalid_order without a foreign item")
        if status == "REJECTED" and reason == "unavailable" and "unavailable_item" not in a.flags:
            why.append("unavailable without an unavailable item")
        if status == "REJECTED" and reason == "out_of_stock" and "small_stock" not in a.flags:
            why.append("out_of_stock on items with plenty of stock")
        if status == "REJECTED" and reason == "payment_declined" and a.token != "tok_decline":
            why.append(f"payment_declined with card {a.token}")
        if a.flags & {"foreign_item", "unavailable_item"} and status not in DEAD:
            why.append(f"{sorted(a.flags)} should have been rejected")
        reached = {m[1] for m in moves(world.timeline.get(oid, []))}
        if a.token == "tok_decline" and "AWAITING_ACCEPTANCE" in reached:
            why.append("a declined card reached AWAITING_ACCEPTANCE")
        if why:
            acts = ", ".join(f"{x.kind}={x.outcome}" for x in a.actions) or "none"
            c.fail(f"order {oid} is {status}/{reason}: {'; '.join(why)} (actions: {acts})")
    return c


def check_action_answers(world: World, ledger: Ledger) -> Check:
    c = Check(
        "answers match the order's state",
        "each 202 shows as that move in the timeline; each 409 was refused in a state that refuses",
    )
    for a in ledger.accepted():
        rows = world.timeline.get(a.order_id, [])
        for x in a.actions:
            if x.outcome not in ("202", "409", "404", "400", "403"):
                continue
            c.checked += 1
            target = ACTION_TARGET.get(x.kind, x.kind)
            if x.outcome == "202":
                hit = [
                    r for r in rows
                    if r["status"] == target
                    and x.sent - TOLERANCE <= epoch(r["at"]) <= x.received + TOLERANCE
                ]  # fmt: skip
                if not hit:
                    c.fail(f"order {a.order_id}: {x.kind} answered 202 but no move to {target}"
                           f" between {x.sent:.3f} and {x.received:.3f}")  # fmt: skip
            elif x.outcome == "409":
                seen = statuses_during(rows, x.sent, x.received)
                if not any(refused_in(x.kind, s) for s in seen) and not past_acceptance_deadline(
                    rows, ledger.restaurants.get(a.restaurant_id, {}), x.received
                ):
                    c.fail(f"order {a.order_id}: {x.kind} answered 409 while {sorted(seen)}")
            else:
                c.fail(f"order {a.order_id}: {x.kind} answered {x.outcome}")
    return c


def check_deadlines(world: World, ledger: Ledger, grace: float) -> Check:
    c = Check(
        "no order past its pipeline deadline",
        "none PLACED or AWAITING_ACCEPTANCE past its deadline; no acceptance timeout early",
    )
    lateness, pipeline = [], []
    for oid, o in world.orders.items():
        c.checked += 1
        deadline = epoch(o["deadline_at"])
        if o["status"] == "PLACED":
            c.fail(f"order {oid} still PLACED (deadline {o['deadline_at']})")
        if o["status"] == "AWAITING_ACCEPTANCE" and deadline and deadline < world.now - grace:
            c.fail(f"order {oid} AWAITING_ACCEPTANCE {world.now - deadline:.0f}s past deadline")
        path = moves(world.timeline.get(oid, []))
        if len(path) > 1:
            pipeline.append(path[1][2] - path[0][2])
        awaiting = [m[2] for m in path if m[1] == "AWAITING_ACCEPTANCE"]
        if o["status"] == "CANCELLED" and o["reason"] == "acceptance_timeout":
            seconds = ledger.restaurants.get(o["restaurant_id"], {}).get("acceptance_seconds")
            if awaiting and seconds:
                late = path[-1][2] - (awaiting[0] + seconds)
                lateness.append(late)
                if late < -TOLERANCE:
                    c.fail(f"order {oid} timed out {-late:.1f}s before its acceptance deadline")
    pipeline.sort()
    if pipeline:
        c.figures["placed_to_next_p50_s"] = round(pipeline[len(pipeline) // 2], 2)
        c.figures["placed_to_next_p99_s"] = round(pipeline[int(len(pipeline) * 0.99)], 2)
        c.figures["placed_to_next_max_s"] = round(pipeline[-1], 2)
    if lateness:
        c.figures["acceptance_timeouts"] = len(lateness)
        c.figures["timeout_lateness_max_s"] = round(max(lateness), 2)
    return c


def check_payments(world: World, ledger: Ledger) -> list[Check]:
    once = Check("at most one capture per order", "gateway: <= 1 authorization, <= 1 capture")
    dead_cap = Check("no capture on a dead order", "rejected/cancelled: never captured")
    voided = Check(
        "dead orders' authorizations voided", "rejected/cancelled: charge voided or declined"
    )
    captured = Check(
        "confirmed orders captured once", "confirmed or later: captured exactly once, for the total"
    )
    for oid, o in world.orders.items():
        charge, pay = world.charges.get(oid), world.payments.get(oid)
        if charge:
            once.checked += 1
            if charge["captures"] > 1 or charge["authorizations"] > 1:
                once.fail(f"order {oid}: {charge['authorizations']} authorizations,"
                          f" {charge['captures']} captures")  # fmt: skip
            if o["payment_token"] == "tok_decline" and charge["authorizations"]:
                once.fail(f"order {oid}: a declined card was authorized")
        if o["status"] in DEAD:
            dead_cap.checked += 1
            voided.checked += 1
            money = (
                f"order {oid} {o['status']}/{o['reason']}: charge {charge and charge['status']}"
                f" (captures {charge and charge['captures']}), payment {pay and pay['status']}"
            )
            if (
                charge and (charge["captures"] or charge["status"] in ("captured", "refunded"))
            ) or (pay and pay["status"] == "CAPTURED"):
                dead_cap.fail(money)
            if (charge and charge["status"] not in ("voided", "declined", "refunded")) or (
                pay and pay["status"] not in ("VOIDED", "DECLINED")
            ):
                voided.fail(money)
        elif o["status"] in KITCHEN:
            captured.checked += 1
            if not (
                charge and pay and charge["status"] == "captured" and charge["captures"] == 1
                and pay["status"] == "CAPTURED"
                and pay["amount_cents"] == charge["amount_cents"] == o["total_cents"]
            ):  # fmt: skip
                captured.fail(f"order {oid} {o['status']}: charge {charge}, payment {pay},"
                              f" total {o['total_cents']}")  # fmt: skip
    return [once, dead_cap, voided, captured]


def check_stock(world: World, ledger: Ledger) -> list[Check]:
    conserved = Check("stock conserved", "initial = available + reserved by live orders + sold")
    claims = Check(
        "stock claims match status",
        "reserved only while live, sold only once confirmed, released when dead",
    )
    reserved, sold = Counter(), Counter()
    for oid, o in world.orders.items():
        claims.checked += 1
        states = {li["stock_state"] for li in world.items[oid]}
        for li in world.items[oid]:
            if li["stock_state"] == "reserved" and o["status"] in LIVE:
                reserved[li["menu_item_id"]] += li["quantity"]
            elif li["stock_state"] == "sold":
                sold[li["menu_item_id"]] += li["quantity"]
        status = o["status"]
        if status in KITCHEN and states != {"sold"}:
            claims.fail(f"order {oid} {status} has lines {sorted(states)}")
        if status in DEAD and states & {"reserved", "sold"}:
            claims.fail(f"order {oid} {status}/{o['reason']} still holds {sorted(states)}")
        if status == "AWAITING_ACCEPTANCE" and states != {"reserved"}:
            claims.fail(f"order {oid} {status} has lines {sorted(states)}")
    for item_id, meta in sorted(ledger.items.items()):
        conserved.checked += 1
        now = world.menu.get(item_id)
        total = (now or 0) + reserved[item_id] + sold[item_id]
        if now is None or total != meta["initial"]:
            conserved.fail(f"item {item_id}: initial {meta['initial']} != available {now}"
                           f" + reserved by live orders {reserved[item_id]} + sold {sold[item_id]}"
                           f" (leaked: {meta['initial'] - total})")  # fmt: skip
    conserved.figures["units_sold"] = sum(sold.values())
    return [conserved, claims]


def check_events(world: World, ledger: Ledger) -> list[Check]:
    per_order, strange = parse_events(world, ledger)
    one = Check(
        "one event per state change",
        "each status change has exactly one order.* event on Kafka (by event_id), payments too",
    )
    published = Check("outbox = Kafka", "every outbox row published, none on Kafka without one")
    ordered = Check(
        "events in order per restaurant partition",
        "an order's events on its restaurant's partition, keyed by it, versions increasing",
    )
    duplicates = 0
    for row in world.outbox.values():
        published.checked += 1
        if row["published_at"] is None:
            published.fail(f"outbox event {row['event_id']} ({row['payload']['type']},"
                           f" order {row['payload']['order_id']}) never published")  # fmt: skip
    on_kafka = {e.event_id for events in per_order.values() for e in events}
    for missing in sorted(set(world.outbox) - on_kafka):
        p = world.outbox[missing]["payload"]
        published.fail(f"event {missing} ({p['type']}, order {p['order_id']}) is not on Kafka")
    for phantom in sorted(on_kafka - set(world.outbox)):
        published.fail(f"event {phantom} is on Kafka but in no outbox row")
    published.checked += len(on_kafka)
    for message in strange:
        published.fail(message)
    partition_of: dict[int, set[int]] = defaultdict(set)
    for oid in world.orders:
        one.checked += 1
        events = per_order.get(oid, [])
        first: dict[str, Event] = {}
        for e in events:  # already in offset order within the partition
            if e.event_id in first:
                duplicates += 1
            else:
                first[e.event_id] = e
        unique = sorted(first.values(), key=lambda e: (e.version is None, e.version or 0))
        rows = world.timeline.get(oid, [])
        want = [STATUS_EVENT[m[1]] for m in moves(rows)]
        got = [e.type for e in unique if e.type.startswith("order.")]
        if want != got:
            one.fail(f"order {oid}: status changes {want} but order events on Kafka {got}")
        notes = Counter(r["event"] for r in rows)
        kinds = Counter(e.type for e in unique)
        for note, etype in (
            ("payment_authorized", "payment.authorized"),
            ("payment_captured", "payment.captured"),
            ("payment_declined", "payment.declined"),
        ):
            if notes[note] != kinds[etype]:
                one.fail(f"order {oid}: {notes[note]} {note} in timeline, {kinds[etype]} {etype}")
        if kinds["payment.voided"] > notes["payment_voided"]:
            one.fail(f"order {oid}: {kinds['payment.voided']} payment.voided events but"
                     f" {notes['payment_voided']} voids")  # fmt: skip
        ordered.checked += 1
        o = world.orders[oid]
        parts = {e.partition for e in events}
        partition_of[o["restaurant_id"]] |= parts
        if len(parts) > 1:
            ordered.fail(f"order {oid}: events on partitions {sorted(parts)}")
        if any(e.key != str(o["restaurant_id"]) for e in events):
            ordered.fail(f"order {oid}: an event keyed other than {o['restaurant_id']}")
        by_offset = sorted(first.values(), key=lambda e: (e.partition, e.offset))
        versions = [e.version for e in by_offset]
        if any(v is None for v in versions) or versions != sorted(set(versions)):
            ordered.fail(f"order {oid}: versions in offset order {versions}")
        for e in unique:
            if e.type in SNAPSHOT and e.snapshot_status != SNAPSHOT[e.type]:
                ordered.fail(f"order {oid}: {e.type} carries a snapshot {e.snapshot_status}")
    for rid, parts in partition_of.items():
        if len(parts) > 1:
            ordered.fail(f"restaurant {rid}: events on partitions {sorted(parts)}")
    one.figures["events"] = len(on_kafka)
    one.figures["duplicate_deliveries"] = duplicates
    return [one, published, ordered]


def check_read_models(world: World, ledger: Ledger) -> Check:
    c = Check(
        "consumers applied every event",
        "every event in the restaurant feed and the admin projection; projection status = status",
    )
    for event_id, row in world.outbox.items():
        c.checked += 1
        where = [n for n, s in (("feed", world.feed), ("projection", world.projected))
                 if event_id not in s]  # fmt: skip
        if where:
            p = row["payload"]
            c.fail(f"event {event_id} ({p['type']}, order {p['order_id']}) missing from"
                   f" {' and '.join(where)}")  # fmt: skip
    for oid, o in world.orders.items():
        c.checked += 1
        if world.proj_orders.get(oid) != o["status"]:
            c.fail(f"order {oid}: {o['status']} but admin projection says"
                   f" {world.proj_orders.get(oid)}")  # fmt: skip
    return c


def check_kept_counts(world: World, ledger: Ledger) -> Check:  # noqa: ARG001
    """The counts the exporter reads equal counting the tables, through every fault."""
    c = Check(
        "kept counts equal the tables",
        "proj_status_counts = proj_orders by status; feed_backlog = unacknowledged feed rows",
    )
    kept, counted = world.counts_kept, world.counts_counted
    for key in sorted(set(kept) | set(counted), key=str):
        c.checked += 1
        if kept.get(key, 0) != counted.get(key, 0):
            c.fail(f"{key[0]} {key[1]}: kept {kept.get(key, 0)}, counted {counted.get(key, 0)}")
    return c


def check_dlq(world: World, ledger: Ledger) -> Check:
    c = Check(
        "DLQ holds only the injected poison",
        "each poison dead-lettered by each of the 3 groups with error and origin; nothing else",
    )
    injected = {(str(p["partition"]), str(p["offset"])): p for p in ledger.poison}
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in world.kafka_dlq:
        c.checked += 1
        h = rec.headers
        origin = (h.get("origin_partition", "?"), h.get("origin_offset", "?"))
        if h.get("origin_topic") != ORDERS or origin not in injected:
            what = (rec.value or b"")[:160].decode(errors="replace")
            c.fail(f"dlq[{rec.partition}]@{rec.offset} from {h.get('origin_topic')}"
                   f"[{origin[0]}]@{origin[1]} by {h.get('consumer_group')}:"
                   f" {h.get('error', '')[:160]} | {what}")  # fmt: skip
            continue
        if not h.get("error"):
            c.fail(f"dlq[{rec.partition}]@{rec.offset}: no error header")
        groups[origin].add(h.get("consumer_group", ""))
    for origin, p in injected.items():
        c.checked += 1
        if groups[origin] != set(GROUPS):
            c.fail(f"poison {p['kind']} at orders[{origin[0]}]@{origin[1]} dead-lettered by"
                   f" {sorted(groups[origin])}, not by all of {list(GROUPS)}")  # fmt: skip
    c.figures["dlq_entries"] = len(world.kafka_dlq)
    c.figures["poison_injected"] = len(injected)
    return c


def check_api(problems: Problems) -> Check:
    c = Check("API: no 500, no hang", "503 always with Retry-After; no 5xx else; no reply > 15s")
    c.checked = problems.calls
    for item in problems.items:
        c.fail(item)
    c.figures["answered_503"] = problems.refused_503
    c.figures["no_answer"] = problems.unanswered
    return c


def check_faults(faults: list[Fault], limit: float) -> Check:
    c = Check("faults recovered", f"the stack recovers from every fault within {limit:.0f}s")
    for f in faults:
        c.checked += 1
        if not f.ok or f.recovered is None:
            c.fail(f"{f.kind} {f.detail}")
    return c


def run_all(
    world: World,
    ledger: Ledger,
    problems: Problems,
    faults: list[Fault],
    recovery_limit: float,
    grace: float = 10.0,
) -> list[Check]:
    checks = [
        check_answers(world, ledger),
        check_orders_exist(world, ledger),
        check_no_phantoms(world, ledger),
        check_lifecycle(world, ledger),
        check_consistent(world, ledger),
        check_action_answers(world, ledger),
        check_deadlines(world, ledger, grace),
        *check_payments(world, ledger),
        *check_stock(world, ledger),
        *check_events(world, ledger),
        check_read_models(world, ledger),
        check_kept_counts(world, ledger),
        check_dlq(world, ledger),
        check_api(problems),
        check_faults(faults, recovery_limit),
    ]
    return checks


def attempt_summary(attempts: list[Attempt]) -> Counter:
    return Counter(a.outcome for a in attempts)


__all__ = ["Check", "Kafka", "World", "load", "run_all"]
