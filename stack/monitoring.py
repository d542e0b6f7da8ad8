"""Monitoring programs under supervisord: the metrics `exporter`, `prometheus` (Debian's
package) with a scrape config rendered here, and `flower`.

Every long-running program serves /metrics on its own loopback port, metrics base + offset;
the API's gunicorn and the Celery worker fork children, so they also get a multiprocess dir.
The API runs as COMANDA_API_PROCESSES programs behind nginx (`api`, `api-2` .. `api-N`, see
stack/procs.py): each has its own port (api-N at offset 10 + N) and multiprocess dir, and
Prometheus's one `api` job scrapes them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Config

PROMETHEUS_BIN = "/usr/bin/prometheus"
# Every program serves /metrics and Prometheus stores each series at every scrape: at 2 s
# that was a fifth of the idle stack's CPU. Dashboards use rate() over 1 m or more, which
# 5 s scrapes still give twelve points (docs/perf-events.md).
SCRAPE_INTERVAL = "5s"
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
    "worker-followups": 8,
}
# api-2 .. api-16 (COMANDA_API_PROCESSES is at most 16): offsets 12 .. 26, clear of the above.
API_EXTRA_OFFSET = 10
# prometheus_client multiprocess mode (and every api-N)
FORKING = ("api", "worker", "worker-followups")
QUIET_IN_RUN = ("exporter", "prometheus", "flower")  # logs kept out of `make run`'s stream


def api_programs(cfg: Config) -> list[str]:
    """The API processes' program names, as stack/procs.py names them."""
    return ["api", *(f"api-{n}" for n in range(2, cfg.api_processes + 1))]


def metrics_offsets(cfg: Config) -> dict[str, int]:
    """Every program with a metrics port: the fixed ones, then api-2 .. api-N at 10 + N."""
    extra = {name: API_EXTRA_OFFSET + int(name[4:]) for name in api_programs(cfg)[1:]}
    return {**METRICS_OFFSETS, **extra}


def is_api(program: str) -> bool:
    return program == "api" or program.startswith("api-")


def metrics_port(cfg: Config, program: str) -> int:
    return cfg.metrics_port + metrics_offsets(cfg)[program]


def multiproc_dir(cfg: Config, program: str) -> Path:
    return cfg.state_dir / "metrics" / program


def program_env(cfg: Config, program: str) -> dict[str, str]:
    """The environment a program gets on top of supervisord's own."""
    env: dict[str, str] = {}
    if program in metrics_offsets(cfg):
        env["COMANDA_PROCESS_METRICS_PORT"] = str(metrics_port(cfg, program))
    if program in FORKING or is_api(program):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir(cfg, program))
    if program == "flower":
        # Flower reads FLOWER_<option> variables; the login stays out of `ps`.
        env["FLOWER_BASIC_AUTH"] = f"{cfg.flower_user}:{cfg.flower_password}"
        env["FLOWER_UNAUTHENTICATED_API"] = "false"
        # Worker inspection replies slowly on a busy machine; the default 1 s shows no workers.
        env["FLOWER_INSPECT_TIMEOUT"] = "5000"
        # Its in-memory task history is bounded (10,000 by default: ~38 KB per task seen).
        env["FLOWER_MAX_TASKS"] = "1000"
        # Flower otherwise asks every worker to send task events every few seconds: three
        # RabbitMQ messages per task, a quarter of the worker's CPU per order (docs/perf-
        # pipeline.md). It still lists the workers; task history needs COMANDA_WORKER_TASK_EVENTS.
        env["FLOWER_ENABLE_EVENTS"] = os.environ.get("COMANDA_WORKER_TASK_EVENTS") or "false"
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
            f" --web.listen-address={cfg.monitoring_host}:{cfg.prometheus_port}"
        ),
        "flower": (
            f"{bin_}/celery -A workers.celery_app flower --address={cfg.monitoring_host}"
            f" --port={cfg.flower_port} --purge_offline_workers=60"
        ),
    }


def render_prometheus(cfg: Config, compose: bool = False) -> str:
    """One job per program, named after it; YAML written by hand (JSON is valid YAML).

    ``compose``: the same jobs for docker-compose.yml (stack/compose/prometheus.yml), each
    program reached by its service name; the `api` and `worker` jobs find every replica of
    `--scale api=N` / `--scale worker=N` through Compose's DNS."""

    def targets(members: list[str], port: int | None = None) -> list[str]:
        if compose:
            return [f"{m}:{port or metrics_port(cfg, m)}" for m in members]
        return [f"127.0.0.1:{port or metrics_port(cfg, m)}" for m in members]

    def static(addrs: list[str]) -> list[str]:
        quoted = ", ".join(f"'{a}'" for a in addrs)
        return ["    static_configs:", f"      - targets: [{quoted}]"]

    lines = [
        "# Rendered by `python -m stack procs-up`; edits are overwritten."
        if not compose
        else "# Rendered by `python -m stack compose-files` (stack/monitoring.py); do not edit.",
        "global:",
        f"  scrape_interval: {SCRAPE_INTERVAL}",
        f"  evaluation_interval: {SCRAPE_INTERVAL}",
        f"  scrape_timeout: {SCRAPE_INTERVAL}",
        "scrape_configs:",
    ]
    for name in METRICS_OFFSETS:
        lines.append(f"  - job_name: {name}")
        if name in FORKING and compose:  # the scalable services
            lines += [
                "    dns_sd_configs:",
                f"      - names: ['{name}']",
                "        type: A",
                f"        port: {metrics_port(cfg, name)}",
            ]
        else:
            # The `api` job: every API process (its `instance` label tells them apart).
            members = api_programs(cfg) if name == "api" else [name]
            lines += static(targets(members))
    lines += [
        "  - job_name: flower",
        "    basic_auth:",
        f"      username: '{cfg.flower_user}'",
        f"      password: '{cfg.flower_password}'",
        *static(targets(["flower"], cfg.flower_port)),
        "  - job_name: prometheus",
        *static([f"127.0.0.1:{cfg.prometheus_port}"]),
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
        + "".join(f", {name} on {metrics_port(cfg, name)}" for name in api_programs(cfg)[1:])
        + " (one loopback port per program; see docs/OPERATIONS.md)",
    ]
