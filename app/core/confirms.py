"""Which publishes RabbitMQ has not confirmed yet, on one channel in confirm mode (pure).

A channel in confirm mode numbers its publishes 1, 2, 3, ... (the delivery tags) and
RabbitMQ answers each with basic.ack or basic.nack, one tag at a time or, with `multiple`,
every tag up to the one given. Tracking that lets a publisher send a whole batch and then
wait once for all of it, instead of one round trip per message (app/core/batch_publish.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Unconfirmed:
    last_tag: int = 0  # the tag of the latest publish on the channel
    waiting: set[int] = field(default_factory=set)
    nacked: int = 0  # publishes RabbitMQ refused (nack): they are not queued

    def published(self) -> int:
        self.last_tag += 1
        self.waiting.add(self.last_tag)
        return self.last_tag

    def _settle(self, tag: int, multiple: bool) -> int:
        done = {t for t in self.waiting if t <= tag} if multiple else {tag} & self.waiting
        self.waiting -= done
        return len(done)

    def ack(self, tag: int, multiple: bool = False) -> None:
        self._settle(tag, multiple)

    def nack(self, tag: int, multiple: bool = False) -> None:
        self.nacked += self._settle(tag, multiple)

    def settled(self) -> bool:
        """True when RabbitMQ answered every publish (look at `nacked` for refusals)."""
        return not self.waiting
