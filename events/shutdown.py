"""SIGTERM/SIGINT become a flag the loops check between units of work."""

from __future__ import annotations

import signal


class GracefulExit:
    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True
