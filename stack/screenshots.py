"""`python -m stack screenshots`: the README's pictures of Flower and of Prometheus graphing
the pipeline step p99, taken from the running stack with headless Chromium (Debian's
`chromium`, installed with apt when missing, as for the console's browser tests)."""

from __future__ import annotations

import subprocess
import urllib.parse

from .config import Config
from .proc import log

P99 = (
    "histogram_quantile(0.99, sum by (le, step)"
    " (rate(comanda_pipeline_step_duration_seconds_bucket[1m])))"
)


def shots(cfg: Config) -> dict[str, tuple[str, str]]:
    """file -> (url, window size). Flower's login goes in the URL (basic auth)."""
    env = cfg.monitoring_env()
    graph = urllib.parse.urlencode(
        {"g0.expr": P99, "g0.tab": "0", "g0.range_input": "15m", "g0.stacked": "0"}
    )
    flower = env["FLOWER_URL"].replace(
        "http://", f"http://{cfg.flower_user}:{cfg.flower_password}@"
    )
    return {
        "flower.png": (f"{flower}/", "1280,800"),
        "prometheus.png": (f"{env['PROMETHEUS_URL']}/graph?{graph}", "1280,960"),
    }


def run(cfg: Config) -> int:
    from . import prereqs

    prereqs.ensure_browser()  # Chromium from apt, with the lock timeout
    out_dir = cfg.repo / "docs" / "img"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (url, size) in shots(cfg).items():
        cmd = [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={size}", "--virtual-time-budget=15000",
            f"--screenshot={out_dir / name}", url,
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        log(f"screenshot: {out_dir / name}")
    return 0
