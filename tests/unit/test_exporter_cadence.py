"""The exporter counts whole tables (orders by status, unacknowledged feed rows) at most
every SCAN_SECONDS, not at every 5 s refresh: their cost grows with the data
(monitoring/collector.py, docs/perf-services.md)."""

from __future__ import annotations

import pytest

from monitoring.collector import REFRESH_SECONDS, SCAN_SECONDS, Every

pytestmark = pytest.mark.unit


def test_a_reading_is_due_at_once_then_once_per_period():
    every = Every(30.0)
    assert every.due(100.0)
    every.keep(("by status", 7), 100.0)
    assert not every.due(100.0 + 29.9)
    assert every.value == ("by status", 7)
    assert every.due(130.0)


def test_whole_table_counts_run_on_one_refresh_in_six():
    assert SCAN_SECONDS / REFRESH_SECONDS >= 6
