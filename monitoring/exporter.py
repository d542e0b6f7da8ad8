"""`python -m monitoring.exporter`: serve the system gauges (monitoring/collector.py) and this
process's own metrics on 127.0.0.1:$COMANDA_PROCESS_METRICS_PORT until SIGTERM."""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY

from app.core import metrics
from app.core.logs import setup_logging
from events.shutdown import GracefulExit
from monitoring.collector import SystemCollector, wait_forever

log = logging.getLogger("comanda.exporter")


def main() -> None:
    setup_logging("exporter")
    stop = GracefulExit()
    REGISTRY.register(SystemCollector())
    port = metrics.serve(REGISTRY)
    log.info("exporter serving system metrics on 127.0.0.1:%s/metrics", port)
    wait_forever(stop)
    log.info("exporter stopped")


if __name__ == "__main__":
    main()
