"""`python -m monitoring.exporter`: refresh the system gauges (monitoring/collector.py) every
5 s and serve them, with this process's own metrics, on 127.0.0.1:$COMANDA_PROCESS_METRICS_PORT
until SIGTERM."""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY

from app.core import metrics
from app.core.logs import setup_logging
from events.shutdown import GracefulExit
from monitoring.collector import SystemCollector, refresh_until

log = logging.getLogger("comanda.exporter")


def main() -> None:
    setup_logging("exporter")
    stop = GracefulExit()
    collector = SystemCollector()
    collector.refresh()  # the first scrape already has numbers
    REGISTRY.register(collector)
    port = metrics.serve(REGISTRY)
    log.info("exporter serving system metrics on 127.0.0.1:%s/metrics", port)
    refresh_until(collector, stop)
    log.info("exporter stopped")


if __name__ == "__main__":
    main()
