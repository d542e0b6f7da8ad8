"""Fuzz every endpoint against the project's own Swagger spec with schemathesis, once per kind
of caller: anonymous, customer, restaurant and admin, each with a valid token of a fresh
account. Every check that judges a reply is on: no 5xx, only documented status codes,
content types and headers, replies that match their schema, invalid input refused, auth not
ignored, 405 with Allow for undeclared methods. ``positive_data_acceptance`` is off: see
CHECKS_OFF for why.

    python -m tests.security.fuzz [--examples N] [--max-time S] [--seed S]

``make fuzz`` runs a long one; ``tests/security/test_fuzz.py`` a short one in ``make test``.
Reports (JSON, and the CLI's own output) go to ``$COMANDA_STATE_DIR/fuzz`` (.run/fuzz).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests import tls
from tests.conftest import wait_until
from tests.support.client import ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_PASSWORD, Client, fresh_email

REPO = Path(__file__).resolve().parents[2]
# "tampered": the customer's token re-signed as an admin's (fuzz_hooks.py): every operation
# that requires a token must refuse it.
ROLES = ("anonymous", "customer", "restaurant", "admin", "tampered")
CHECKS_OFF = {
    # The spec cannot say everything the server checks, so some schema-valid requests are
    # rightly refused with a documented 400: cursors are opaque (a random string is not
    # one), bcrypt's limit is 72 *bytes*, names are stripped before the length check, and
    # ?from= must not be after ?to=. Replies to those are still checked like any other.
    "positive_data_acceptance",
}


@dataclass
class RoleRun:
    role: str
    exit_code: int
    seconds: float
    operations: int
    cases: int
    failures: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failures == 0

    def line(self) -> str:
        return (
            f"{self.role:<10} {self.operations:>3} operations {self.cases:>6} cases "
            f"{self.failures:>3} failures  {self.seconds:5.1f}s  exit {self.exit_code}"
        )


def accounts(base_url: str) -> dict:
    """Credentials per role (fresh customer and restaurant; the demo admin), the account
    whose fresh sessions the logout hook spends, and ids of real objects."""
    new = lambda: Client(base_url, wait_until)  # noqa: E731
    admin = new()
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    customer, staff, logout = new(), new(), new()
    for client in (customer, logout):
        email = fresh_email("fuzz")
        assert client.register(email, DEFAULT_PASSWORD, "Fuzz Customer").status_code == 201
        client.email, client.password = email, DEFAULT_PASSWORD
    customer.login()
    rid = admin.post("admin/restaurants", json={"name": "Fuzz Kitchen", "cuisine": "fuzz"})
    rid = rid.json()["id"]
    email = fresh_email("fuzz-staff")
    created = admin.post(
        f"admin/restaurants/{rid}/users",
        json={"email": email, "password": DEFAULT_PASSWORD, "name": "Fuzz Staff"},
    )
    assert created.status_code == 201, created.text
    staff.login(email, DEFAULT_PASSWORD)
    items = [
        staff.post("restaurant/menu", json={"name": name, "price_cents": 990, "stock": 500})
        for name in ("Fuzz Burger", "Fuzz Fries")
    ]
    item_ids = [resp.json()["id"] for resp in items]
    orders = [customer.place(rid, [(item_id, 1)])["id"] for item_id in item_ids * 2]
    for order_id in orders:
        customer.wait_for_status(order_id, {"AWAITING_ACCEPTANCE", "REJECTED", "CANCELLED"})
    return {
        "callers": {
            "anonymous": (None, None),
            "customer": (customer.email, customer.password),
            "restaurant": (staff.email, staff.password),
            "admin": (admin.email, admin.password),
            "tampered": (customer.email, customer.password),
        },
        "logout": (logout.email, logout.password),
        # Ids of real objects the hooks swap in for half the generated ones (fuzz_hooks.py).
        "ids": {"restaurant_id": [rid], "item_id": item_ids, "order_id": orders},
    }


def run_role(base_url: str, role: str, prepared: dict, args, out: Path) -> RoleRun:
    email, password = prepared["callers"][role]
    report = out / f"fuzz-{role}.json"
    report.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "run",
        f"{base_url}/api/v1/swagger.json",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(sorted(CHECKS_OFF)),
        "--max-examples",
        str(args.examples),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--request-timeout",
        "30",
        # nginx's certificate, verified against the stack's own CA (never 'false').
        "--tls-verify",
        tls.ca_file(),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
        # Hypothesis' health checks judge the data generator, not the API, and "too slow" or
        # "filters too much" come and go with the load on a 2-core machine.
        "--suppress-health-check",
        "all",
    ]
    if args.max_time:
        cmd += ["--max-time", str(args.max_time)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.security.fuzz_hooks",
        "COMANDA_URL": base_url,
        "COMANDA_FUZZ_EMAIL": email or "",
        "COMANDA_FUZZ_PASSWORD": password or "",
        "COMANDA_FUZZ_LOGOUT_EMAIL": prepared["logout"][0],
        "COMANDA_FUZZ_LOGOUT_PASSWORD": prepared["logout"][1],
        "COMANDA_FUZZ_IDS": json.dumps(prepared["ids"]),
        "COMANDA_FUZZ_TAMPER": "1" if role == "tampered" else "",
        "PYTHONPATH": str(REPO),
    }
    started = time.monotonic()
    done = subprocess.run(
        cmd, cwd=out, env=env, capture_output=True, text=True, timeout=args.timeout
    )
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    (out / f"fuzz-{role}.txt").write_text(output)
    data = json.loads(report.read_text()) if report.exists() else {}
    cases = data.get("test_cases") or {}
    failures = cases.get("unique_failures", 0) + len(data.get("errors") or [])
    return RoleRun(
        role=role,
        exit_code=done.returncode,
        seconds=seconds,
        operations=(data.get("operations") or {}).get("tested", 0),
        cases=cases.get("generated", 0),
        failures=failures,
        output=output,
    )


def run(base_url: str, args) -> list[RoleRun]:
    out = Path(os.environ.get("COMANDA_STATE_DIR") or REPO / ".run") / "fuzz"
    out.mkdir(parents=True, exist_ok=True)
    prepared = accounts(base_url)
    return [run_role(base_url, role, prepared, args, out) for role in args.roles]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="per operation and phase")
    parser.add_argument("--max-time", type=int, default=0, help="seconds per role (0: none)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=1800, help="hard limit per role")
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=ROLES)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base_url = os.environ.get("COMANDA_URL", "https://127.0.0.1:8443").rstrip("/")
    runs = run(base_url, args)
    for r in runs:
        if not r.ok:
            print(r.output[-20000:])
    print("\nfuzz summary (schemathesis, every endpoint, per caller):")
    for r in runs:
        print("  " + r.line())
    total = sum(r.cases for r in runs), sum(r.failures for r in runs)
    print(f"  {'total':<10} {'':>15} {total[0]:>6} cases {total[1]:>3} failures")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
