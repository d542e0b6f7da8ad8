"""A topic's partitions with each consumer group's committed offset and lag, read with
Kafka's admin API (the same numbers `kafka-consumer-groups.sh --describe` prints).

``lag_table`` is pure (tested in tests/unit); ``read_lag`` does the I/O. One admin client is
kept per process: opening one costs a metadata round trip, and the console asks every second.
"""

from __future__ import annotations

import contextlib
import threading

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient

from app.core.settings import get_settings

try:  # kafka-python 3.x
    from kafka.protocol.consumer.offsets import OffsetSpec

    LATEST = OffsetSpec.LATEST
except ImportError:  # pragma: no cover - older layouts
    LATEST = -1

_lock = threading.Lock()
_admin: KafkaAdminClient | None = None


def lag_table(
    topic: str, ends: dict[int, int], committed: dict[str, dict[int, int | None]]
) -> dict:
    """ends: partition -> log end offset; committed: group -> partition -> offset (None when
    the group never committed there; its lag then counts every message)."""
    partitions = sorted(ends)
    groups = []
    for group in sorted(committed):
        rows = []
        for p in partitions:
            offset = committed[group].get(p)
            lag = ends[p] - (offset if offset is not None and offset >= 0 else 0)
            rows.append({"partition": p, "committed": offset, "lag": max(lag, 0)})
        groups.append({"group": group, "lag": sum(r["lag"] for r in rows), "partitions": rows})
    return {
        "topic": topic,
        "partitions": [{"partition": p, "end_offset": ends[p]} for p in partitions],
        "groups": groups,
    }


def _client() -> KafkaAdminClient:
    global _admin
    if _admin is None:
        _admin = KafkaAdminClient(
            bootstrap_servers=get_settings().kafka_servers,
            request_timeout_ms=3000,
            bootstrap_timeout_ms=3000,
            client_id="comanda-console",
        )
    return _admin


def _drop() -> None:
    global _admin
    if _admin is not None:
        with contextlib.suppress(Exception):  # a broken client is being thrown away anyway
            _admin.close()
    _admin = None


def _group_ids(admin: KafkaAdminClient) -> list[str]:
    found = []
    for group in admin.list_groups():
        gid = group.get("group_id") if isinstance(group, dict) else group[0]
        if gid:
            found.append(gid)
    return found


def read_lag(topic: str) -> dict:
    """Raises when Kafka cannot be reached (the caller reports Kafka as down)."""
    with _lock:
        try:
            admin = _client()
            meta = admin.describe_topics([topic])
            parts = sorted(p["partition_index"] for p in meta[0]["partitions"])
            tps = [TopicPartition(topic, p) for p in parts]
            ends_raw = admin.list_partition_offsets({tp: LATEST for tp in tps})
            ends = {tp.partition: int(v.offset) for tp, v in ends_raw.items()}
            groups = _group_ids(admin)
            offsets = admin.list_group_offsets({g: None for g in groups}) if groups else {}
        except Exception:
            _drop()  # the next call starts from a fresh connection
            raise
    # Groups that committed on other topics only are not this topic's consumers; a group
    # that has committed nothing yet may be (a new one starting from the beginning).
    committed = {
        g: {tp.partition: om.offset for tp, om in by_tp.items() if tp.topic == topic}
        for g, by_tp in offsets.items()
        if not by_tp or any(tp.topic == topic for tp in by_tp)
    }
    return lag_table(topic, ends, committed)
