"""Apache Kafka in KRaft mode (combined broker+controller), from jars Maven resolves.

One broker by default; COMANDA_KAFKA_BROKERS=3 runs nodes 1-3 on ports base, base+10, base+20
with replication factor 3 and min.insync.replicas=2. Service names: `kafka` is every broker;
`kafka-<n>` is broker n (for chaos tests).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from kafka import KafkaAdminClient

from .config import Config
from .proc import (
    ServiceError,
    Status,
    alive,
    log,
    pid_if_alive,
    port_open,
    run,
    spawn,
    terminate,
    wait_for,
    write_pid,
)

NAME = "kafka"
HERE = Path(__file__).resolve().parent / "kafka"
POM = HERE / "pom.xml"
LOG4J = HERE / "log4j2.properties"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 45.0


def nodes(cfg: Config) -> list[int]:
    return list(range(1, cfg.kafka_brokers + 1))


def broker_name(cfg: Config, node: int) -> str:
    return NAME if cfg.kafka_brokers == 1 else f"{NAME}-{node}"


def parse_name(cfg: Config, name: str) -> list[int]:
    """`kafka` -> every node; `kafka-2` -> [2]."""
    if name == NAME:
        return nodes(cfg)
    node = int(name.removeprefix(f"{NAME}-"))
    if node not in nodes(cfg):
        raise SystemExit(f"stack: no broker {name} (COMANDA_KAFKA_BROKERS={cfg.kafka_brokers})")
    return [node]


def libs_dir(cfg: Config) -> Path:
    return cfg.state_dir / "kafka-libs"


def kafka_dir(cfg: Config) -> Path:
    return cfg.data_dir / "kafka"


def node_dir(cfg: Config, node: int) -> Path:
    return kafka_dir(cfg) / f"node-{node}"


def props_path(cfg: Config, node: int) -> Path:
    return cfg.conf_dir / f"kafka-{node}.properties"


def log_path(cfg: Config, node: int) -> Path:
    return cfg.logs_dir / f"{broker_name(cfg, node)}.log"


def pidfile(cfg: Config, node: int) -> Path:
    return cfg.pids_dir / f"{broker_name(cfg, node)}.pid"


def running_pid(cfg: Config, node: int) -> int | None:
    return pid_if_alive(pidfile(cfg, node), str(props_path(cfg, node)))


def ensure_libs(cfg: Config) -> Path:
    """Copy the broker's runtime jars into <state>/kafka-libs unless this pom was copied already."""
    libs = libs_dir(cfg)
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    stamp = libs / ".pom-sha256"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return libs
    tmp = cfg.state_dir / "kafka-libs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    log("kafka: resolving broker jars with mvn (first run downloads ~45 MB) ...")
    cmd = [
        "mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}", "-DincludeScope=runtime",
    ]  # fmt: skip
    try:
        run(cmd, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        out = getattr(exc, "stdout", "") or ""
        raise ServiceError(NAME, f"mvn could not resolve the broker jars: {exc}\n{out}") from None
    (tmp / ".pom-sha256").write_text(digest + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    return libs


def _voters(cfg: Config) -> str:
    return ",".join(f"{n}@127.0.0.1:{cfg.kafka_ctrl_port(n)}" for n in nodes(cfg))


def render_props(cfg: Config, node: int) -> str:
    rf = min(3, cfg.kafka_brokers)
    isr = 2 if rf >= 3 else 1
    port, cport = cfg.kafka_broker_port(node), cfg.kafka_ctrl_port(node)
    listeners = f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}"
    settings = {
        "process.roles": "broker,controller",
        "node.id": node,
        "controller.quorum.voters": _voters(cfg),
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": node_dir(cfg, node),
        "num.partitions": 6,
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
        "unclean.leader.election.enable": "false",
        "num.network.threads": 3,
        "num.io.threads": 4,
        # The active controller appends a no-op record to the metadata log this often when
        # nothing else changes (500 ms by default: a write to the log, read back by every
        # broker, twice a second with nothing to say). It only lets a broker see that its
        # metadata is current (KIP-835); every 5 s does that too. docs/perf-events.md
        "metadata.max.idle.interval.ms": 5000,
    }
    head = "# Rendered by `python -m stack` on every start; edits are overwritten.\n"
    return head + "".join(f"{k}={v}\n" for k, v in settings.items())


def _java_base(cfg: Config, libs: Path) -> list[str]:
    return [
        "java", *cfg.kafka_heap.split(), "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        # C1 only: a one-node dev broker at tens of requests a second never repays C2's
        # compiling (a C2 compiler thread was half the broker's CPU, idle or under load,
        # for many minutes after each start). docs/perf-events.md "Fourth round".
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={LOG4J}",
        "-cp", f"{libs}/*",
    ]  # fmt: skip


def _cluster_id(cfg: Config) -> str:
    """Read, or make once, the cluster id (Kafka's url-safe base64 UUID form)."""
    path = kafka_dir(cfg) / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            break
    path.write_text(cid + "\n")
    return cid


def _check_layout(cfg: Config) -> None:
    marker = kafka_dir(cfg) / "brokers"
    if marker.exists() and marker.read_text().strip() != str(cfg.kafka_brokers):
        raise ServiceError(
            NAME,
            f"data in {kafka_dir(cfg)} was formatted for {marker.read_text().strip()} broker(s), "
            f"COMANDA_KAFKA_BROKERS={cfg.kafka_brokers}: run `python -m stack reset` first",
        )
    marker.write_text(f"{cfg.kafka_brokers}\n")


def _format(cfg: Config, node: int, libs: Path) -> None:
    if (node_dir(cfg, node) / "meta.properties").exists():
        return
    cmd = [
        *_java_base(cfg, libs), "kafka.tools.StorageTool", "format",
        "-t", _cluster_id(cfg), "-c", str(props_path(cfg, node)),
    ]  # fmt: skip
    try:
        run(cmd, timeout=120)
    except subprocess.CalledProcessError as exc:
        raise ServiceError(
            broker_name(cfg, node), f"storage format failed:\n{exc.stdout}{exc.stderr}"
        ) from None
    log(f"{broker_name(cfg, node)}: formatted {node_dir(cfg, node)}")


def _admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap.split(","),
        client_id="comanda-stack",
        request_timeout_ms=10000,
    )


