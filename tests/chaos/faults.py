"""Faults: what gets killed, stopped and restarted, one after the other, in a thread beside the
traffic; each fault is timed until the stack has recovered from it.

Recovered means: /readyz answers 200, supervisord shows every program RUNNING (a killed one
with a new pid, a killed child replaced), and the backlog that existed when the fault was
lifted has drained: outbox rows written before then are on Kafka, every consumer group has
committed past the offsets of then, and the harness's orders placed before then have left
PLACED.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.chaos.kafka_io import ORDERS, poison_values
from tests.chaos.ledger import Ledger
from tests.chaos.probe import Probe
from tests.chaos.stackctl import FORKING, PROGRAMS, Stack


@dataclass
class Fault:
    kind: str  # e.g. "kill -9 relay", "restart postgres", "kill -9 kafka-2", "poison"
    started: float = 0.0  # wall clock: injected
    lifted: float = 0.0  # wall clock: the service was started again (kills: = started)
    recovered: float | None = None
    outage: float = 0.0  # planned downtime of a service
    detail: str = ""
    ok: bool = True

    @property
    def recovery(self) -> float | None:
        return None if self.recovered is None else self.recovered - self.lifted


@dataclass
class Plan:
    """The faults to inject: ``first`` once, in order; then ``rounds`` drawn again and again
    until the traffic stops; ``midway`` once when half the run has passed."""

    first: list[str]
    rounds: list[str] = field(default_factory=list)
    midway: list[str] = field(default_factory=list)


def short_plan(rng: random.Random, brokers: int) -> Plan:
    """~2-3 minutes: kill -9 of the app processes (one of the two read-model consumers: each
    consumer kill waits for a new process to start and re-join its group; with the stack's
    static membership it no longer also waits out the dead member's session) and of a
    forked child of each forking one, one restart of each service (three-broker mode:
    kill -9 of the busiest broker), and three poison messages."""
    consumers = ["feed", "projector"]
    skip = rng.choice(consumers)
    kills = [f"kill -9 {p}" for p in PROGRAMS if p != skip]
    kills += [f"kill -9 {p} child" for p in FORKING]
    rng.shuffle(kills)
    services = ["restart postgres", "restart rabbitmq"]
    services.append("restart kafka" if brokers == 1 else "kill -9 kafka leader")
    rng.shuffle(services)
    plan: list[str] = []
    per = max(1, len(kills) // len(services))
    for i, service in enumerate(services):
        plan += kills[i * per : (i + 1) * per] + ["poison", service]
    plan += kills[len(services) * per :]
    return Plan(first=plan)


def long_plan(rng: random.Random, brokers: int) -> Plan:
    kills = [f"kill -9 {p}" for p in PROGRAMS] + [f"kill -9 {p} child" for p in FORKING]
    terms = [f"SIGTERM {p}" for p in ("relay", "pipeline", "worker", "worker-followups", "api")]
    services = ["restart postgres", "restart rabbitmq", "kill -9 rabbitmq"]
    if brokers == 1:
        services += ["restart kafka", "kill -9 kafka"]
        midway = []
    else:
        services += ["restart kafka-1", "restart kafka-2", "restart kafka-3", "kill -9 kafka any"]
        midway = ["kill -9 kafka leader"]
    every = kills + terms + services + ["poison", "poison"]
    first = list(every)
    rng.shuffle(first)
    return Plan(first=first, rounds=every, midway=midway)


class Faults:
    def __init__(
        self,
        stack: Stack,
        probe: Probe,
        ledger: Ledger,
        plan: Plan,
        seed: int,
        outage: tuple[float, float],
        gap: tuple[float, float],
        recovery_limit: float,
        compound: float = 0.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.stack, self.probe, self.ledger, self.plan = stack, probe, ledger, plan
        self.rng = random.Random(seed * 31 + 7)
        self.downtime, self.gap, self.limit = outage, gap, recovery_limit
        self.compound = compound  # chance of also killing an app process during an outage
        self.log = log
        self.done: list[Fault] = []
        self.stop = threading.Event()
        self.outage = threading.Event()  # a service is down on purpose right now
        self.first_done = threading.Event()
        self.midway_at: float | None = None  # monotonic time after which ``midway`` runs
        self.thread: threading.Thread | None = None
        self.poisons = poison_values()
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ loop

    def start(self, midway_at: float | None = None) -> None:
        self.midway_at = midway_at
        self.thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self.thread.start()

    def join(self, timeout: float = 600) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout)

    def mandatory_done(self) -> bool:
        return self.first_done.is_set() and not self.plan.midway

    def _run(self) -> None:
        try:
            queue = list(self.plan.first)
            while not self.stop.is_set():
                if self.plan.midway and self.midway_at and time.monotonic() >= self.midway_at:
                    kind = self.plan.midway.pop(0)
                elif queue:
                    kind = queue.pop(0)
                elif self.plan.rounds:
                    self.first_done.set()
                    queue = list(self.plan.rounds)
                    self.rng.shuffle(queue)
                    continue
                else:
                    self.first_done.set()
                    if self.plan.midway:
                        time.sleep(1)
                        continue
                    return
                if not self.inject(kind):
                    queue.append(kind)  # could not inject now (e.g. poison while Kafka is down)
                if not queue and not self.plan.rounds:
                    self.first_done.set()
                self.stop.wait(self.rng.uniform(*self.gap))
        except BaseException as exc:  # noqa: BLE001 - reported by the runner
            self.error = exc
            self.log(f"faults: stopped by {exc!r}")
        finally:
            self.first_done.set()

    # ------------------------------------------------------------------ injection

    def inject(self, kind: str) -> bool:
        words = kind.split()
        if kind == "poison":
            return self.poison()
        if words[0] == "SIGTERM":
            return self.term_program(words[1])
        if kind.startswith("kill -9 kafka"):
            if self.stack.brokers == 1:
                return self.kill_service(kind, "kafka")
            return self.kill_broker(kind, words[2])
        if kind == "kill -9 rabbitmq":
            return self.kill_service(kind, "rabbitmq")
        if words[0] == "kill":
            child = len(words) > 3
            if child and words[2] not in FORKING:
                # Never injectable: retried until the traffic cap, it would only stretch the
                # run (the short demo once asked for a child of the threads-pool worker).
                raise ValueError(f"{kind}: {words[2]} forks no children here ({set(FORKING)})")
            return self.kill_program(kind, words[2], child=child)
        if words[0] == "restart":
            return self.restart_service(kind, words[1])
        raise ValueError(f"unknown fault {kind!r}")

    def record(self, fault: Fault) -> Fault:
        self.done.append(fault)
        took = f"{fault.recovery:.1f}s" if fault.recovery is not None else "NOT RECOVERED"
        self.log(f"fault: {fault.kind} {fault.detail} -> recovered in {took}")
        return fault

    def kill_program(self, kind: str, name: str, child: bool) -> bool:
        progs = self.stack.programs()
        prog = progs.get(name)
        if prog is None or prog.pid is None or prog.state != "RUNNING":
            self.log(f"fault: {kind} skipped for now: {name} is {prog and prog.state}")
            return False
        fault = Fault(kind)
        if child:
            kids = self.stack.children(prog.pid)
            if not kids:
                return False
            victim = self.rng.choice(kids)
            fault.started = fault.lifted = time.time()
            self.stack.kill(victim, signal.SIGKILL)
            fault.detail = f"(pid {victim} of {name} {prog.pid})"

            def replaced() -> bool:
                now = self.stack.children(prog.pid)
                return victim not in now and len(now) >= len(kids)

            self.wait_recovered(fault, extra=replaced)
        else:
            fault.started = fault.lifted = time.time()
            self.stack.kill(prog.pid, signal.SIGKILL)
            fault.detail = f"(pid {prog.pid})"

            def restarted() -> bool:
                now = self.stack.programs().get(name)
                return now is not None and now.state == "RUNNING" and now.pid != prog.pid

            self.wait_recovered(fault, extra=restarted)
        self.record(fault)
        return True

    def term_program(self, name: str) -> bool:
        """A graceful restart (SIGTERM, supervisord waits for the exit, then starts it)."""
        prog = self.stack.programs().get(name)
        if prog is None or prog.state != "RUNNING":
            return False
        fault = Fault(f"SIGTERM {name}")
        fault.started = time.time()
        done = self.stack.supervisorctl("restart", name, timeout=120)
        fault.lifted = time.time()
        fault.detail = f"(pid {prog.pid}, stop+start took {fault.lifted - fault.started:.1f}s)"
        if done.returncode != 0:
            fault.detail += f" supervisorctl: {done.stdout.strip()} {done.stderr.strip()}"
        self.wait_recovered(fault)
        self.record(fault)
        return True

    def restart_service(self, kind: str, name: str) -> bool:
        fault = Fault(kind, outage=round(self.rng.uniform(*self.downtime), 1))
        fault.started = time.time()
        ok, out = self.stack.service("stop", name)
        if not ok:
            fault.detail = f"stop failed: {out[-300:]}"
        self.during_outage(fault)
        self.restore(fault, name)
        return True

    def kill_service(self, kind: str, name: str) -> bool:
        """kill -9 of a service's main process (single Kafka broker, RabbitMQ node)."""
        pid = self.service_pid(name)
        if pid is None:
            return False
        fault = Fault(kind, outage=round(self.rng.uniform(*self.downtime), 1))
        fault.started = time.time()
        self.stack.kill(pid, signal.SIGKILL)
        fault.detail = f"(pid {pid})"
        self.during_outage(fault)
        self.restore(fault, name)
        return True

    def kill_broker(self, kind: str, which: str) -> bool:
        """Three-broker mode: kill -9 one broker (the leader of most ``orders`` partitions,
        or any), leave it down for the outage, start it again."""
        nodes = list(range(1, self.stack.brokers + 1))
        node = self.rng.choice(nodes)
        if which == "leader":
            try:
                leaders = list(self.probe.kafka.partition_leaders(ORDERS).values())
                node = max(nodes, key=leaders.count)
            except Exception:  # noqa: BLE001 - any broker will do
                pass
        pid = self.stack.broker_pid(node)
        if pid is None:
            return False
        fault = Fault(kind, outage=round(self.rng.uniform(*self.downtime), 1))
        fault.started = time.time()
        self.stack.kill(pid, signal.SIGKILL)
        fault.detail = f"(kafka-{node}, pid {pid})"
        self.during_outage(fault)
        self.restore(fault, f"kafka-{node}")
        return True

    def service_pid(self, name: str) -> int | None:
        if name == "kafka":
            return self.stack.broker_pid(1)
        from stack import rabbitmq

        return rabbitmq.running_pid(self.stack.cfg)

    def during_outage(self, fault: Fault) -> None:
        """Sit out the outage; sometimes kill an app process meanwhile (a compound fault)."""
        self.outage.set()
        end = time.monotonic() + fault.outage
        if self.compound and self.rng.random() < self.compound:
            time.sleep(self.rng.uniform(0, fault.outage / 2))
            name = self.rng.choice(PROGRAMS)
            prog = self.stack.programs().get(name)
            if prog and prog.pid:
                self.stack.kill(prog.pid, signal.SIGKILL)
                fault.detail += f" + kill -9 {name} (pid {prog.pid}) during the outage"
        time.sleep(max(0.0, end - time.monotonic()))

    def restore(self, fault: Fault, name: str) -> None:
        fault.lifted = time.time()
        ok, out = self.stack.service("start", name)
        self.outage.clear()
        if not ok:
            fault.ok = False
            fault.detail += f" start failed: {out[-400:]}"
            self.log(f"fault: {fault.kind}: start failed, retrying: {out[-400:]}")
            time.sleep(3)
            ok, out = self.stack.service("start", name)
        fault.detail += (
            f" (outage {fault.outage:.0f}s, start took {time.time() - fault.lifted:.1f}s)"
        )
        self.wait_recovered(fault)
        self.record(fault)

    def poison(self) -> bool:
        kind, value = self.poisons[len(self.ledger.poison) % len(self.poisons)]
        tenants = sorted(self.ledger.restaurants) or [1]
        key = str(self.rng.choice(tenants)).encode()
        try:
            partition, offset = self.probe.kafka.produce(ORDERS, key, value)
        except Exception as exc:  # noqa: BLE001 - Kafka may be down: try again later
            self.log(f"fault: poison not sent now ({type(exc).__name__})")
            return False
        self.ledger.poison.append(
            {"kind": kind, "partition": partition, "offset": offset, "key": key.decode()}
        )
        now = time.time()
        fault = Fault("poison", now, now, now, detail=f"({kind} at {ORDERS}[{partition}]@{offset})")
        self.record(fault)
        return True

    # ------------------------------------------------------------------ recovery

    def wait_recovered(self, fault: Fault, extra: Callable[[], bool] | None = None) -> None:
        """Poll until the stack is healthy and the backlog of ``fault.lifted`` has drained."""
        mark = fault.lifted
        marks: dict[int, int] | None = None
        deadline = time.monotonic() + self.limit
        waiting = ""
        while time.monotonic() < deadline:
            if marks is None:
                marks = self.probe.end_offsets()  # where the topic was once Kafka answered
            conditions = (
                ("the process to be replaced", lambda: extra is None or extra()),
                ("/readyz 200", self.stack.ready),
                ("every program RUNNING", self.stack.all_running),
                ("the outbox backlog", lambda: self.probe.unpublished_before(mark) == 0),
                ("the PLACED backlog", lambda: self.probe.placed_before(mark) == 0),
                ("the consumer groups", lambda m=marks: bool(m and self.probe.consumed_up_to(m))),
            )
            waiting = next((name for name, ok in conditions if not ok()), "")
            if not waiting:
                fault.recovered = time.time()
                return
            time.sleep(1)
        fault.ok = False
        fault.detail += f" not recovered within {self.limit:.0f}s (still waiting for {waiting})"
