"""Admin operations views for the console: Kafka partitions and consumer lag, Celery workers
and queue depth, the outbox backlog, time series, the dead-letter topic with replay, and the
demo fault controls (COMANDA_DEMO=1 only). Each handler parses, calls one function, replies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from flask_restx import Namespace, Resource, fields
from pydantic import BaseModel, Field

from app.api.docs import body, documented, query
from app.api.guards import requires
from app.api.snapshot import Snapshot
from app.api.validation import parse, query_int
from app.core.db import read_only
from app.core.errors import BadRequest, Conflict, Forbidden
from app.core.models import utcnow
from app.core.settings import get_settings
from app.demo.targets import ACTIONS, TARGETS, demo_refusal
from app.orders.backlog import outbox_backlog
from app.orders.series import order_series
from roles import Role

PATH = "/admin/ops"
REPO = Path(__file__).resolve().parents[2]
SPOT = re.compile(r"^\d{1,6}:\d{1,19}$")
ns = Namespace("admin-ops", description="Live operations views and demo fault controls (admin)")


class ReplayIn(BaseModel):
    spots: list[str] = Field(min_length=1, max_length=100, description="PARTITION:OFFSET")


class ProcessIn(BaseModel):
    action: str = Field(description="stop | start", pattern="^(stop|start)$")


class LatencyIn(BaseModel):
    ms: int | None = Field(ge=0, le=10_000, description="null clears the override")


class TrafficIn(BaseModel):
    rate: float = Field(ge=0, le=20, description="orders per second; 0 stops the generator")


probe_model = ns.model(
    "Probe",
    {
        "available": fields.Boolean(example=True),
        "message": fields.String(example="kafka unreachable"),
    },
)


def _kafka() -> dict:
    from app.core.kafka_lag import read_lag

    return read_lag(get_settings().orders_topic)


def _celery() -> dict:
    from app.core.celery_state import queue_depths, workers

    return {"workers": workers(timeout=0.5), "queues": queue_depths()}


def _dlq_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The DLQ through its own tool, events/dlq.py (the API does not import the Kafka
    adapter: README "Architecture"). It runs under the DLQ snapshot's single flight."""
    return subprocess.run(
        [sys.executable, "-m", "events.dlq", *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )


def _dlq() -> dict:
    listed = _dlq_cli("list", "--json", "--limit", "100")
    if listed.returncode != 0:
        raise RuntimeError("events.dlq list failed")
    letters = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    return {
        "letters": [
            {
                "spot": d.get("spot"),
                "key": d.get("key"),
                "error": d.get("error"),
                "consumer_group": d.get("consumer_group"),
                "origin": d.get("origin_topic"),
                "value": d.get("value"),
            }
            for d in letters
        ]
    }


def _demo() -> dict:
    from app.demo import local, traffic
    from app.payments.gateway import latency_ms
    from app.payments.latency import override_ms

    return {
        **local.status(),
        "gateway": {"latency_ms": latency_ms(), "override_ms": override_ms()},
        "traffic": traffic.running(),
    }


KAFKA = Snapshot("kafka", _kafka, ttl=0.8)
DEMO = Snapshot("demo", _demo, ttl=0.5)
CELERY = Snapshot("celery", _celery, ttl=1.5)
DLQ = Snapshot("dlq", _dlq, ttl=2.0)


def _demo_allowed() -> None:
    settings = get_settings()
    refusal = demo_refusal(settings.demo, settings.production)
    if refusal:
        raise Forbidden(refusal)


@ns.route("/kafka")
class Kafka(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the orders topic: partitions, end offsets, each group's committed offset "
                 "and lag; available=false when Kafka is down", probe_model)  # fmt: skip
    @documented(ns, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Partitions of the orders topic with each consumer group's offset and lag."""
        return KAFKA.get()


@ns.route("/celery")
class Celery(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "workers answering a ping within 0.5 s, and queue depths", probe_model)
    @documented(ns, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Celery workers and RabbitMQ queue depth."""
        return CELERY.get()


@ns.route("/outbox")
class Outbox(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "events committed but not yet published to Kafka")
    @documented(ns, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """The outbox backlog."""
        with read_only() as session:
            return outbox_backlog(session, utcnow())


@ns.route("/series")
class Series(Resource):
    @ns.doc(
        security="Bearer",
        params={
            "minutes": query("integer", "window (1-60, default 5)", minimum=1, maximum=60),
            "bucket": query("integer", "bucket seconds (5-300, default 10)", minimum=5,
                            maximum=300),
        },
    )  # fmt: skip
    @ns.response(200, "orders placed and reaching AWAITING_ACCEPTANCE per bucket, with the "
                 "PLACED -> AWAITING_ACCEPTANCE p50/p95 latency")  # fmt: skip
    @documented(ns, 400, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Throughput and pipeline latency over the last minutes."""
        minutes = query_int("minutes", 5, 1, 60)
        seconds = query_int("bucket", 10, 5, 300)
        with read_only() as session:
            return order_series(session, utcnow(), minutes, seconds)


@ns.route("/dlq")
class DeadLetters(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "the first 100 messages of the dead-letter topic", probe_model)
    @documented(ns, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """The dead-letter topic."""
        return DLQ.get()


@ns.route("/dlq/replay")
class Replay(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, ReplayIn))
    @ns.response(200, "replayed to their original topic (consumers dedupe on event_id)")
    @documented(ns, 400, 401, 403, 409, 413)
    @requires(Role.ADMIN)
    def post(self):
        """Send chosen dead letters back to the topic they came from."""
        spots = parse(ReplayIn).spots
        if not all(SPOT.match(spot) for spot in spots):
            raise BadRequest("invalid spot", {"spots": "PARTITION:OFFSET"})
        result = _dlq_cli("replay", *spots)
        if result.returncode != 0:  # the tool's "not in the dead-letter topic: ..."
            message = result.stderr.strip().splitlines()[-1:] or ["replay failed"]
            raise Conflict(message[0][:300])
        DLQ.expire()  # the next read shows the topic as it is now
        replayed = [line.split()[-1] for line in result.stdout.splitlines() if line.strip()]
        return {"replayed": replayed}


@ns.route("/demo")
class Demo(Resource):
    @ns.doc(security="Bearer")
    @ns.response(200, "whether the demo controls are on; when on, each target's state, the "
                 "gateway latency override and the traffic generator")  # fmt: skip
    @documented(ns, 401, 403)
    @requires(Role.ADMIN)
    def get(self):
        """Demo fault controls: their state."""
        settings = get_settings()
        refusal = demo_refusal(settings.demo, settings.production)
        if refusal:
            return {"enabled": False, "message": refusal}
        return {"enabled": True, **DEMO.get()}


@ns.route("/demo/processes/<string:target>")
class DemoProcess(Resource):
    @ns.doc(security="Bearer", params={"target": f"one of {', '.join(TARGETS)}"})
    @ns.expect(body(ns, ProcessIn))
    @ns.response(202, "the command was started; the change shows in GET /admin/ops/demo")
    @documented(ns, 400, 401, 403, 404, 409, 413)
    @requires(Role.ADMIN)
    def post(self, target: str):
        """Stop or start a worker, consumer group, the relay, an API process or Kafka."""
        action = parse(ProcessIn).action
        _demo_allowed()
        if target not in TARGETS or action not in ACTIONS:
            raise BadRequest("unknown target", {"target": f"one of {', '.join(TARGETS)}"})
        from app.demo import local

        try:
            local.apply(target, action)
        except LookupError as exc:
            raise Conflict(str(exc)) from None
        return {"target": target, "action": action}, 202


@ns.route("/demo/gateway-latency")
class DemoLatency(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, LatencyIn))
    @ns.response(200, "every worker uses it within about a second")
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.ADMIN)
    def post(self):
        """Set (or clear with null) the payment gateway's simulated latency."""
        ms = parse(LatencyIn).ms
        _demo_allowed()
        from app.payments.latency import set_override_ms

        set_override_ms(ms)
        return {"override_ms": ms}


@ns.route("/demo/traffic")
class DemoTraffic(Resource):
    @ns.doc(security="Bearer")
    @ns.expect(body(ns, TrafficIn))
    @ns.response(200, "the generator now running (null when stopped)")
    @documented(ns, 400, 401, 403, 413)
    @requires(Role.ADMIN)
    def post(self):
        """Start (at a rate) or stop (rate 0) the traffic generator."""
        rate = parse(TrafficIn).rate
        _demo_allowed()
        from app.demo import traffic

        if rate == 0:
            traffic.stop()
            return {"traffic": None}
        return {
            "traffic": traffic.start(rate, os.environ.get("COMANDA_URL", "http://127.0.0.1:8000"))
        }
