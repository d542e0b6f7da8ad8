"""Every stack layout the project starts (the default, one and three brokers, and the two
chaos stacks as the Makefile sets them) gives each part a port of its own (stack/ports.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from stack import ports
from stack.config import Config

pytestmark = pytest.mark.unit

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def _make_env(name: str) -> dict[str, str]:
    """The VAR=value pairs of a Makefile variable (continued over backslashed lines)."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    line = re.search(rf"^{name} := (.*)$", text, re.MULTILINE)
    assert line, f"{name} not in the Makefile"
    return dict(pair.split("=", 1) for pair in line.group(1).split())


def _config(monkeypatch, env: dict[str, str]) -> Config:
    for key in list(os.environ):
        if key.startswith("COMANDA_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Config.from_env()


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"COMANDA_KAFKA_BROKERS": "3"},
        {"COMANDA_KAFKA_BROKERS": "3", "COMANDA_API_PROCESSES": "16"},
        _make_env("CHAOS_1_ENV"),
        _make_env("CHAOS_3_ENV"),
    ],
    ids=["default", "three-brokers", "three-brokers-16-apis", "chaos-1", "chaos-3"],
)
def test_no_two_parts_share_a_port(monkeypatch, env):
    cfg = _config(monkeypatch, env)
    assert ports.clashes(cfg) == {}, ports.describe(ports.clashes(cfg))
    brokers = int(env.get("COMANDA_KAFKA_BROKERS", "1"))
    assert sum(what.startswith("kafka-") for what, _ in ports.layout(cfg)) == 2 * brokers


def test_a_clash_is_named_with_both_parts(monkeypatch):
    # The chaos-3 stack's old layout, brokers 10 apart: broker 2 on pipeline's metrics port.
    monkeypatch.setattr(Config, "kafka_broker_port", lambda self, n: self.kafka_port + 10 * (n - 1))
    monkeypatch.setattr(
        Config, "kafka_ctrl_port", lambda self, n: self.kafka_controller_port + 10 * (n - 1)
    )
    cfg = _config(monkeypatch, _make_env("CHAOS_3_ENV"))
    found = ports.clashes(cfg)
    assert found[38102] == ["kafka-2", "pipeline metrics"]
    assert found[38103] == ["kafka-2 controller", "feed metrics"]
    assert "38102: kafka-2, pipeline metrics" in ports.describe(found)
