"""Pure parts of the monitoring: labels, the metrics token, consumer lag, the log filter and
the Prometheus scrape config."""

from __future__ import annotations

import logging

import pytest
import yaml

from app.api.metrics import token_ok
from app.payments.gateway import GatewayRefused, GatewayTimeout, GatewayTransientError, Outcome
from app.payments.metrics import outcome_of as gateway_outcome
from monitoring.collector import lag
from stack import monitoring
from stack.config import Config
from workers.metrics import outcome_of as task_outcome
from workers.quiet import PeriodicChatter

pytestmark = pytest.mark.unit


def test_gateway_outcomes():
    assert gateway_outcome(Outcome("authorized", "pending")) == "authorized"
    assert gateway_outcome(error=GatewayTimeout("x")) == "timeout"
    assert gateway_outcome(error=GatewayTransientError("x")) == "transient"
    assert gateway_outcome(error=GatewayRefused("x")) == "refused"
    assert gateway_outcome(error=KeyError("x")) == "error"


def test_task_outcomes():
    assert [task_outcome(s) for s in ("SUCCESS", "RETRY", "FAILURE", None)] == [
        "success", "retry", "failure", "other",
    ]  # fmt: skip


def test_metrics_token():
    assert token_ok("Bearer s3cret", "s3cret")
    assert token_ok("bearer s3cret", "s3cret")
    assert not token_ok("Bearer wrong", "s3cret")
    assert not token_ok("", "s3cret")
    assert not token_ok("Bearer ", "")  # no token configured: nobody gets in


def test_lag_per_partition():
    assert lag({0: 10, 1: 5, 2: 0}, {0: 7, 1: 5}) == {0: 3, 1: 0, 2: 0}
    assert lag({0: 4}, {}) == {0: 4}  # a group that never committed is behind by everything


def _record(msg: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("celery.beat", level, __file__, 1, msg, None, None)


def test_periodic_chatter_is_dropped_but_not_warnings():
    f = PeriodicChatter({"workers.tasks.redrive_stuck_orders"})
    assert not f.filter(
        _record("Scheduler: Sending due task x (workers.tasks.redrive_stuck_orders)")
    )
    assert f.filter(_record("Task workers.tasks.validate_order[1] received"))
    assert f.filter(_record("workers.tasks.redrive_stuck_orders failed", logging.WARNING))


def _cfg(tmp_path, monkeypatch) -> Config:
    monkeypatch.setenv("COMANDA_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("COMANDA_METRICS_PORT", "41000")
    return Config.from_env()


def test_scrape_config_lists_every_program(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, monkeypatch)
    text = monitoring.render_prometheus(cfg)
    for name, offset in monitoring.METRICS_OFFSETS.items():
        assert f"job_name: {name}" in text
        assert f"127.0.0.1:{41000 + offset}" in text
    assert "job_name: flower" in text and "job_name: prometheus" in text


def test_each_program_gets_its_own_port_and_forking_ones_a_multiproc_dir(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, monkeypatch)
    envs = {name: monitoring.program_env(cfg, name) for name in monitoring.METRICS_OFFSETS}
    ports = [env["COMANDA_PROCESS_METRICS_PORT"] for env in envs.values()]
    assert len(set(ports)) == len(ports)
    assert {n for n, env in envs.items() if "PROMETHEUS_MULTIPROC_DIR" in env} == {
        "api",
        "worker",
        "worker-followups",
    }
    assert "FLOWER_BASIC_AUTH" in monitoring.program_env(cfg, "flower")


def test_every_api_process_gets_its_own_metrics_port_and_multiproc_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMANDA_API_PROCESSES", "4")
    cfg = _cfg(tmp_path, monkeypatch)
    names = monitoring.api_programs(cfg)
    assert names == ["api", "api-2", "api-3", "api-4"]
    envs = {name: monitoring.program_env(cfg, name) for name in monitoring.metrics_offsets(cfg)}
    ports = [int(env["COMANDA_PROCESS_METRICS_PORT"]) for env in envs.values()]
    assert len(set(ports)) == len(ports)
    # api-N at offset 10 + N: fixed, whatever N is, so a target keeps its port across restarts.
    assert [int(envs[n]["COMANDA_PROCESS_METRICS_PORT"]) for n in names] == [
        41000,
        41012,
        41013,
        41014,
    ]
    dirs = {n: envs[n]["PROMETHEUS_MULTIPROC_DIR"] for n in names}
    assert len(set(dirs.values())) == 4 and dirs["api-3"].endswith("metrics/api-3")


def test_the_api_job_scrapes_every_api_process(tmp_path, monkeypatch):
    monkeypatch.setenv("COMANDA_API_PROCESSES", "3")
    cfg = _cfg(tmp_path, monkeypatch)
    jobs = {
        job["job_name"]: job
        for job in yaml.safe_load(monitoring.render_prometheus(cfg))["scrape_configs"]
    }
    (static,) = jobs["api"]["static_configs"]
    assert static["targets"] == ["127.0.0.1:41000", "127.0.0.1:41012", "127.0.0.1:41013"]
    assert "api-2" not in jobs  # one job, N targets
