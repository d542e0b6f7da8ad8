"""Every port, path and knob of the local stack, read from the environment once (the same
pydantic-settings base as the app's settings: app/core/env.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import field_validator

from app.core.env import ConfigError, EnvSettings, variable

REPO = Path(__file__).resolve().parent.parent


class Config(EnvSettings):
    state_dir: Path = variable("COMANDA_STATE_DIR", REPO / ".run")
    pg_port: int = variable("COMANDA_PG_PORT", 55432)
    kafka_port: int = variable("COMANDA_KAFKA_PORT", 59092)
    kafka_controller_port: int = variable("COMANDA_KAFKA_CONTROLLER_PORT", 59093)
    kafka_brokers: int = variable("COMANDA_KAFKA_BROKERS", 1)
    kafka_heap: str = variable("COMANDA_KAFKA_HEAP", "-Xms256m -Xmx512m")
    rabbitmq_port: int = variable("COMANDA_RABBITMQ_PORT", 55672)
    rabbitmq_dist_port: int = variable("COMANDA_RABBITMQ_DIST_PORT", 55673)
    epmd_port: int = variable("COMANDA_EPMD_PORT", 54369)
    api_port: int = variable("COMANDA_API_PORT", 8000)
    orders_partitions: int = variable("COMANDA_ORDERS_PARTITIONS", 6)
    dlq_partitions: int = variable("COMANDA_DLQ_PARTITIONS", 3)
    # nginx: plain HTTP (redirects only) and HTTPS, the public ports.
    http_port: int = variable("COMANDA_HTTP_PORT", 8080)
    https_port: int = variable("COMANDA_HTTPS_PORT", 8443)
    # API processes behind nginx, on consecutive loopback ports from api_port.
    api_processes: int = variable("COMANDA_API_PROCESSES", 2)
    # Monitoring (stack/monitoring.py): loopback ports and the dev logins printed by make run.
    metrics_port: int = variable("COMANDA_METRICS_PORT", 59100)
    prometheus_port: int = variable("COMANDA_PROMETHEUS_PORT", 59090)
    flower_port: int = variable("COMANDA_FLOWER_PORT", 55555)
    rabbitmq_management_port: int = variable("COMANDA_RABBITMQ_MANAGEMENT_PORT", 55675)
    flower_user: str = variable("COMANDA_FLOWER_USER", "comanda")
    flower_password: str = variable("COMANDA_FLOWER_PASSWORD", "comanda-flower")
    # Where the monitoring programs (Prometheus, Flower, every program's metrics server)
    # listen: loopback here; docker-compose.yml sets 0.0.0.0 on its private network.
    monitoring_host: str = variable("COMANDA_MONITORING_HOST", "127.0.0.1")

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    @field_validator("kafka_brokers")
    @classmethod
    def _one_or_three(cls, brokers: int) -> int:
        if brokers not in (1, 3):
            raise ValueError("must be 1 or 3")
        return brokers

    @field_validator("api_processes")
    @classmethod
    def _some_api_processes(cls, n: int) -> int:
        if not 1 <= n <= 16:
            raise ValueError("must be 1..16")
        return n

    @classmethod
    def from_env(cls) -> Config:
        try:
            return super().from_env()
        except ConfigError as exc:
            raise SystemExit(f"stack: {exc}") from None

    @property
    def repo(self) -> Path:
        return REPO

    @property
    def venv(self) -> Path:
        return Path(sys.prefix)

    @property
    def pids_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def conf_dir(self) -> Path:
        """Rendered config files (server.properties, rabbitmq.conf, supervisord.conf)."""
        return self.state_dir / "conf"

    @property
    def tls_dir(self) -> Path:
        """The local CA and nginx's certificate (kept by `stack reset`)."""
        return self.state_dir / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def api_ports(self) -> list[int]:
        """One loopback port per API process, consecutive from COMANDA_API_PORT."""
        return [self.api_port + i for i in range(self.api_processes)]

    def ensure_dirs(self) -> None:
        for d in (self.pids_dir, self.logs_dir, self.data_dir, self.conf_dir):
            d.mkdir(parents=True, exist_ok=True)

    # Broker i (1-based) listens on base + 100*(i-1); its controller on cbase + 100*(i-1).
    # 100 apart, not 10: at 10, brokers 2 and 3 landed on the programs' metrics ports
    # (COMANDA_METRICS_PORT, 8 above COMANDA_KAFKA_PORT, and the 26 after it; stack/ports.py).
    def kafka_broker_port(self, node: int) -> int:
        return self.kafka_port + 100 * (node - 1)

    def kafka_ctrl_port(self, node: int) -> int:
        return self.kafka_controller_port + 100 * (node - 1)

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(
            f"127.0.0.1:{self.kafka_broker_port(n)}" for n in range(1, self.kafka_brokers + 1)
        )

    def app_env(self) -> dict[str, str]:
        """The connection settings (and the install's own signing key) the app and the test
        suite read."""
        from .keys import app_secrets

        return {
            **app_secrets(self.state_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DATABASE_URL": (
                f"postgresql+psycopg://comanda:comanda@127.0.0.1:{self.pg_port}/comanda"
            ),
            "CELERY_BROKER_URL": f"amqp://comanda:comanda@127.0.0.1:{self.rabbitmq_port}//",
            # The public address: nginx, TLS with the local CA's certificate.
            "COMANDA_URL": f"https://127.0.0.1:{self.https_port}",
            "COMANDA_CA_FILE": str(self.ca_file),
            # Plain HTTP: every request there is redirected to COMANDA_URL.
            "COMANDA_HTTP_URL": f"http://127.0.0.1:{self.http_port}",
        }

    def monitoring_env(self) -> dict[str, str]:
        """Where to watch the running stack (`make env`); the RabbitMQ UI login is the
        broker's own user."""
        return {
            "PROMETHEUS_URL": f"http://127.0.0.1:{self.prometheus_port}",
            "FLOWER_URL": f"http://127.0.0.1:{self.flower_port}",
            "FLOWER_USER": self.flower_user,
            "FLOWER_PASSWORD": self.flower_password,
            "RABBITMQ_MANAGEMENT_URL": f"http://127.0.0.1:{self.rabbitmq_management_port}",
            "RABBITMQ_MANAGEMENT_USER": "comanda",
            "RABBITMQ_MANAGEMENT_PASSWORD": "comanda",
        }
