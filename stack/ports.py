"""Every loopback port one stack listens on, and the ones two of its parts would share.

Each part's port comes from its own variable (stack/config.py) or from a base plus an offset
(the Kafka brokers, the API processes, the programs' metrics ports), so two layouts can
meet without any one setting being wrong: the three-broker chaos stack put broker 2 and its
controller on two of the programs' metrics ports, and a program restarted while that broker
was down took its port, so the broker could not start again.
"""

from __future__ import annotations

from collections import defaultdict

from . import monitoring
from .config import Config


def layout(cfg: Config) -> list[tuple[str, int]]:
    """(what, port) for every port the stack's services and programs listen on."""
    ports = [
        ("postgres", cfg.pg_port),
        ("rabbitmq", cfg.rabbitmq_port),
        ("rabbitmq distribution", cfg.rabbitmq_dist_port),
        ("epmd", cfg.epmd_port),
        ("rabbitmq management", cfg.rabbitmq_management_port),
        ("nginx http", cfg.http_port),
        ("nginx https", cfg.https_port),
        ("prometheus", cfg.prometheus_port),
        ("flower", cfg.flower_port),
    ]
    for node in range(1, cfg.kafka_brokers + 1):
        ports.append((f"kafka-{node}", cfg.kafka_broker_port(node)))
        ports.append((f"kafka-{node} controller", cfg.kafka_ctrl_port(node)))
    ports += [(f"api process {i + 1}", port) for i, port in enumerate(cfg.api_ports)]
    ports += [
        (f"{program} metrics", monitoring.metrics_port(cfg, program))
        for program in monitoring.metrics_offsets(cfg)
    ]
    return ports


def clashes(cfg: Config) -> dict[int, list[str]]:
    """Ports claimed by more than one part (empty when the layout is sound)."""
    by_port: dict[int, list[str]] = defaultdict(list)
    for what, port in layout(cfg):
        by_port[port].append(what)
    return {port: names for port, names in by_port.items() if len(names) > 1}


def describe(found: dict[int, list[str]]) -> str:
    return "; ".join(f"{port}: {', '.join(names)}" for port, names in sorted(found.items()))
