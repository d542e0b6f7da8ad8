"""The dead-letter topic: list what is there, replay chosen messages after a fix.

    python -m events.dlq list [--limit N]
    python -m events.dlq replay PARTITION:OFFSET [...]

Replaying sends the original key and value back to the topic it came from (header
``origin_topic``); consumers are idempotent on event_id, so a replay is safe to repeat.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from app.core.settings import get_settings
from events.kafka import make_consumer, make_producer
from events.reading import read_to_end, text_headers


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def spot(self) -> str:
        return f"{self.partition}:{self.offset}"


def read_all(limit: int | None = None) -> list[DeadLetter]:
    topic = get_settings().dlq_topic
    consumer = make_consumer(None, consumer_timeout_ms=1000)
    try:
        found = [
            DeadLetter(
                m.partition,
                m.offset,
                m.key,
                m.value,
                text_headers(m),
            )
            for m in read_to_end(consumer, topic)
        ]
    finally:
        consumer.close()
    found.sort(key=lambda d: (d.partition, d.offset))
    return found[:limit] if limit else found


def replay(spots: list[str]) -> list[str]:
    wanted = set(spots)
    letters = [d for d in read_all() if d.spot in wanted]
    missing = wanted - {d.spot for d in letters}
    if missing:
        raise SystemExit(f"not in the dead-letter topic: {', '.join(sorted(missing))}")
    producer = make_producer(client_id="comanda-dlq-replay")
    try:
        for letter in letters:
            origin = letter.headers.get("origin_topic") or get_settings().orders_topic
            producer.send(
                origin,
                key=letter.key,
                value=letter.value,
                headers=[("replayed_from", letter.spot.encode())],
            ).get(timeout=30)
    finally:
        producer.close()
    return [d.spot for d in letters]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m events.dlq",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show dead letters with their error and origin")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    again = sub.add_parser("replay", help="send chosen dead letters back to their topic")
    again.add_argument("spots", nargs="+", metavar="PARTITION:OFFSET")
    args = parser.parse_args(argv)
    if args.command == "replay":
        for spot in replay(args.spots):
            print(f"replayed {spot}")
        return 0
    letters = read_all(args.limit)
    for d in letters:
        entry = {
            "spot": d.spot,
            "key": d.key.decode(errors="replace") if d.key else None,
            **d.headers,
            "value": (d.value or b"")[:200].decode(errors="replace"),
        }
        print(
            json.dumps(entry)
            if args.json
            else f"{d.spot:>8}  {entry.get('origin_topic')}[{entry.get('origin_partition')}]"
            f"@{entry.get('origin_offset')}  {entry.get('consumer_group')}: {entry.get('error')}"
        )
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
