"""`python -m stack trace <order id>`: one order's whole path, in time order, across every
process's log.

The order's correlation ids come from its outbox rows (each event records the id of the
request or step that wrote it) and from log lines that name the order; every line of
.run/logs/*.log carrying one of those ids, or naming the order, is printed, merged by
timestamp. Lines without a timestamp of their own (a traceback) stay with the line above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from .config import Config

# The formats our processes write: app/core/logs.py, Celery's, gunicorn's access log, JSON.
_STAMPS = [
    (re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?)"), None),
    (re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+):"), None),
    (re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}) [+-]\d{4}\]"), "%d/%b/%Y:%H:%M:%S"),
    (re.compile(r'^\{"at": "([^"]+)"'), None),
]
# A correlation id in brackets; process labels ([api], [comanda-pipeline]) have no digit.
_CORRELATION = re.compile(r"\[([0-9A-Za-z_.:-]*\d[0-9A-Za-z_.:-]*)\]")


def timestamp(line: str) -> datetime | None:
    for pattern, fmt in _STAMPS:
        m = pattern.search(line)
        if m:
            raw = m.group(1)
            try:
                if fmt:
                    return datetime.strptime(raw, fmt)
                return datetime.fromisoformat(raw.replace(",", ".").replace(" ", "T"))
            except ValueError:
                continue
    return None


def names_order(line: str, order_id: int) -> bool:
    """ "order 42", "order_id=42", "orders/42", "order #42", '"order_id": 42' - never 421."""
    return (
        re.search(rf"\border(?:s/|_id\"?[=:]\s*|\s+#?|\s*=\s*){order_id}(?!\d)", line) is not None
    )


def correlation_ids_in(lines: Iterable[str], order_id: int) -> set[str]:
    """The bracketed correlation ids of log lines that name the order."""
    found: set[str] = set()
    for line in lines:
        if names_order(line, order_id):
            found.update(m for m in _CORRELATION.findall(line) if 8 <= len(m) <= 64)
    return found


def records(label: str, lines: Iterable[str]) -> Iterator[tuple[datetime, str, str]]:
    """(time, label, text) per record; untimed lines join the record above."""
    current: tuple[datetime, str, list[str]] | None = None
    for line in lines:
        at = timestamp(line)
        if at is None:
            if current is not None:
                current[2].append(line)
            continue
        if current is not None:
            yield current[0], label, "\n".join(current[2])
        current = (at, label, [line])
    if current is not None:
        yield current[0], label, "\n".join(current[2])


def matching(recs: Iterable[tuple[datetime, str, str]], ids: set[str], order_id: int):
    for rec in recs:
        text = rec[2]
        if names_order(text, order_id) or any(cid in text for cid in ids):
            yield rec


def merge(per_file: list[Iterable[tuple[datetime, str, str]]]):
    """A stable sort by time, not a k-way merge: one file can hold two clocks (gunicorn's
    access lines have whole seconds, the app's lines milliseconds)."""
    return sorted((rec for recs in per_file for rec in recs), key=lambda rec: rec[0])


def _outbox_ids(cfg: Config, order_id: int) -> set[str]:
    import psycopg

    url = cfg.app_env()["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT DISTINCT headers->>'correlation_id' FROM outbox"
                " WHERE (payload->>'order_id')::bigint = %s",
                (order_id,),
            ).fetchall()
    except psycopg.Error as exc:
        print(f"trace: outbox not readable ({exc.__class__.__name__}); using the logs only")
        return set()
    return {r[0] for r in rows if r[0]}


def _read(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines()


def run(cfg: Config, order_id: int) -> int:
    files = sorted(cfg.logs_dir.glob("*.log"))
    texts = {p.stem: _read(p) for p in files}
    ids = _outbox_ids(cfg, order_id)
    ids |= correlation_ids_in((ln for lines in texts.values() for ln in lines), order_id)
    print(f"order {order_id}: correlation ids {', '.join(sorted(ids)) or '(none found)'}")
    width = max((len(k) for k in texts), default=0)
    count = 0
    streams = [matching(records(label, lines), ids, order_id) for label, lines in texts.items()]
    for _, label, text in merge(streams):
        print(f"{label:<{width}} | {text}")
        count += 1
    if count == 0:
        print(f"trace: no log line mentions order {order_id} in {cfg.logs_dir}")
        return 1
    return 0
