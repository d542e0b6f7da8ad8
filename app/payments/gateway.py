"""A simulated card gateway with the behaviour of a real one that matters here.

Every call carries an idempotency key derived from the order: repeating a call with
the same key never charges twice, and an outcome can be looked up by key. The ledger
lives in its own table and its own transactions, as an external system would.

Test tokens: ``tok_ok`` authorizes, ``tok_decline`` is declined, ``tok_flaky`` fails
transiently on its first two attempts and then authorizes; ``tok_timeout`` authorizes on
the first attempt but its reply is lost (the caller must look the outcome up by key);
anything else is ``tok_ok``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.core.db import autocommit
from app.core.models import utcnow
from app.core.settings import get_settings
from app.payments.latency import override_ms
from app.payments.metrics import counted

FLAKY_FAILURES = 2


def latency_ms() -> int:
    """The card network's delay per call (COMANDA_GATEWAY_LATENCY_MS, default 0). The one
    place it is read: the console's runtime override (app/payments/latency.py, in PostgreSQL,
    cached 1 s) replaces this function's answer while it is set."""
    override = override_ms()
    return get_settings().gateway_latency_ms if override is None else override


def _network() -> None:
    """The wait for the card network: before the ledger's transaction, so it holds no
    database connection (and, on the threads pool, no process: the GIL is released)."""
    delay = latency_ms()
    if delay > 0:
        time.sleep(delay / 1000)


class GatewayTransientError(Exception):
    """The gateway could not answer now; the same call may succeed later."""


class GatewayTimeout(GatewayTransientError):
    """The call may or may not have taken effect: look it up by idempotency key."""


class GatewayRefused(Exception):
    """The operation is not possible for this charge (e.g. capturing a voided one)."""


@dataclass(frozen=True)
class Outcome:
    status: str  # authorized | declined | captured | voided | refunded | none
    previous: str


def attempt_rule(token: str) -> tuple[int, str]:
    """How the test token answers: (attempts that fail transiently before the answer, the
    answer). Pure; the ledger's one statement applies it to the charge's attempt count."""
    failures = FLAKY_FAILURES if token == "tok_flaky" else 0
    return failures, "declined" if token == "tok_decline" else "authorized"


def void_previous(status: str, token: str) -> str:
    """What a void reports the charge held before it: "none" for a charge that only a void
    ever wrote (an authorization never arrived), else its status. Pure."""
    return "none" if token == "" and status == "voided" else status


# Each call is one statement on an autocommit connection (its own transaction), where an ORM
# session took BEGIN, an upsert, a locked read, an update and COMMIT: the row lock the
# statement takes serializes calls with the same key just as the locked read did.
#
# authorize: the first call inserts the charge; a repeat while it is pending counts one more
# attempt; a decided charge is left alone (no row returned: read its status).
AUTHORIZE = """INSERT INTO gateway_charges AS c (idempotency_key, token, amount_cents, status,
 attempts, authorizations, captures, created_at, updated_at)
VALUES (%(key)s, %(token)s, %(amount)s,
 CASE WHEN 1 <= %(failures)s::int THEN 'pending' ELSE %(answer)s::text END, 1,
 CASE WHEN 1 > %(failures)s::int AND %(answer)s::text = 'authorized' THEN 1 ELSE 0 END, 0,
 %(now)s, %(now)s)
ON CONFLICT (idempotency_key) DO UPDATE SET
 attempts = c.attempts + 1,
 status = CASE WHEN c.attempts + 1 <= %(failures)s::int THEN 'pending' ELSE %(answer)s::text END,
 authorizations = c.authorizations + CASE
   WHEN c.attempts + 1 > %(failures)s::int AND %(answer)s::text = 'authorized' THEN 1 ELSE 0 END,
 updated_at = %(now)s
WHERE c.status = 'pending'
RETURNING c.status, c.attempts"""
CAPTURE = """UPDATE gateway_charges SET status = 'captured', captures = captures + 1,
 updated_at = %(now)s
WHERE idempotency_key = %(key)s AND status = 'authorized'
RETURNING status"""
# void: the row locked first (its newest version, as the ORM's locked read had it), so the
# status it held before is returned beside the new one; a charge already closed is rewritten
# unchanged (a repeated void, rare).
VOID = """UPDATE gateway_charges g SET
 status = CASE WHEN old.status IN ('pending', 'authorized') THEN 'voided'
   WHEN old.status = 'captured' THEN 'refunded' ELSE old.status END,
 updated_at = CASE WHEN old.status IN ('pending', 'authorized', 'captured') THEN %(now)s
   ELSE g.updated_at END
FROM (SELECT idempotency_key, status, token FROM gateway_charges
 WHERE idempotency_key = %(key)s FOR UPDATE) old
WHERE g.idempotency_key = old.idempotency_key
RETURNING g.status, old.status AS previous, old.token"""
# A void for an unknown key blocks any later authorization with that key.
VOID_UNKNOWN = """INSERT INTO gateway_charges (idempotency_key, token, amount_cents, status,
 attempts, authorizations, captures, created_at, updated_at)
VALUES (%(key)s, '', 0, 'voided', 0, 0, 0, %(now)s, %(now)s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING status"""
STATUS = "SELECT status FROM gateway_charges WHERE idempotency_key = %(key)s"