def broker_ready(cfg: Config, node: int) -> bool:
    """This broker answers a metadata request and is registered in the cluster."""
    if not port_open(cfg.kafka_broker_port(node)):
        return False  # a client bootstrapping against a closed port backs off for seconds
    admin = _admin(f"127.0.0.1:{cfg.kafka_broker_port(node)}")
    try:
        brokers = admin.describe_cluster()["brokers"]
        return node in {int(b.get("broker_id", b.get("node_id", -1))) for b in brokers}
    finally:
        admin.close()


def ensure_topics(cfg: Config) -> None:
    # The topics' one definition and the one way to make them are the app's (events/topics.py).
    from events.topics import ensure_topics as ensure

    admin = _admin(cfg.kafka_bootstrap)
    try:
        for change in ensure(min(3, cfg.kafka_brokers), cfg.dlq_partitions, admin):
            log(f"kafka: {change}")
        # Ask for a group coordinator once so __consumer_offsets exists before the app starts.
        # The first lookup creates the topic; retry until the coordinator answers.
        if not wait_for(lambda: bool(admin.describe_groups(["comanda-stack-warmup"])), 30, 0.5):
            log("kafka: warning: group coordinator not available yet")
    finally:
        admin.close()


def _start_node(cfg: Config, node: int, libs: Path) -> int:
    name = broker_name(cfg, node)
    pid = running_pid(cfg, node)
    if pid:
        return pid
    port, cport = cfg.kafka_broker_port(node), cfg.kafka_ctrl_port(node)
    for p in (port, cport):
        if port_open(p):
            raise ServiceError(name, f"port {p} is taken by another process", log_path(cfg, node))
    node_dir(cfg, node).mkdir(parents=True, exist_ok=True)
    props_path(cfg, node).write_text(render_props(cfg, node))
    _format(cfg, node, libs)
    cmd = [*_java_base(cfg, libs), "kafka.Kafka", str(props_path(cfg, node))]
    proc = spawn(cmd, log_path(cfg, node), env=os.environ, cwd=cfg.state_dir)
    write_pid(pidfile(cfg, node), proc.pid)
    log(f"{name}: started pid {proc.pid} on 127.0.0.1:{port}")
    return proc.pid


def start(cfg: Config, name: str = NAME) -> None:
    targets = parse_name(cfg, name)
    cfg.conf_dir.mkdir(parents=True, exist_ok=True)
    kafka_dir(cfg).mkdir(parents=True, exist_ok=True)
    _check_layout(cfg)
    libs = ensure_libs(cfg)
    already = {node for node in targets if running_pid(cfg, node)}
    pids = {node: _start_node(cfg, node, libs) for node in targets}
    for node, pid in pids.items():
        bname = broker_name(cfg, node)
        ok = wait_for(
            lambda n=node: broker_ready(cfg, n),
            READY_TIMEOUT,
            interval=0.5,
            still_alive=lambda p=pid: alive(p),
        )
        if not ok:
            why = "exited" if not alive(pid) else f"did not answer in {READY_TIMEOUT:.0f}s"
            raise ServiceError(bname, f"broker {why}", log_path(cfg, node))
        state = "already running" if node in already else "ready"
        log(f"{bname}: {state} on 127.0.0.1:{cfg.kafka_broker_port(node)} (pid {pid})")
    if name == NAME:
        try:
            ensure_topics(cfg)
        except Exception as exc:
            raise ServiceError(NAME, f"topic setup failed: {exc!r}", log_path(cfg, 1)) from None


def stop(cfg: Config, name: str = NAME) -> None:
    targets = parse_name(cfg, name)
    pids = {node: running_pid(cfg, node) for node in targets}
    # Signal every broker first, then wait: stopping them one by one can stall a KRaft quorum.
    for pid in pids.values():
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    for node, pid in pids.items():
        if pid:
            killed = terminate(pid, STOP_TIMEOUT)
            how = "killed after timeout" if killed else "stopped"
            log(f"{broker_name(cfg, node)}: {how} (pid {pid})")
        pidfile(cfg, node).unlink(missing_ok=True)


def wipe(cfg: Config) -> None:
    shutil.rmtree(kafka_dir(cfg), ignore_errors=True)


def status(cfg: Config) -> list[Status]:
    return [
        Status(broker_name(cfg, n), running_pid(cfg, n), cfg.kafka_broker_port(n), log_path(cfg, n))
        for n in nodes(cfg)
    ]
