"""One settings object, read from the environment.

Every process (API, relay, consumers, workers) builds its settings with
``Settings.from_env()``; tests build their own. Nothing here connects to anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

DEFAULT_SECRET = "comanda-dev-secret-change-me-please-0123456789"  # noqa: S105 - dev only


class ConfigError(RuntimeError):
    """Raised when the environment cannot run the service safely."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _str(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _keys(name: str) -> tuple[tuple[str, str], ...]:
    """``kid:secret,kid:secret`` -> ((kid, secret), ...)."""
    pairs = []
    for item in filter(None, (p.strip() for p in os.environ.get(name, "").split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ConfigError(f"{name} must be a comma-separated list of kid:secret")
        pairs.append((kid, secret))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = "postgresql+psycopg://comanda:comanda@127.0.0.1:55432/comanda"
    kafka_bootstrap_servers: str = "127.0.0.1:59092"
    celery_broker_url: str = "amqp://comanda:comanda@127.0.0.1:55672//"
    orders_topic: str = "orders"
    dlq_topic: str = "orders.dlq"
    orders_partitions: int = 6
    jwt_secret: str = DEFAULT_SECRET
    jwt_kid: str = "k1"
    # Earlier signing keys, still accepted (by kid) for tokens issued before a rotation.
    jwt_previous_secrets: tuple[tuple[str, str], ...] = ()
    jwt_issuer: str = "comanda"
    jwt_audience: str = "comanda-api"
    access_token_seconds: int = 900
    refresh_token_seconds: int = 14 * 24 * 3600
    bcrypt_rounds: int = 12
    login_window_seconds: int = 900
    login_failures_per_account: int = 10
    login_failures_per_client: int = 100
    acceptance_seconds: int = 300
    sweep_interval_seconds: float = 2.0
    pipeline_stuck_seconds: int = 30
    idempotency_hours: int = 24
    max_body_bytes: int = 1024 * 1024
    seed_default_passwords: bool = True
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Peers whose X-Forwarded-For/-Proto are believed (nginx in front; app/api/proxy.py).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls) -> Settings:
        d = cls()
        cors = _str("COMANDA_CORS_ORIGINS", "")
        settings = cls(
            env=_str("COMANDA_ENV", d.env),
            database_url=_str("DATABASE_URL", d.database_url),
            kafka_bootstrap_servers=_str("KAFKA_BOOTSTRAP_SERVERS", d.kafka_bootstrap_servers),
            celery_broker_url=_str("CELERY_BROKER_URL", d.celery_broker_url),
            orders_topic=_str("COMANDA_ORDERS_TOPIC", d.orders_topic),
            dlq_topic=_str("COMANDA_DLQ_TOPIC", d.dlq_topic),
            orders_partitions=_int("COMANDA_ORDERS_PARTITIONS", d.orders_partitions),
            jwt_secret=_str("COMANDA_JWT_SECRET", d.jwt_secret),
            jwt_kid=_str("COMANDA_JWT_KID", d.jwt_kid),
            jwt_previous_secrets=_keys("COMANDA_JWT_PREVIOUS_SECRETS"),
            jwt_issuer=_str("COMANDA_JWT_ISSUER", d.jwt_issuer),
            jwt_audience=_str("COMANDA_JWT_AUDIENCE", d.jwt_audience),
            access_token_seconds=_int("COMANDA_ACCESS_TOKEN_SECONDS", d.access_token_seconds),
            refresh_token_seconds=_int("COMANDA_REFRESH_TOKEN_SECONDS", d.refresh_token_seconds),
            bcrypt_rounds=_int("COMANDA_BCRYPT_ROUNDS", d.bcrypt_rounds),
            login_window_seconds=_int("COMANDA_LOGIN_WINDOW_SECONDS", d.login_window_seconds),
            login_failures_per_account=_int(
                "COMANDA_LOGIN_FAILURES_PER_ACCOUNT", d.login_failures_per_account
            ),
            login_failures_per_client=_int(
                "COMANDA_LOGIN_FAILURES_PER_CLIENT", d.login_failures_per_client
            ),
            acceptance_seconds=_int("COMANDA_ACCEPTANCE_SECONDS", d.acceptance_seconds),
            sweep_interval_seconds=float(_int("COMANDA_SWEEP_INTERVAL_MS", 2000)) / 1000,
            pipeline_stuck_seconds=_int("COMANDA_PIPELINE_STUCK_SECONDS", d.pipeline_stuck_seconds),
            idempotency_hours=_int("COMANDA_IDEMPOTENCY_HOURS", d.idempotency_hours),
            max_body_bytes=_int("COMANDA_MAX_BODY_BYTES", d.max_body_bytes),
            seed_default_passwords=_bool(
                "COMANDA_SEED_DEFAULT_PASSWORDS", d.seed_default_passwords
            ),
            cors_origins=tuple(o.strip() for o in cors.split(",") if o.strip()),
            trusted_proxies=_list("COMANDA_TRUSTED_PROXIES", d.trusted_proxies),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse to run production with development secrets."""
        kids = [kid for kid, _ in self.jwt_previous_secrets]
        if self.jwt_kid in kids or len(set(kids)) != len(kids):
            raise ConfigError("COMANDA_JWT_PREVIOUS_SECRETS: each kid once, never COMANDA_JWT_KID")
        if not self.production:
            return
        for secret in (self.jwt_secret, *(secret for _, secret in self.jwt_previous_secrets)):
            if secret == DEFAULT_SECRET or len(secret) < 32:
                raise ConfigError(
                    "COMANDA_JWT_SECRET (and COMANDA_JWT_PREVIOUS_SECRETS) must be random values "
                    "of at least 32 characters in production"
                )
        if self.seed_default_passwords:
            raise ConfigError("COMANDA_SEED_DEFAULT_PASSWORDS must be off in production")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def names(self) -> list[str]:
        return [f.name for f in fields(self)]


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
