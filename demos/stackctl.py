"""The stack a demo acts on: stack/appctl.py's view of its app processes and API, with
seeds/client.py's session (nginx verified against the stack CA). Read from the environment
the way ``python -m stack`` reads it, so a demo acts on exactly the stack that command would.
It never signals a process itself: the fault-tolerance demo's kills are the chaos harness's.
"""

from __future__ import annotations

from seeds.client import session
from stack.appctl import PROGRAMS, AppStack, Program, parse_status
from stack.config import Config

__all__ = ["PROGRAMS", "Program", "Stack", "parse_status"]


class Stack(AppStack):
    def __init__(self, cfg: Config | None = None) -> None:
        cfg = cfg or Config.from_env()
        super().__init__(cfg, session(str(cfg.ca_file)))
