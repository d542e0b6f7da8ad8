"""Every port, path and knob of the local stack, read from the environment once."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"stack: {name}={raw!r} is not an integer") from None


def _api_processes() -> int:
    n = _int("COMANDA_API_PROCESSES", 2)
    if not 1 <= n <= 16:
        raise SystemExit(f"stack: COMANDA_API_PROCESSES must be 1..16, not {n}")
    return n


@dataclass(frozen=True)
class Config:
    repo: Path
    state_dir: Path
    venv: Path
    pg_port: int
    kafka_port: int
    kafka_controller_port: int
    kafka_brokers: int
    kafka_heap: str
    rabbitmq_port: int
    rabbitmq_dist_port: int
    epmd_port: int
    api_port: int
    orders_partitions: int
    dlq_partitions: int
    http_port: int
    https_port: int
    api_processes: int

    @classmethod
    def from_env(cls) -> Config:
        state = Path(os.environ.get("COMANDA_STATE_DIR") or REPO / ".run")
        brokers = _int("COMANDA_KAFKA_BROKERS", 1)
        if brokers not in (1, 3):
            raise SystemExit(f"stack: COMANDA_KAFKA_BROKERS must be 1 or 3, not {brokers}")
        return cls(
            repo=REPO,
            state_dir=state.resolve(),
            venv=Path(sys.prefix),
            pg_port=_int("COMANDA_PG_PORT", 55432),
            kafka_port=_int("COMANDA_KAFKA_PORT", 59092),
            kafka_controller_port=_int("COMANDA_KAFKA_CONTROLLER_PORT", 59093),
            kafka_brokers=brokers,
            kafka_heap=os.environ.get("COMANDA_KAFKA_HEAP") or "-Xms256m -Xmx512m",
            rabbitmq_port=_int("COMANDA_RABBITMQ_PORT", 55672),
            rabbitmq_dist_port=_int("COMANDA_RABBITMQ_DIST_PORT", 55673),
            epmd_port=_int("COMANDA_EPMD_PORT", 54369),
            api_port=_int("COMANDA_API_PORT", 8000),
            orders_partitions=_int("COMANDA_ORDERS_PARTITIONS", 6),
            dlq_partitions=_int("COMANDA_DLQ_PARTITIONS", 3),
            # nginx: plain HTTP (redirects only) and HTTPS, the public ports.
            http_port=_int("COMANDA_HTTP_PORT", 8080),
            https_port=_int("COMANDA_HTTPS_PORT", 8443),
            api_processes=_api_processes(),
        )

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

    # Broker i (1-based) listens on base + 10*(i-1); its controller on cbase + 10*(i-1).
    def kafka_broker_port(self, node: int) -> int:
        return self.kafka_port + 10 * (node - 1)

    def kafka_ctrl_port(self, node: int) -> int:
        return self.kafka_controller_port + 10 * (node - 1)

    @property
    def kafka_bootstrap(self) -> str:
        return ",".join(
            f"127.0.0.1:{self.kafka_broker_port(n)}" for n in range(1, self.kafka_brokers + 1)
        )

    def app_env(self) -> dict[str, str]:
        """The connection settings the app and the test suite read."""
        return {
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
