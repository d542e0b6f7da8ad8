"""One settings object, read from the environment.

Every process (API, relay, consumers, workers) builds its settings with
``Settings.from_env()``; tests build their own (``Settings(...)`` is the defaults plus what
they pass). The parsing is pydantic-settings' (app/core/env.py); each field names its variable.
Nothing here connects to anything.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated, Self

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from app.core.env import ConfigError, EnvSettings, variable

__all__ = ["PUBLISHED_DEV_SECRET", "ConfigError", "Settings", "get_settings", "use_settings"]

# The development key earlier versions shipped in this file. It is public (it is in the
# history), so it is refused everywhere. No key lives in the source any more: `stack up`
# writes a random one per install (<state dir>/secrets/jwt-secret) and `stack env` exports
# it; a process started without one signs with a random key of its own (see from_env).
PUBLISHED_DEV_SECRET = "comanda-dev-secret-change-me-please-0123456789"  # noqa: S105
MIN_SECRET_LENGTH = 32


class Settings(EnvSettings):
    env: str = variable("COMANDA_ENV", "development")
    database_url: str = variable(
        "DATABASE_URL", "postgresql+psycopg://comanda:comanda@127.0.0.1:55432/comanda"
    )
    kafka_bootstrap_servers: str = variable("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092")
    celery_broker_url: str = variable(
        "CELERY_BROKER_URL", "amqp://comanda:comanda@127.0.0.1:55672//"
    )
    orders_topic: str = variable("COMANDA_ORDERS_TOPIC", "orders")
    dlq_topic: str = variable("COMANDA_DLQ_TOPIC", "orders.dlq")
    orders_partitions: int = variable("COMANDA_ORDERS_PARTITIONS", 6)
    # Random unless set: never a value anyone can read in the source.
    jwt_secret: str = Field(
        default_factory=lambda: secrets.token_urlsafe(48),
        validation_alias="COMANDA_JWT_SECRET",
        repr=False,
    )
    jwt_kid: str = variable("COMANDA_JWT_KID", "k1")
    # Earlier signing keys, still accepted (by kid) for tokens issued before a rotation:
    # ``kid:secret,kid:secret``.
    jwt_previous_secrets: Annotated[tuple[tuple[str, str], ...], NoDecode] = variable(
        "COMANDA_JWT_PREVIOUS_SECRETS", ()
    )
    jwt_issuer: str = variable("COMANDA_JWT_ISSUER", "comanda")
    jwt_audience: str = variable("COMANDA_JWT_AUDIENCE", "comanda-api")
    access_token_seconds: int = variable("COMANDA_ACCESS_TOKEN_SECONDS", 900)
    refresh_token_seconds: int = variable("COMANDA_REFRESH_TOKEN_SECONDS", 14 * 24 * 3600)
    bcrypt_rounds: int = variable("COMANDA_BCRYPT_ROUNDS", 12)
    login_window_seconds: int = variable("COMANDA_LOGIN_WINDOW_SECONDS", 900)
    login_failures_per_account: int = variable("COMANDA_LOGIN_FAILURES_PER_ACCOUNT", 10)
    login_failures_per_client: int = variable("COMANDA_LOGIN_FAILURES_PER_CLIENT", 100)
    acceptance_seconds: int = variable("COMANDA_ACCEPTANCE_SECONDS", 300)
    sweep_interval_ms: int = variable("COMANDA_SWEEP_INTERVAL_MS", 2000)
    pipeline_stuck_seconds: int = variable("COMANDA_PIPELINE_STUCK_SECONDS", 30)
    idempotency_hours: int = variable("COMANDA_IDEMPOTENCY_HOURS", 24)
    max_body_bytes: int = variable("COMANDA_MAX_BODY_BYTES", 1024 * 1024)
    seed_default_passwords: bool = variable("COMANDA_SEED_DEFAULT_PASSWORDS", True)
    # ``https://a.example,https://b.example``; empty: no cross-origin access.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = variable("COMANDA_CORS_ORIGINS", ())
    # The simulated card network's delay per gateway call (100 for a real one).
    gateway_latency_ms: int = variable("COMANDA_GATEWAY_LATENCY_MS", 0)
    # Peers whose X-Forwarded-For/-Proto are believed (nginx in front; app/api/proxy.py):
    # ``127.0.0.1,::1`` or networks (``172.28.0.0/16`` in docker-compose.yml).
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = variable(
        "COMANDA_TRUSTED_PROXIES", ("127.0.0.1", "::1")
    )
    # The console's fault controls (stop/start processes, gateway latency, traffic): for
    # demonstrations only, off by default, refused in production.
    demo: bool = variable("COMANDA_DEMO", False)
    # Retention: published outbox rows and acknowledged feed rows older than this are
    # deleted by beat every prune_interval_seconds, at most prune_batch rows a statement.
    prune_keep_minutes: int = variable("COMANDA_PRUNE_KEEP_MINUTES", 60)
    prune_batch: int = variable("COMANDA_PRUNE_BATCH", 2000)
    prune_interval_seconds: int = variable("COMANDA_PRUNE_INTERVAL_SECONDS", 60)
    # /metrics on the public API port answers only `Authorization: Bearer <this>`; empty (the
    # default) turns it off (404). Prometheus scrapes each process's loopback port instead.
    metrics_token: str = variable("COMANDA_METRICS_TOKEN", "")
    # The Celery worker (workers/celery_app.py, docs/perf-pipeline.md). Messages each worker
    # thread may hold unacknowledged ahead of its current task (late acks: a crash hands
    # them back to RabbitMQ, nothing is lost); 1 left threads idle waiting for the next one.
    worker_prefetch_multiplier: int = variable("COMANDA_WORKER_PREFETCH_MULTIPLIER", 4)
    # Celery task events (received/started/succeeded, three RabbitMQ messages per task) for
    # Flower's task pages. Off: they were a quarter of the worker's CPU per order; Flower
    # still lists the workers (it asks them directly). On for a demonstration.
    worker_task_events: bool = variable("COMANDA_WORKER_TASK_EVENTS", False)
    # Kafka fetches of the consumer groups (events/consumers/base.py, docs/perf-events.md).
    # A group on the order's critical path (the pipeline) gets each event at once: its fetch
    # returns as soon as one byte is there, and this wait is how often a fetch with nothing
    # to bring comes back empty. Kept at Kafka's 0.5 s: at 5 s, the first orders after an
    # idle minute waited up to 5 s for the pipeline (docs/perf-events.md, "Not done").
    kafka_idle_fetch_wait_ms: int = variable("COMANDA_KAFKA_IDLE_FETCH_WAIT_MS", 500)
    # The feed and the projector are not: the broker holds their fetch until this much has
    # arrived or the wait is over, so one poll brings tens of events (one transaction, one
    # offset commit) instead of one or two. The wait is how late a feed row or an admin row
    # may be, at most, on top of the relay.
    batch_fetch_min_bytes: int = variable("COMANDA_BATCH_FETCH_MIN_BYTES", 64 * 1024)
    feed_fetch_wait_ms: int = variable("COMANDA_FEED_FETCH_WAIT_MS", 200)
    projector_fetch_wait_ms: int = variable("COMANDA_PROJECTOR_FETCH_WAIT_MS", 250)
    # The relay wakes on LISTEN/NOTIFY (a trigger on outbox, once per transaction); this poll
    # only covers a notification missed while its LISTEN connection was being made again.
    relay_poll_ms: int = variable("COMANDA_RELAY_POLL_MS", 2000)
    # Static group membership (Kafka's KIP-345) for the long-running consumers: one that
    # restarts (a crash, kill -9, a deploy) joins its group again under the same instance
    # id and gets its partitions back at once. A dynamic member's group first waits out the
    # dead member's session (10 s) before it rebalances. Set only for the stack's consumer
    # programs (stack/procs.py, docker-compose.yml): a consumer started by hand on the same
    # host stays dynamic, so it can never take the running one's place.
    kafka_static_membership: bool = variable("COMANDA_KAFKA_STATIC_MEMBERSHIP", False)
    # The consumer groups commit their offsets at most this often while events keep coming
    # (0: after every poll), and at once when a poll comes back empty. Each commit is a
    # broker round trip and a write to its offsets log; the pipeline group made one per
    # event. A crash re-reads at most this much of handled events, which the idempotent
    # handlers absorb (docs/perf-events.md, "Fifth round").
    kafka_commit_interval_ms: int = variable("COMANDA_KAFKA_COMMIT_INTERVAL_MS", 1000)
    # Orders one step task carries at most: a Kafka poll's new orders, or the orders a batch
    # of the step before moved on, go as one task per step (one transaction, one message),
    # in chunks of this many. Gateway steps take fewer while the gateway is slow, so a task
    # never holds a thread for long (workers/publishing.py).
    step_batch_max: int = variable("COMANDA_STEP_BATCH_MAX", 32)
    # After a wakeup the relay waits before it reads the outbox, so the rows that commit
    # meanwhile go in the same batch: one Kafka produce request, one mark, and one fetch
    # answer to each consumer group for several events, instead of one each. It waits long
    # enough for about relay_gather_rows events at the rate they are coming, and at most
    # relay_gather_ms, which is all it can add to an order's first hop: 20 ms up to about
    # 80 orders/s (250 events/s), 17 ms at 100, 13 at 125 (events/relay_pace.py;
    # docs/PERFORMANCE.md, "Sixth round", "Eighth round" and "Tenth round": 5 rows cost
    # 1.1-3.4 ms less CPU per order than 3 at 78 and 100 orders/s, p50 no higher).
    # 0 ms: read at once.
    relay_gather_ms: int = variable("COMANDA_RELAY_GATHER_MS", 20)
    relay_gather_rows: int = variable("COMANDA_RELAY_GATHER_ROWS", 5)
    # While the workers are behind (their queue holds messages no worker has taken, or
    # orders take longer than pipeline_slow_ms from PLACED to AWAITING_ACCEPTANCE), the
    # pipeline consumer goes on polling this long before it hands a poll's orders on, so
    # its tasks carry more orders each. A task queued behind others does not merge with
    # them, so without this a backlog of small tasks stayed small tasks, and a worker that
    # fell behind at 100 orders/s stayed behind (events/consumers/backpressure.py,
    # docs/PERFORMANCE.md, "Seventh round"). 0: never. Not while the workers keep up: then
    # each order goes on at once.
    pipeline_gather_ms: int = variable("COMANDA_PIPELINE_GATHER_MS", 100)
    pipeline_slow_ms: int = variable("COMANDA_PIPELINE_SLOW_MS", 250)

    @field_validator("jwt_previous_secrets", mode="before")
    @classmethod
    def _kid_secret_pairs(cls, raw: object) -> object:
        """``kid:secret,kid:secret`` -> ((kid, secret), ...)."""
        if not isinstance(raw, str):
            return raw
        pairs = []
        for item in filter(None, (p.strip() for p in raw.split(","))):
            kid, sep, secret = item.partition(":")
            if not sep or not kid or not secret:
                raise ValueError("a comma-separated list of kid:secret")
            pairs.append((kid, secret))
        return tuple(pairs)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, raw: object) -> object:
        if not isinstance(raw, str):
            return raw
        return tuple(o.strip() for o in raw.split(",") if o.strip())

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]

    @property
    def sweep_interval_seconds(self) -> float:
        return self.sweep_interval_ms / 1000

    @classmethod
    def from_env(cls) -> Self:
        settings = super().from_env()
        if settings.production and not os.environ.get("COMANDA_JWT_SECRET"):
            # Development gets a random key of this process's own (tokens good nowhere
            # else); production must be given the key every API process shares.
            raise ConfigError("COMANDA_JWT_SECRET must be set in production")
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse to run production with development secrets."""
        kids = [kid for kid, _ in self.jwt_previous_secrets]
        if self.jwt_kid in kids or len(set(kids)) != len(kids):
            raise ConfigError("COMANDA_JWT_PREVIOUS_SECRETS: each kid once, never COMANDA_JWT_KID")
        keys = (self.jwt_secret, *(secret for _, secret in self.jwt_previous_secrets))
        if PUBLISHED_DEV_SECRET in keys:
            raise ConfigError(
                "COMANDA_JWT_SECRET (or a previous secret) is the development key published in "
                "the source: anyone can sign tokens with it. Unset it (`stack up` makes a random "
                "one) or set a random value"
            )
        if not self.production:
            return
        for secret in keys:
            if len(secret) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    "COMANDA_JWT_SECRET (and COMANDA_JWT_PREVIOUS_SECRETS) must be random values "
                    "of at least 32 characters in production"
                )
        if self.seed_default_passwords:
            raise ConfigError("COMANDA_SEED_DEFAULT_PASSWORDS must be off in production")
        if self.demo:
            raise ConfigError(
                "COMANDA_DEMO (the console's fault controls) is refused in production"
            )


_current: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, built from the environment on first use."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def use_settings(settings: Settings) -> None:
    """Install explicit settings (tests, create_app(settings))."""
    global _current
    _current = settings