class SimulatedGateway:
    def __init__(self, database_url: str | None = None):
        self.database_url = database_url

    def _status(self, conn, key: str) -> str:
        return conn.exec_driver_sql(STATUS, {"key": key}).scalar() or "none"

    @counted
    def authorize(self, key: str, token: str, amount_cents: int) -> Outcome:
        _network()
        failures, answer = attempt_rule(token)
        params = {
            "key": key,
            "token": token,
            "amount": amount_cents,
            "failures": failures,
            "answer": answer,
            "now": utcnow(),
        }
        with autocommit(self.database_url) as conn:
            row = conn.exec_driver_sql(AUTHORIZE, params).first()
            if row is None:  # decided before (or voided): nothing changes
                status = self._status(conn, key)
                return Outcome(status, status)
        if row.status == "pending":
            raise GatewayTransientError(f"gateway unavailable for {key} (attempt {row.attempts})")
        if token == "tok_timeout" and row.attempts == 1:
            raise GatewayTimeout(f"no reply from the gateway for {key}: outcome unknown")
        return Outcome(row.status, "pending")

    @counted
    def capture(self, key: str) -> Outcome:
        _network()
        with autocommit(self.database_url) as conn:
            while True:
                if conn.exec_driver_sql(CAPTURE, {"key": key, "now": utcnow()}).first():
                    return Outcome("captured", "authorized")
                # Not authorized when the update looked: captured already (a repeat), or
                # refused. Authorized now means a pending authorization landed in between.
                status = self._status(conn, key)
                if status != "authorized":
                    break
        if status != "captured":
            raise GatewayRefused(f"cannot capture {key}: charge is {status}")
        return Outcome("captured", "captured")

    @counted
    def void(self, key: str) -> Outcome:
        """Void an authorization, refund a capture; a void for an unknown key blocks any
        later authorization with that key (the call may still be in flight)."""
        _network()
        params = {"key": key, "now": utcnow()}
        with autocommit(self.database_url) as conn:
            while True:
                row = conn.exec_driver_sql(VOID, params).first()
                if row is not None:
                    return Outcome(row.status, void_previous(row.previous, row.token))
                if conn.exec_driver_sql(VOID_UNKNOWN, params).first():
                    return Outcome("voided", "none")
                # An authorization inserted the charge between the two: void that.

    @counted
    def lookup(self, key: str) -> Outcome:
        _network()
        with autocommit(self.database_url) as conn:
            state = self._status(conn, key)
        return Outcome(state, state)
