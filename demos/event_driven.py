"""event-driven: the `orders` topic is the system's memory (retention -1). A consumer group
nobody has seen before starts at the beginning, replays every event and builds its own view,
here orders by status, while the API, the database writers and the other groups carry on
untouched. Its view matches the admin projection the live projector built."""

from __future__ import annotations

import time
import uuid
from collections import Counter

from kafka import TopicPartition

from app.core.envelope import Envelope, PoisonMessage
from app.core.settings import get_settings
from demos import charts, people
from demos.context import Context
from demos.outcome import Outcome, Table
from events.kafka import make_admin, make_consumer

NOTICE = [
    "The new group starts with no committed offset: its lag is the whole topic. After the"
    " replay its offsets sit at the end, exactly like the three groups the stack runs.",
    "It rebuilt 'orders by status' from events alone - no API call, no read of the orders"
    " table - and the result matches the admin projection the live projector keeps.",
    "A new feature (a report, a search index, a fraud check) can be added later and still see"
    " the whole past: the producers do not know or care that it exists.",
    "Each partition is replayed in order; events of one restaurant share a partition"
    " (the key), so per-restaurant order is kept.",
]
MIN_EVENTS = 30


def run(ctx: Context, short: bool = False) -> Outcome:
    topic = get_settings().orders_topic
    _ensure_history(ctx, 6 if short else 15)
    group = f"comanda-demo-view-{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(group)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    start = consumer.beginning_offsets(parts)
    end = consumer.end_offsets(parts)
    before = {tp: consumer.committed(tp) for tp in parts}
    consumer.subscribe([topic])

    by_type: Counter[str] = Counter()
    latest: dict[int, tuple[int, str]] = {}  # order id -> (version, status)
    t0 = time.monotonic()
    seen = 0
    while time.monotonic() - t0 < 120:
        for tp, messages in consumer.poll(timeout_ms=1000).items():
            for message in messages:
                if message.offset < end[tp]:
                    seen += 1
                    _apply(message.value, by_type, latest)
        assigned = consumer.assignment()
        if not assigned:
            continue  # still joining the group
        consumer.commit()
        if len(assigned) == len(parts) and all(consumer.position(tp) >= end[tp] for tp in parts):
            break
    took = time.monotonic() - t0
    after = {tp: consumer.committed(tp) for tp in parts}
    consumer.close()
    forgotten = _forget(group)

    offsets = Table(("partition", "events", "committed before", "lag before",
                     "committed after", "lag after"))  # fmt: skip
    lags: list[tuple[int, int, int]] = []
    for tp in parts:
        lag_before = end[tp] - (before[tp] if before[tp] is not None else start[tp])
        lag_after = end[tp] - (after[tp] if after[tp] is not None else start[tp])
        lags.append((tp.partition, lag_before, lag_after))
        offsets.add(tp.partition, end[tp] - start[tp], _offset(before[tp]), lag_before,
                    _offset(after[tp]), lag_after)  # fmt: skip
    rebuilt = Counter(status for _, status in latest.values())
    projected = _counts(ctx, "select status, count(*) as n from proj_orders group by status")
    view = Table(("status", "rebuilt by the new group", "admin projection (live)", "same"))
    for status in sorted(set(rebuilt) | set(projected)):
        view.add(status, rebuilt.get(status, 0), projected.get(status, 0),
                 "yes" if rebuilt.get(status, 0) == projected.get(status, 0) else "no")  # fmt: skip
    notes = [
        f"group {group} replayed {seen} events of {len(parts)} partitions in {took:.1f}s"
        f" ({', '.join(f'{k} {v}' for k, v in by_type.most_common(4))}, ...); "
        + (
            "the group was deleted afterwards."
            if forgotten
            else "deleting the group failed:"
            " it stays listed, with its lag, until Kafka expires it (offsets.retention.minutes)."
        ),
        "a 'no' row can only come from orders that moved while the demo ran (the projection"
        " reads events newer than the replay's end offsets).",
    ]
    chart = _chart(ctx, lags, rebuilt, projected)
    return Outcome(
        "event-driven: a brand-new consumer group rebuilds a view from the topic",
        offsets, NOTICE, chart, notes=notes,
        more=[("The view it built (orders by status) next to the admin projection:", view)],
    )  # fmt: skip


