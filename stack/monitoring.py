"""Monitoring programs under supervisord: the metrics `exporter`, `prometheus` (Debian's
package) with a scrape config rendered here, and `flower`.

Every long-running program serves /metrics on its own loopback port, metrics base + offset;
the API's gunicorn and the Celery worker fork children, so they also get a multiprocess dir.
"""

from __future__ import annotations

from pathlib import Path

from .config import Config

PROMETHEUS_BIN = "/usr/bin/prometheus"
SCRAPE_INTERVAL = "2s"
# Offsets from COMANDA_METRICS_PORT; Compose mirrors these programs by name.
METRICS_OFFSETS = {
    "api": 0,
    "relay": 1,
    "pipeline": 2,
    "feed": 3,
    "projector": 4,
    "worker": 5,
    "beat": 6,
    "exporter": 7,
}
FORKING = ("api", "worker")  # prometheus_client multiprocess mode
QUIET_IN_RUN = ("exporter", "prometheus", "flower")  # logs kept out of `make run`'s stream


def metrics_port(cfg: Config, program: str) -> int:
    return cfg.metrics_port + METRICS_OFFSETS[program]


def multiproc_dir(cfg: Config, program: str) -> Path:
    return cfg.state_dir / "metrics" / program


def program_env(cfg: Config, program: str) -> dict[str, str]:
    """The environment a program gets on top of supervisord's own."""
    env: dict[str, str] = {}
    if program in METRICS_OFFSETS:
        env["COMANDA_PROCESS_METRICS_PORT"] = str(metrics_port(cfg, program))
    if program in FORKING:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir(cfg, program))
    if program == "flower":
        # Flower reads FLOWER_<option> variables; the login stays out of `ps`.
        env["FLOWER_BASIC_AUTH"] = f"{cfg.flower_user}:{cfg.flower_password}"
        env["FLOWER_UNAUTHENTICATED_API"] = "false"
        # Worker inspection replies slowly on a busy machine; the default 1 s shows no workers.
        env["FLOWER_INSPECT_TIMEOUT"] = "5000"
    return env


def prometheus_dir(cfg: Config) -> Path:
    return cfg.data_dir / "prometheus"


def prometheus_conf(cfg: Config) -> Path:
    return cfg.conf_dir / "prometheus.yml"


def programs(cfg: Config) -> dict[str, str]:
    bin_ = cfg.venv / "bin"
    return {
        "exporter": f"{bin_}/python -m monitoring.exporter",
        "prometheus": (
            f"{PROMETHEUS_BIN} --config.file={prometheus_conf(cfg)}"
            f" --storage.tsdb.path={prometheus_dir(cfg)} --storage.tsdb.retention.time=2d"
            f" --web.listen-address=127.0.0.1:{cfg.prometheus_port}"
        ),
        "flower": (
            f"{bin_}/celery -A workers.celery_app flower --address=127.0.0.1"
            f" --port={cfg.flower_port} --purge_offline_workers=60"
        ),
    }


def render_prometheus(cfg: Config) -> str:
    """One job per program, named after it; YAML written by hand (JSON is valid YAML)."""
    lines = [
        "# Rendered by `python -m stack procs-up`; edits are overwritten.",
        "global:",
        f"  scrape_interval: {SCRAPE_INTERVAL}",
        f"  evaluation_interval: {SCRAPE_INTERVAL}",
        f"  scrape_timeout: {SCRAPE_INTERVAL}",
        "scrape_configs:",
    ]
    for name in METRICS_OFFSETS:
        lines += [
            f"  - job_name: {name}",
            "    static_configs:",
            f"      - targets: ['127.0.0.1:{metrics_port(cfg, name)}']",
        ]
    lines += [
        "  - job_name: flower",
        "    basic_auth:",
        f"      username: '{cfg.flower_user}'",
        f"      password: '{cfg.flower_password}'",
        "    static_configs:",
        f"      - targets: ['127.0.0.1:{cfg.flower_port}']",
        "  - job_name: prometheus",
        "    static_configs:",
        f"      - targets: ['127.0.0.1:{cfg.prometheus_port}']",
    ]
    return "\n".join(lines) + "\n"


def prepare(cfg: Config) -> None:
    """Before supervisord starts the programs: Prometheus's config and data dir."""
    prometheus_dir(cfg).mkdir(parents=True, exist_ok=True)
    prometheus_conf(cfg).write_text(render_prometheus(cfg))


def urls(cfg: Config) -> list[str]:
    env = cfg.monitoring_env()
    return [
        f"  Prometheus {env['PROMETHEUS_URL']}",
        f"  Flower     {env['FLOWER_URL']}  (login {cfg.flower_user} / {cfg.flower_password})",
        f"  RabbitMQ   {env['RABBITMQ_MANAGEMENT_URL']}  (login comanda / comanda)",
        f"  Metrics    127.0.0.1:{cfg.metrics_port}-{cfg.metrics_port + len(METRICS_OFFSETS) - 1}"
        " (one loopback port per program; see docs/OPERATIONS.md)",
    ]
