"""CPU and memory of the stack's processes, from /proc: each supervisord program (API,
relay, consumers, worker, beat) and each service (PostgreSQL, Kafka, RabbitMQ), each with
all its descendants. CPU counts a process's own time and that of its children it reaped,
so a PostgreSQL backend that ended in the window still counts."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from stack.config import Config

TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            todo += [
                int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()
            ]
        except (OSError, ValueError):
            continue
    return out


def _cpu_s(pid: int, reaped: bool = True) -> float:
    """A process's CPU seconds, with (``reaped``) those of its children it reaped."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()
    ticks = fields[11:15] if reaped else fields[11:13]  # utime stime, then cutime cstime
    return sum(int(x) for x in ticks) / TICK


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def roots() -> dict[str, int]:
    """name -> pid: supervisord's running programs, supervisord itself and the services'
    pid files."""
    cfg = Config.from_env()
    found = {}
    status = subprocess.run(
        [
            str(Path(sys.prefix) / "bin" / "supervisorctl"),
            "-c",
            str(cfg.conf_dir / "supervisord.conf"),
            "status",
        ],
        capture_output=True,
        text=True,
    ).stdout
    for line in status.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == "RUNNING" and parts[2] == "pid":
            found[parts[0]] = int(parts[3].rstrip(","))
    for pidfile in sorted(cfg.pids_dir.glob("*.pid")):
        try:
            found[pidfile.stem] = int(pidfile.read_text().split()[0])
        except (ValueError, IndexError, OSError):
            continue
    return found


# supervisord is counted alone: it reads every program's output and writes the logs (about
# 0.4 ms per order at 80 orders/s), but its children are the programs, each counted under its
# own name, and what it reaped is a program that was restarted.
SUPERVISOR = "supervisord"


def _pids(name: str, pid: int) -> list[int]:
    return [pid] if name == SUPERVISOR else _tree(pid)


def cpu_seconds(found: dict[str, int] | None = None) -> dict[str, float]:
    found = found or roots()
    return {
        name: sum(_cpu_s(p, reaped=name != SUPERVISOR) for p in _pids(name, pid))
        for name, pid in found.items()
    }


def own_cpu_seconds() -> float:
    """The bench's own CPU (the load generator and the probes), apart from the stack's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib(found: dict[str, int] | None = None) -> dict[str, float]:
    """name -> RSS of its largest single process (the 150 MB limit is per process)."""
    found = found or roots()
    return {name: max(_rss_mib(p) for p in _pids(name, pid)) for name, pid in found.items()}
