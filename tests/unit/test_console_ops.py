"""The pure parts behind the console's admin views and demo controls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from app.api.snapshot import Snapshot
from app.core.kafka_lag import lag_table
from app.core.settings import ConfigError, Settings
from app.demo.targets import TARGETS, command, demo_refusal
from app.orders.series import bucket_of, fill

pytestmark = pytest.mark.unit


def test_lag_is_end_offset_minus_committed_per_partition_and_group():
    table = lag_table("orders", {0: 10, 1: 5, 2: 0}, {"g": {0: 7, 1: 5}, "new": {}})
    by_group = {g["group"]: g for g in table["groups"]}
    assert [p["lag"] for p in by_group["g"]["partitions"]] == [3, 0, 0]
    assert by_group["g"]["lag"] == 3
    # A group that never committed has every message still to read.
    assert by_group["new"]["lag"] == 15
    assert by_group["new"]["partitions"][0]["committed"] is None
    assert table["partitions"] == [
        {"partition": 0, "end_offset": 10},
        {"partition": 1, "end_offset": 5},
        {"partition": 2, "end_offset": 0},
    ]


def test_lag_treats_kafkas_no_offset_marker_as_nothing_committed():
    table = lag_table("orders", {0: 4}, {"g": {0: -1}})
    assert table["groups"][0]["lag"] == 4


def test_series_fills_every_bucket_and_keeps_the_latency():
    first = bucket_of(datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC), 10)
    points = fill(first, 3, 10, {first: 4}, {first + 2: (2, 120.04, 300.0)})
    assert [p["placed"] for p in points] == [4, 0, 0]
    assert [p["awaiting"] for p in points] == [0, 0, 2]
    assert points[2]["p50_ms"] == 120.0 and points[2]["p95_ms"] == 300.0
    assert points[0]["p50_ms"] is None
    assert [p["at"] for p in points] == [
        "2026-11-29T10:00:00Z",
        "2026-11-29T10:00:10Z",
        "2026-11-29T10:00:20Z",
    ]


def test_demo_controls_need_the_flag_and_never_run_in_production():
    assert demo_refusal(enabled=True, production=False) is None
    assert "COMANDA_DEMO=1" in demo_refusal(enabled=False, production=False)
    assert "production" in demo_refusal(enabled=True, production=True)


def test_production_refuses_to_start_with_demo_on():
    ok = dict(env="production", jwt_secret="x" * 40, seed_default_passwords=False)
    Settings(**ok).check()
    with pytest.raises(ConfigError, match="COMANDA_DEMO"):
        Settings(**ok, demo=True).check()


def test_only_services_are_commands_and_only_stop_or_start():
    assert command("kafka", "stop", python="py") == ["py", "-m", "stack", "stop", "kafka"]
    for name, target in TARGETS.items():
        if target.kind != "service":
            with pytest.raises(ValueError):
                command(name, "stop", python="py")
    with pytest.raises(ValueError):
        command("kafka", "reset", python="py")
    with pytest.raises(KeyError):
        command("postgres", "stop", python="py")


def test_snapshot_caches_for_its_ttl_then_probes_again():
    now = [0.0]
    calls = []
    snap = Snapshot(
        "x", lambda: calls.append(1) or {"n": len(calls)}, ttl=1.0, clock=lambda: now[0]
    )
    assert snap.get() == {"available": True, "n": 1}
    now[0] = 0.5
    assert snap.get()["n"] == 1
    now[0] = 1.5
    assert snap.get()["n"] == 2


def test_snapshot_reports_a_failed_probe_without_the_exception():
    def down():
        raise ConnectionRefusedError("secret internals")

    reply = Snapshot("kafka", down, ttl=1.0).get()
    assert reply == {"available": False, "message": "kafka unreachable"}


def test_snapshot_serves_the_last_value_while_another_thread_refreshes():
    release, started = threading.Event(), threading.Event()
    now = [0.0]
    calls = []

    def probe():
        calls.append(1)
        if len(calls) == 2:  # the refresh: held until the test lets it go
            started.set()
            release.wait(10)
        return {"n": len(calls)}

    snap = Snapshot("x", probe, ttl=1.0, clock=lambda: now[0])
    assert snap.get()["n"] == 1
    now[0] = 2.0
    refresher = threading.Thread(target=snap.get)
    refresher.start()
    assert started.wait(10)
    assert snap.get()["n"] == 1  # stale but immediate: no second thread waits on the probe
    release.set()
    refresher.join(10)
    assert snap.get()["n"] == 2
    assert len(calls) == 2