def _apply(raw: bytes, by_type: Counter, latest: dict[int, tuple[int, str]]) -> None:
    try:
        event = Envelope.from_bytes(raw)
    except PoisonMessage:
        by_type["(unreadable, skipped)"] += 1
        return
    by_type[str(event.type)] += 1
    snapshot, version = event.data.get("order"), event.data.get("version")
    newer = isinstance(version, int) and version > latest.get(event.order_id, (-1, ""))[0]
    if isinstance(snapshot, dict) and newer:
        latest[event.order_id] = (version, snapshot.get("status", "?"))


def _offset(value: int | None) -> object:
    return "none" if value is None else value


def _counts(ctx: Context, sql: str) -> dict[str, int]:
    return {r.status: r.n for r in ctx.rows(sql)}


def _ensure_history(ctx: Context, orders: int) -> None:
    """A fresh stack's topic may be nearly empty: place a few orders first (setup, before the
    replay; the replay itself never calls the API)."""
    total = ctx.scalar("select count(*) from outbox")
    if total and total >= MIN_EVENTS:
        return
    boss = people.admin(ctx)
    shop = people.restaurant(ctx, boss, label="Replay demo")
    buyer = people.customer(ctx)
    ids = [buyer.place(shop.id, [(shop.item_id(), 1)])["id"] for _ in range(orders)]
    for oid in ids:
        buyer.wait_for_status(oid, "AWAITING_ACCEPTANCE", timeout=60)
    for oid in ids[: len(ids) // 2]:
        shop.accept(oid)


def _forget(group: str, attempts: int = 10) -> bool:
    """Delete the demo's group, so it does not linger in the console's lag table. Right after
    close() the coordinator may still count the member that is leaving (the delete is then
    refused as "not empty"): try again for a few seconds."""
    admin = make_admin()
    try:
        for _ in range(attempts):
            try:
                # kafka-python 3: delete_groups answers {group: "OK" or the error's name}
                # (its 2.x name, delete_consumer_groups, is gone).
                if str(admin.delete_groups([group]).get(group)) == "OK":
                    return True
            except Exception:  # noqa: BLE001 - any refusal: wait and try again
                pass
            time.sleep(1.0)
        return False
    finally:
        admin.close()


def _chart(ctx: Context, lags, rebuilt: Counter, projected: dict[str, int]):
    fig, (left, right) = charts.plt.subplots(1, 2, figsize=(14, 6.5), dpi=100)
    xs = [p for p, _, _ in lags]
    left.bar([x - 0.2 for x in xs], [b for _, b, _ in lags], 0.4, color=charts.RED,
             label="before: nothing read yet")  # fmt: skip
    left.bar([x + 0.2 for x in xs], [a for _, _, a in lags], 0.4, color=charts.GREEN,
             label="after the replay")  # fmt: skip
    for x, _, a in lags:
        left.text(x + 0.2, 0, str(a), ha="center", va="bottom", fontsize=14, fontweight="bold",
                  color=charts.GREEN)  # fmt: skip
    left.set_xticks(xs)
    left.set_xlabel("partition of `orders`")
    left.set_ylabel("lag of the new group (events)")
    left.set_title("a brand-new consumer group")
    left.set_ylim(0, max([b for _, b, _ in lags] + [1]) * 1.3)
    left.legend(loc="upper left")
    statuses = sorted(set(rebuilt) | set(projected))
    xs = range(len(statuses))
    a = right.bar([x - 0.2 for x in xs], [rebuilt.get(s, 0) for s in statuses], 0.4,
                  color=charts.BLUE, label="rebuilt from events")  # fmt: skip
    b = right.bar([x + 0.2 for x in xs], [projected.get(s, 0) for s in statuses], 0.4,
                  color=charts.ORANGE, label="admin projection (live)")  # fmt: skip
    charts.label_bars(right, a)
    charts.label_bars(right, b)
    right.set_xticks(list(xs))
    right.set_xticklabels([s.replace("_", "\n") for s in statuses], fontsize=13)
    right.set_ylim(0, max(list(rebuilt.values()) + list(projected.values()) + [1]) * 1.3)
    right.set_ylabel("orders")
    right.set_title("orders by status: same answer")
    right.legend(loc="upper right")
    return charts.save(fig, ctx.chart_path("event-driven"))
