"""Topic layout: ``orders`` keyed by restaurant, and its dead-letter topic.

``orders`` keeps its events forever (retention -1) so the admin projection can be rebuilt
by replaying it from the start.
"""

from __future__ import annotations

import contextlib
import logging

from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError

from app.core.settings import get_settings
from events.kafka import make_admin

log = logging.getLogger(__name__)


def wanted_topics(replication: int = 1, dlq_partitions: int = 3) -> list[NewTopic]:
    """The topics and their settings: used by `python -m events.topics` and `stack up`."""
    s = get_settings()
    min_isr = "2" if replication >= 3 else "1"
    config = {"retention.ms": "-1", "min.insync.replicas": min_isr}
    return [
        NewTopic(s.orders_topic, s.orders_partitions, replication, topic_configs=config),
        NewTopic(s.dlq_topic, dlq_partitions, replication, topic_configs=config),
    ]


def ensure_topics(
    replication: int = 1, dlq_partitions: int = 3, admin: KafkaAdminClient | None = None
) -> list[str]:
    """Create the missing topics and grow any with fewer partitions than wanted (a topic's
    partitions can only grow). Returns what changed, e.g. ``["created orders"]``. The one
    way topics are made: `python -m events.topics` and `stack up` both call it."""
    own = admin is None
    admin = admin or make_admin()
    try:
        specs = {t.name: t for t in wanted_topics(replication, dlq_partitions)}
        listed = set(admin.list_topics())
        present = [name for name in specs if name in listed]
        existing = {
            t.get("name", t.get("topic")): len(t["partitions"])
            for t in (admin.describe_topics(present) if present else [])
        }
        changed = []
        for name, spec in specs.items():
            if name not in existing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([spec], timeout_ms=30000)
                changed.append(f"created {name}")
            elif existing[name] < spec.num_partitions:
                admin.create_partitions({name: NewPartitions(spec.num_partitions)})
                changed.append(f"grew {name} to {spec.num_partitions} partitions")
        return changed
    finally:
        if own:
            admin.close()


if __name__ == "__main__":
    import sys

    print("\n".join(ensure_topics(int(sys.argv[1]) if len(sys.argv) > 1 else 1)) or "no change")
