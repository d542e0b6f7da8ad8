"""A short schemathesis run over every endpoint of the Swagger spec, as each kind of caller
(fuzz.py has the details; ``make fuzz`` runs a long one). Zero failures: no 5xx, no reply that
breaks the spec, no schema-violating request accepted, no ignored auth."""

from __future__ import annotations

import os

import pytest

from tests import tls

from . import fuzz

pytestmark = pytest.mark.security

# Per operation and phase. The short run keeps every operation, caller, phase and check, with
# fewer generated examples (10, was 20: the fuzzing and stateful phases were most of its time;
# schemathesis' coverage phase, the boundary values, does not depend on it). `make fuzz` runs
# 200; COMANDA_FUZZ_EXAMPLES overrides this one.
EXAMPLES = int(os.environ.get("COMANDA_FUZZ_EXAMPLES", "10"))


def test_fuzz_every_endpoint_as_every_caller(base_url, capsys):
    spec = tls.get(f"{base_url}/api/v1/swagger.json", timeout=30).json()
    operations = sum(len(set(ops) - {"parameters"}) for ops in spec["paths"].values())
    runs = fuzz.run(base_url, fuzz.parse_args(["--examples", str(EXAMPLES)]))
    with capsys.disabled():
        print("\nfuzz summary (schemathesis, every endpoint, per caller):")
        for r in runs:
            print("  " + r.line())
    assert {r.role for r in runs} == set(fuzz.ROLES)
    for r in runs:
        assert r.operations == operations and r.cases > 0, r.line()
    failed = [r for r in runs if not r.ok]
    assert not failed, "\n\n".join(f"{r.line()}\n{r.output[-15000:]}" for r in failed)
