"""Resident memory of the stack's processes, read from /proc via the stack's pid files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack.config import Config


def _rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def stack_memory() -> list[tuple[str, float]]:
    cfg = Config.from_env()
    rows = []
    conf = cfg.conf_dir / "supervisord.conf"
    status = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "supervisorctl"), "-c", str(conf), "status"],
        capture_output=True,
        text=True,
    ).stdout
    for line in status.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == "RUNNING" and parts[2] == "pid":
            rows.append((parts[0], _rss_mib(int(parts[3].rstrip(",")))))
    for pidfile in sorted(cfg.pids_dir.glob("*.pid")):
        if pidfile.stem in ("supervisord",):
            continue
        try:
            rows.append((f"service:{pidfile.stem}", _rss_mib(int(pidfile.read_text().split()[0]))))
        except (ValueError, IndexError):
            continue
    return rows
