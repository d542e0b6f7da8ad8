"""`stack trace`: timestamps of every log format, which lines name an order, the merge."""

from __future__ import annotations

from datetime import datetime

import pytest

from stack.trace import correlation_ids_in, matching, merge, names_order, records, timestamp

pytestmark = pytest.mark.unit

APP = "2026-11-29 08:40:01,250 INFO [relay] [abc123def456] comanda.relay: published 1 events"
CELERY = "[2026-11-29 08:40:01,100: INFO/ForkPoolWorker-1] [abc123def456] validate order 42"
ACCESS = (
    '127.0.0.1 [29/Nov/2026:08:40:02 +0000] "POST /api/v1/orders HTTP/1.1" 202 90 5ms [c0ffee12]'
)
JSON = '{"at": "2026-11-29T08:40:00", "level": "INFO", "message": "x"}'


def test_timestamps_of_each_format():
    assert timestamp(APP) == datetime(2026, 11, 29, 8, 40, 1, 250000)
    assert timestamp(CELERY) == datetime(2026, 11, 29, 8, 40, 1, 100000)
    assert timestamp(ACCESS) == datetime(2026, 11, 29, 8, 40, 2)
    assert timestamp(JSON) == datetime(2026, 11, 29, 8, 40, 0)
    assert timestamp("Traceback (most recent call last):") is None


@pytest.mark.parametrize(
    "line",
    [
        "validate order 42",
        "order_id=42 done",
        "GET /api/v1/orders/42 HTTP",
        '"order_id": 42',
        "order #42",
    ],
)
def test_names_order(line):
    assert names_order(line, 42)


@pytest.mark.parametrize("line", ["order 421", "order 142", "42 orders", "orders/4200"])
def test_does_not_name_another_order(line):
    assert not names_order(line, 42)


def test_correlation_ids_come_from_lines_naming_the_order():
    lines = [CELERY, "2026-11-29 08:40:01,300 INFO [comanda-pipeline] [ffff0000aaaa] order 7"]
    assert correlation_ids_in(lines, 42) == {"abc123def456"}


def test_untimed_lines_stay_with_their_record_and_merge_is_in_time_order():
    worker = records("worker", [CELERY, "Traceback (most recent call last):", "  boom"])
    relay = records("relay", [APP])
    api = records("api", [ACCESS])
    ids = {"abc123def456", "c0ffee12"}
    merged = list(merge([matching(r, ids, 42) for r in (api, relay, worker)]))
    assert [label for _, label, _ in merged] == ["worker", "relay", "api"]
    assert merged[0][2].endswith("boom")
