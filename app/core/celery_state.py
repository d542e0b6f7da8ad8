"""What the console shows of the Celery side: the workers that answer a ping, and how many
messages wait in each queue.

Both are bounded: the ping waits at most ``timeout`` seconds for replies (a dead worker simply
does not answer), and the queue depth is a passive declare, which reads the count without
creating or changing the queue.
"""

from __future__ import annotations

from kombu import Connection

from app.core.settings import get_settings
from app.core.task_queue import QUEUES, make_celery

_client = None


def queue_depths(names: tuple[str, ...] = QUEUES) -> list[dict]:
    """[{queue, messages, consumers}] per queue; raises when RabbitMQ cannot be reached."""
    out = []
    with Connection(get_settings().celery_broker_url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for name in names:
            _, messages, consumers = channel.queue_declare(queue=name, passive=True)
            out.append({"queue": name, "messages": messages, "consumers": consumers})
    return out


def workers(timeout: float = 0.5) -> list[dict]:
    """[{name, pid, concurrency, processed}] for every worker that answers within ``timeout``
    (one broadcast; the call always waits the whole timeout for stragglers)."""
    global _client
    if _client is None:  # the sending client is enough to broadcast; made once per process
        _client = make_celery("comanda-console")
    stats = _client.control.inspect(timeout=timeout).stats() or {}
    rows = []
    for name in sorted(stats):
        info = stats[name]
        rows.append(
            {
                "name": name,
                "pid": info.get("pid"),
                "concurrency": (info.get("pool") or {}).get("max-concurrency"),
                "processed": sum((info.get("total") or {}).values()),
            }
        )
    return rows
