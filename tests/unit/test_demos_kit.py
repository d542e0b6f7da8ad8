"""The demos' pure parts: tables, knob detection, forged tokens, the chaos classification,
supervisord's status lines, counting which API process served requests, and the Makefile
listing every demo."""

from __future__ import annotations

import re

import jwt
import pytest

from demos import forge, knobs, served, stackctl
from demos.fault_tolerance import classify, kills
from demos.outcome import Outcome, Table
from demos.registry import DEMOS, find
from stack import appctl, monitoring, procs
from stack.config import REPO, Config
from tests.chaos.faults import Faults, Plan
from tests.chaos.invariants import Check
from tests.chaos.ledger import Ledger
from tests.chaos.stackctl import FORKING, PROGRAMS

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-0123456789abcdef0123456789"


def test_table_aligns_numbers_right_and_words_left() -> None:
    t = Table(("phase", "p50 ms"))
    t.add("running", 12.345)
    t.add("stopped", None)
    lines = t.render().splitlines()
    assert lines[0] == "| phase   | p50 ms |"
    assert lines[1] == "|---------|--------|"
    assert lines[2] == "| running |   12.3 |"
    assert lines[3] == "| stopped | -      |"


def test_outcome_names_missing_knobs_and_the_lesson() -> None:
    out = Outcome("t", Table(("a",)), ["notice this"], missing=["COMANDA_X"]).render()
    assert "MISSING KNOB: COMANDA_X" in out
    assert "What to notice:\n  - notice this" in out


def test_knob_is_present_only_when_the_code_names_it(tmp_path) -> None:
    assert knobs.mentions("COMANDA_A", ["x = 'COMANDA_A'"])
    assert not knobs.mentions("COMANDA_A", ["COMANDA_B"])
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "s.py").write_text("os.environ.get('COMANDA_GATEWAY_LATENCY_MS')")
    assert knobs.missing(knobs.GATEWAY_LATENCY, knobs.API_PROCESSES, root=tmp_path) == [
        knobs.API_PROCESSES
    ]


def _token(**extra) -> str:
    claims = {"sub": "7", "role": "customer", "exp": 4_000_000_000, **extra}
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})


def test_forgeries_fail_verification_and_fresh_passes() -> None:
    token = _token()
    decode = dict(key=SECRET, algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forge.tampered(token, role="admin"), **decode)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forge.resign(token, "another-secret-0123456789abcdef0123"), **decode)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(forge.expired(token, SECRET), **decode)
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(forge.alg_none(token, role="admin"), **decode)
    assert jwt.decode(forge.fresh(token, SECRET), **decode)["role"] == "customer"
    assert forge.claims(forge.tampered(token, role="admin"))["role"] == "admin"
    assert forge.header(forge.expired(token, SECRET))["kid"] == "k1"


def test_classify_counts_violations_by_kind() -> None:
    lost = Check("accepted orders exist", "", violations=["a", "b"])
    doubled = Check("at most one capture per order", "", violations=["c"])
    fine = Check("no order past its pipeline deadline", "")
    slow = Check("faults recovered", "", violations=["e"])
    other = Check("DLQ holds only the injected poison", "", violations=["d"])
    assert classify([lost, doubled, fine, slow, other]) == {
        "lost": 2, "doubled": 1, "stuck": 0, "slow": 1, "other": 1,
    }  # fmt: skip


def test_kills_cover_every_program_and_child_consumers_last() -> None:
    plan = kills(short=False)
    assert {k.removeprefix("kill -9 ").removesuffix(" child") for k in plan} >= set(PROGRAMS)
    assert len(plan) == len(PROGRAMS) + len(FORKING)
    assert plan[-2:] == ("kill -9 feed", "kill -9 projector")


def test_short_kills_name_a_child_of_each_forking_program_and_no_other() -> None:
    plan = kills(short=True)
    assert {k.split()[2] for k in plan if k.endswith(" child")} == set(FORKING)
    assert {"kill -9 relay", "kill -9 api"} <= set(plan)


def test_the_harness_refuses_a_child_kill_of_a_program_that_does_not_fork() -> None:
    faults = Faults(None, None, Ledger(), Plan(first=[]), 1, (1.0, 2.0), (0.0, 0.0), 10.0)
    idle = next(p for p in PROGRAMS if p not in FORKING)
    with pytest.raises(ValueError, match="forks no children"):
        faults.inject(f"kill -9 {idle} child")


def test_every_demo_has_a_make_target() -> None:
    makefile = (REPO / "Makefile").read_text()
    listed = re.search(r"^DEMOS := (.+)$", makefile, re.M)
    assert listed and listed.group(1).split() == [d.name for d in DEMOS]
    assert find("security") and find("nope") is None


def test_rendered_knobs_are_the_ones_the_stack_names(tmp_path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "procs.py").write_text("os.environ.get('COMANDA_WORKER_POOL')")
    assert knobs.rendered(knobs.WORKER_POOL, root=tmp_path)
    assert not knobs.rendered(knobs.GATEWAY_LATENCY, root=tmp_path)


def test_supervisor_status_lines_give_each_programs_state_and_pid() -> None:
    out = (
        "api                              RUNNING   pid 4242, uptime 0:01:02\n"
        "worker                           STOPPED   Nov 29 11:40 AM\n"
        "nginx                            RUNNING   pid 7, uptime 0:01:02\n"
    )
    found = stackctl.parse_status(out)
    assert found == {
        "api": stackctl.Program("api", "RUNNING", 4242),
        "worker": stackctl.Program("worker", "STOPPED", None),
    }


def test_the_app_programs_are_the_ones_the_stack_runs() -> None:
    # The chaos harness and the demos act on stack/appctl.py's list; a program added to
    # stack/procs.py (as worker-followups was) must be in it, or neither would see it.
    run = set(procs.programs(Config(api_processes=1))) - {"nginx", *monitoring.programs(Config())}
    assert set(appctl.PROGRAMS) == run


EXPOSITION = """\
# HELP comanda_http_request_duration_seconds API request duration.
# TYPE comanda_http_request_duration_seconds histogram
comanda_http_request_duration_seconds_count{method="POST",route="/api/v1/orders",status="202"} 7.0
comanda_http_request_duration_seconds_count{method="POST",route="/api/v1/orders",status="503"} 1.0
comanda_http_request_duration_seconds_count{method="GET",route="/api/v1/orders",status="200"} 5.0
comanda_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/me",status="200"} 3.0
comanda_http_request_duration_seconds_sum{method="POST",route="/api/v1/orders",status="202"} 0.5
"""


def test_served_counts_one_route_and_method_over_every_status() -> None:
    assert served.count(EXPOSITION, "POST", "/orders") == 8
    assert served.count(EXPOSITION, "GET", "/orders") == 5
    assert served.count("", "POST", "/orders") == 0


def test_spread_is_the_difference_and_a_restarted_process_counts_from_zero() -> None:
    before = {"api": 10.0, "api-2": 40.0}
    after = {"api": 55.0, "api-2": 3.0, "api-3": 12.0, "api-4": None}
    assert served.spread(before, after) == {"api": 45, "api-2": 3, "api-3": 12}
