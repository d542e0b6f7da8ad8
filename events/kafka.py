"""Kafka clients built from the settings. Nothing connects until a function is called."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from app.core.settings import get_settings


def make_producer(**overrides) -> KafkaProducer:
    """acks=all with idempotence: a retried send is written once per partition."""
    config = dict(
        bootstrap_servers=get_settings().kafka_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
        reconnect_backoff_max_ms=5000,
        client_id="comanda-producer",
    )
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(group_id: str | None, *topics: str, **overrides) -> KafkaConsumer:
    """Manual commits only: an offset is committed after the work it stands for is done."""
    config = dict(
        bootstrap_servers=get_settings().kafka_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=200,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        reconnect_backoff_max_ms=5000,
        client_id=f"comanda-{group_id or 'reader'}",
    )
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def make_admin(**overrides) -> KafkaAdminClient:
    config = dict(
        bootstrap_servers=get_settings().kafka_servers,
        request_timeout_ms=10000,
        client_id="comanda-admin",
    )
    config.update(overrides)
    return KafkaAdminClient(**config)
