"""The services' rendered configs. `make up` on a running PostgreSQL whose rendered config
changed restarts it, so settings read only at a server start (shared_preload_libraries:
COMANDA_PG_STAT_STATEMENTS) take effect instead of being silently ignored; RabbitMQ's
statistics interval (stack/postgres.py, stack/rabbitmq.py, docs/perf-services.md)."""

from __future__ import annotations

import pytest
import yaml

from stack import postgres, rabbitmq
from stack.config import REPO, Config

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.delenv("COMANDA_PG_STAT_STATEMENTS", raising=False)
    monkeypatch.setenv("COMANDA_STATE_DIR", str(tmp_path))
    cfg = Config.from_env()
    postgres.pgdata(cfg).mkdir(parents=True)
    return cfg


def test_the_conf_as_rendered_is_unchanged(cfg):
    (postgres.pgdata(cfg) / "comanda.conf").write_text(postgres._conf(cfg))
    assert not postgres._conf_changed(cfg)


def test_a_restart_only_setting_turned_on_is_a_change(cfg, monkeypatch):
    (postgres.pgdata(cfg) / "comanda.conf").write_text(postgres._conf(cfg))
    monkeypatch.setenv("COMANDA_PG_STAT_STATEMENTS", "1")
    assert "shared_preload_libraries = 'pg_stat_statements'" in postgres._conf(cfg)
    assert postgres._conf_changed(cfg)


def test_a_data_dir_without_our_conf_is_a_change(cfg):
    assert postgres._conf_changed(cfg)


def test_the_conf_stays_durable(cfg):
    lines = postgres._conf(cfg).splitlines()
    for line in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
        assert line in lines


def test_rabbitmq_gathers_statistics_every_15_s(cfg):
    """The management plugin's statistics interval (stack/rabbitmq.py); a change of it
    restarts a running node at `make up` (its _stale check compares the rendered file)."""
    lines = rabbitmq._conf_text(cfg).splitlines()
    assert "collect_statistics_interval = 15000" in lines


def test_compose_rabbitmq_gathers_statistics_every_15_s():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    env = compose["services"]["rabbitmq"]["environment"]
    assert env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"].split() == [
        "-rabbit", "collect_statistics_interval", "15000"
    ]  # fmt: skip
