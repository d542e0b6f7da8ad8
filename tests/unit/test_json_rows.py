"""app.core.json_rows: rows as the one JSON parameter of a jsonb_populate_recordset insert."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.json_rows import rows_json

pytestmark = pytest.mark.unit


def test_times_keep_their_offset_and_ids_are_text():
    event_id = uuid.uuid4()
    at = datetime(2026, 11, 29, 15, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    rows = [{"event_id": event_id, "occurred_at": at, "data": {"a": [1, None]}, "reason": None}]
    back = json.loads(rows_json(rows))
    assert back == [
        {
            "event_id": str(event_id),
            "occurred_at": "2026-11-29T15:00:00.123456+02:00",
            "data": {"a": [1, None]},
            "reason": None,
        }
    ]
    assert datetime.fromisoformat(back[0]["occurred_at"]) == at


def test_no_rows_is_an_empty_array():
    assert rows_json([]) == "[]"


def test_a_naive_time_is_refused():
    with pytest.raises(TypeError, match="naive"):
        rows_json([{"at": datetime(2026, 1, 1)}])


def test_an_unknown_type_is_refused():
    with pytest.raises(TypeError, match="set"):
        rows_json([{"x": {1, 2}}])


def test_an_aware_utc_time():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert json.loads(rows_json([{"at": at}])) == [{"at": "2026-01-01T00:00:00+00:00"}]
