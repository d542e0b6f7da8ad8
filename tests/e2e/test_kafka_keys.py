"""The ``orders`` topic: keyed by restaurant, one partition per restaurant, lifecycle order kept,
the documented envelope, and each event once (after deduplication by ``event_id``)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import defaultdict

import pytest

from tests.conftest import wait_until
from tests.support.client import expect

pytestmark = pytest.mark.e2e

TOPIC = "orders"
ENVELOPE = {"event_id", "type", "occurred_at", "order_id", "restaurant_id", "customer_id", "data"}
TYPES = {
    "order.placed",
    "order.awaiting_acceptance",
    "order.accepted",
    "order.rejected",
    "order.cancelled",
    "order.status_changed",
    "payment.authorized",
    "payment.captured",
    "payment.voided",
    "payment.declined",
}
PIPELINE_DONE = {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"}


@pytest.fixture
def orders_consumer(kafka_bootstrap_servers, wait):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap_servers.split(","),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
        client_id=f"e2e-{uuid.uuid4().hex[:8]}",
    )
    partitions = wait(
        lambda: consumer.partitions_for_topic(TOPIC), timeout=30, message="topic orders"
    )
    tps = [TopicPartition(TOPIC, p) for p in sorted(partitions)]
    consumer.assign(tps)
    start = consumer.end_offsets(tps)  # only what is published from now on
    for tp in tps:
        consumer.seek(tp, start[tp])
    yield consumer
    consumer.close()


def _expected_types(flows: dict[int, str]) -> dict[int, set[str]]:
    base = {"order.placed", "payment.authorized", "order.awaiting_acceptance"}
    return {
        oid: {
            "accepted": base | {"order.accepted", "payment.captured", "order.status_changed"},
            "rejected": base | {"order.rejected", "payment.voided"},
            "cancelled": base | {"order.cancelled", "payment.voided"},
            "declined": {"order.placed", "payment.declined", "order.rejected"},
        }[flow]
        for oid, flow in flows.items()
    }


def test_orders_topic_keys_partition_and_order(orders_consumer, make_restaurant, make_customer):
    rest = make_restaurant()
    customer = make_customer()
    item = rest.item_id(0)

    placed = {
        "accepted": customer.place(rest.id, [(item, 1)]),
        "rejected": customer.place(rest.id, [(item, 1)]),
        "cancelled": customer.place(rest.id, [(item, 1)]),
        "declined": customer.place(rest.id, [(item, 1)], payment_token="tok_decline"),
    }
    ids = {flow: order["id"] for flow, order in placed.items()}
    for oid in ids.values():
        customer.wait_for_status(oid, PIPELINE_DONE)

    expect(rest.accept(ids["accepted"]), 202)
    customer.wait_for_status(ids["accepted"], "CONFIRMED")
    expect(rest.set_status(ids["accepted"], "PREPARING"), 202)
    expect(rest.reject(ids["rejected"], reason="no more gas"), 202)
    expect(customer.post(f"orders/{ids['cancelled']}/cancel", json={}), 202)
    customer.wait_for_status(ids["accepted"], "PREPARING")
    customer.wait_for_status(ids["rejected"], "REJECTED")
    customer.wait_for_status(ids["cancelled"], "CANCELLED")

    flows = {oid: flow for flow, oid in ids.items()}
    expected = _expected_types(flows)

    # read until every expected event of R has been seen
    records = []  # (partition, offset, key, envelope)
    seen_types: dict[int, set[str]] = defaultdict(set)

    def read_until_all_seen() -> bool:
        batch = orders_consumer.poll(timeout_ms=500, max_records=500)
        for tp, messages in batch.items():
            for msg in messages:
                try:
                    envelope = json.loads(msg.value)
                except (TypeError, ValueError):
                    continue
                if not isinstance(envelope, dict) or envelope.get("restaurant_id") != rest.id:
                    continue
                records.append((tp.partition, msg.offset, msg.key, envelope))
                seen_types[envelope.get("order_id")].add(envelope.get("type"))
        return all(expected[oid] <= seen_types[oid] for oid in expected)

    with contextlib.suppress(AssertionError):  # what is missing is reported just below
        wait_until(read_until_all_seen, timeout=45, interval=0, message="every expected event")
    missing = {
        flows[oid]: sorted(expected[oid] - seen_types[oid])
        for oid in expected
        if expected[oid] - seen_types[oid]
    }
    assert not missing, f"events never seen on {TOPIC!r}: {missing}"

    # key = restaurant id as a decimal string; one partition for the restaurant
    keys = {key for _, _, key, _ in records}
    assert keys == {str(rest.id).encode()}, keys
    partitions = {p for p, _, _, _ in records}
    assert len(partitions) == 1, partitions

    # the envelope
    unique: dict[str, tuple[int, dict]] = {}
    for _, offset, _, envelope in sorted(records, key=lambda r: r[1]):
        assert set(envelope) >= ENVELOPE, envelope
        uuid.UUID(str(envelope["event_id"]))
        assert envelope["type"] in TYPES, envelope["type"]
        assert envelope["order_id"] in flows, envelope
        assert envelope["customer_id"] == customer.user["id"], envelope
        assert isinstance(envelope["data"], dict), envelope
        assert isinstance(envelope["occurred_at"], str) and envelope["occurred_at"]
        if envelope["event_id"] in unique:
            # a redelivery must be the same event
            assert unique[envelope["event_id"]][1] == envelope
            continue
        unique[envelope["event_id"]] = (offset, envelope)

    by_order: dict[int, list[str]] = defaultdict(list)
    for _, envelope in sorted(unique.values(), key=lambda pair: pair[0]):
        by_order[envelope["order_id"]].append(envelope["type"])

    for oid, types in by_order.items():
        flow = flows[oid]
        assert types.count("order.placed") == 1, (flow, types)
        assert types[0] == "order.placed", (flow, types)
        for single in (
            "order.awaiting_acceptance",
            "payment.authorized",
            "payment.captured",
            "payment.voided",
            "order.accepted",
            "order.rejected",
            "order.cancelled",
        ):
            assert types.count(single) <= 1, (flow, single, types)

        def before(a, b, types=types, flow=flow):
            assert a in types and b in types, (flow, a, b, types)
            assert types.index(a) < types.index(b), (flow, f"{a} before {b}", types)

        if flow != "declined":
            before("payment.authorized", "order.awaiting_acceptance")
        if flow == "accepted":
            before("order.awaiting_acceptance", "order.accepted")
            before("order.accepted", "payment.captured")
            before("order.accepted", "order.status_changed")
        elif flow == "rejected":
            before("order.awaiting_acceptance", "order.rejected")
            before("order.rejected", "payment.voided")
        elif flow == "cancelled":
            before("order.awaiting_acceptance", "order.cancelled")
            before("order.cancelled", "payment.voided")
        else:
            before("payment.declined", "order.rejected")
            assert "order.awaiting_acceptance" not in types, types

    # occurred_at never goes backwards within one order
    for oid in flows:
        times = [
            env["occurred_at"]
            for _, env in sorted(unique.values(), key=lambda pair: pair[0])
            if env["order_id"] == oid
        ]
        assert times == sorted(times), (flows[oid], times)


def test_outbox_rows_match_the_topic_key(db_engine, make_restaurant, make_customer, wait):
    """Every outbox row for a fresh restaurant carries its id as key and gets published."""
    import sqlalchemy as sa

    rest = make_restaurant()
    customer = make_customer()
    order = customer.place(rest.id, [(rest.item_id(0), 1)])
    customer.wait_for_status(order["id"], PIPELINE_DONE)

    def published():
        with db_engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.text(
                        "select key, payload, published_at from outbox "
                        "where (payload->>'order_id')::int = :oid"
                    ),
                    {"oid": order["id"]},
                )
                .mappings()
                .all()
            )
        return rows if rows and all(r["published_at"] is not None for r in rows) else None

    rows = wait(published, timeout=30, message="outbox rows published")
    assert {r["key"] for r in rows} == {str(rest.id)}
    assert "order.placed" in {r["payload"]["type"] for r in rows}
