"""Runs the demo controls against this machine's stack: the supervisord that `make up`
started (spoken to over its XML-RPC unix socket with supervisor's own transport, which is
what supervisorctl does, without forking a Python per poll), the stack's pid files, and
gunicorn's master.

Nothing waits for the effect: programs are stopped and started with wait=False, and Kafka's
`python -m stack stop|start kafka` runs detached (own session, output to logs/demo.log).
Stopping a Celery worker may take its whole graceful period and starting Kafka takes
seconds; no API thread waits for that. The console shows the effect on its next poll.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from xmlrpc.client import Fault, ServerProxy

from supervisor.xmlrpc import SupervisorTransport

from app.demo.targets import TARGETS, command

REPO = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    return Path(os.environ.get("COMANDA_STATE_DIR") or REPO / ".run")


def _supervisor():
    sock = state_dir() / "supervisor.sock"
    transport = SupervisorTransport(serverurl=f"unix://{sock}")
    return ServerProxy("http://127.0.0.1", transport=transport).supervisor


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except OSError:
        return False


def _pid_file(name: str) -> int | None:
    try:
        return int((state_dir() / "pids" / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def spawn(cmd: list[str]) -> None:
    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "demo.log", "ab") as out:
        subprocess.Popen(
            cmd,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def programs() -> dict[str, dict]:
    """{program: {state, pid}}; empty when supervisord is not running (every state then
    shows as UNKNOWN)."""
    try:
        infos = _supervisor().getAllProcessInfo()
    except (OSError, Fault):
        return {}
    return {i["name"]: {"state": i["statename"], "pid": i["pid"] or None} for i in infos}


def api_workers(master: int | None) -> int:
    """gunicorn workers are the master's children."""
    if not master:
        return 0
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return len(f.read().split())
    except OSError:
        return 0


def kafka_pids() -> list[int]:
    pids = state_dir() / "pids"
    found = [_pid_file(p.stem) for p in sorted(pids.glob("kafka*.pid"))]
    return [p for p in found if _alive(p)]


def status() -> dict:
    progs = programs()
    rows = []
    for name, target in TARGETS.items():
        if target.kind == "program":
            info = progs.get(name, {"state": "UNKNOWN", "pid": None})
            rows.append({"name": name, "label": target.label, **info})
        elif target.kind == "api":
            master = progs.get("api", {}).get("pid")
            rows.append(
                {
                    "name": name,
                    "label": target.label,
                    "state": progs.get("api", {}).get("state", "UNKNOWN"),
                    "pid": master,
                    "processes": api_workers(master),
                }
            )
        else:
            pids = kafka_pids()
            rows.append(
                {
                    "name": name,
                    "label": target.label,
                    "state": "RUNNING" if pids else "STOPPED",
                    "pid": pids[0] if pids else None,
                }
            )
    return {"targets": rows}


def apply(target: str, action: str) -> None:
    """Start or stop ``target`` (names from app.demo.targets, checked by the caller)."""
    if TARGETS[target].kind == "api":
        master = programs().get("api", {}).get("pid")
        if not master:
            raise LookupError("the API master is not running")
        if action == "stop" and api_workers(master) <= 1:
            raise LookupError("the last API process stays: it is the one answering you")
        os.kill(master, signal.SIGTTOU if action == "stop" else signal.SIGTTIN)
        return
    if TARGETS[target].kind == "program":
        try:
            if action == "stop":
                _supervisor().stopProcess(target, False)
            else:
                _supervisor().startProcess(target, False)
        except Fault as fault:  # e.g. NOT_RUNNING, ALREADY_STARTED: nothing to do
            raise LookupError(f"{target}: {fault.faultString}") from None
        except OSError:
            raise LookupError("supervisord is not running") from None
        return
    spawn(command(target, action, python=sys.executable))
