"""Kafka fetch settings per consumer group (events.consumers.base): the pipeline gets each
event at once, the feed and the projector get batches (docs/perf-events.md)."""

from __future__ import annotations

import pytest

from app.core.settings import Settings
from events.consumers import base

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(monkeypatch):
    current = Settings(kafka_idle_fetch_wait_ms=5000, batch_fetch_min_bytes=65536)
    monkeypatch.setattr(base, "get_settings", lambda: current)
    return current


def test_the_critical_path_fetch_returns_on_the_first_byte(settings):
    # min bytes 1: the broker answers as soon as one record is there, whatever the wait.
    assert base.at_once_fetch() == {"fetch_min_bytes": 1, "fetch_max_wait_ms": 5000}


def test_a_batched_fetch_waits_for_bytes_or_its_own_wait(settings):
    assert base.batched_fetch(750) == {"fetch_min_bytes": 65536, "fetch_max_wait_ms": 750}


def test_the_defaults_keep_the_pipeline_at_once_and_batch_the_others():
    s = Settings()
    assert s.kafka_idle_fetch_wait_ms > 0 and s.relay_poll_ms > 0
    # Each wait stays under kafka-python's request timeout (30 s), which it must.
    for wait in (s.kafka_idle_fetch_wait_ms, s.feed_fetch_wait_ms, s.projector_fetch_wait_ms):
        assert 0 < wait < 30_000
    assert s.batch_fetch_min_bytes > 1
