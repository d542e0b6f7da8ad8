"""The short version of every concept demo, run the way a person runs it (``python -m demos
<name> --short``) against the stack `make test` brought up. Checked: it ran, printed its
table and lesson, and wrote a fresh PNG. Never speed figures: those are the demos' to show."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demos.registry import DEMOS
from stack.config import REPO

pytestmark = [pytest.mark.demo, pytest.mark.integration]
PNG = b"\x89PNG\r\n\x1a\n"


# fault-tolerance kills processes under load: a chaos test as well.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(d.name, marks=[pytest.mark.chaos] if d.name == "fault-tolerance" else [])
        for d in DEMOS
    ],
)
def test_demo_runs_and_writes_its_table_and_chart(name: str) -> None:
    t0 = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "demos", name, "--short"],
        cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, f"demo {name} failed:\n{out[-3000:]}\n{done.stderr[-3000:]}"
    assert re.search(r"^\| .+ \|$\n^\|-", out, re.M), f"no table in the output:\n{out[-3000:]}"
    assert "What to notice:" in out, out[-2000:]
    found = re.search(r"^chart: (.+\.png)$", out, re.M)
    assert found, f"no chart line:\n{out[-2000:]}"
    chart = Path(found.group(1))
    assert chart.exists() and chart.stat().st_mtime >= t0 - 1, f"{chart} was not written now"
    assert chart.read_bytes()[:8] == PNG
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
