"""Topic layout: ``orders`` keyed by restaurant, and its dead-letter topic.

``orders`` keeps its events forever (retention -1) so the admin projection can be rebuilt
by replaying it from the start.
"""

from __future__ import annotations

import logging

from kafka.admin import NewTopic
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


def ensure_topics(replication: int = 1) -> list[str]:
    """Create missing topics; return the names created."""
    admin = make_admin()
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted_topics(replication) if t.name not in existing]
        created = []
        for topic in missing:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


if __name__ == "__main__":
    import sys

    print("created:", ensure_topics(int(sys.argv[1]) if len(sys.argv) > 1 else 1) or "none")
