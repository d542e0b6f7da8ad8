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

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.core.db import unit_of_work
from app.core.models import GatewayCharge, utcnow
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


class SimulatedGateway:
    def __init__(self, database_url: str | None = None):
        self.database_url = database_url

    def _locked(self, session, key: str) -> GatewayCharge | None:
        return session.scalars(
            select(GatewayCharge).where(GatewayCharge.idempotency_key == key).with_for_update()
        ).one_or_none()

    @counted
    def authorize(self, key: str, token: str, amount_cents: int) -> Outcome:
        _network()
        with unit_of_work(self.database_url) as session:
            session.execute(
                insert(GatewayCharge)
                .values(
                    idempotency_key=key,
                    token=token,
                    amount_cents=amount_cents,
                    status="pending",
                    attempts=0,
                )
                .on_conflict_do_nothing()
            )
            charge = self._locked(session, key)
            if charge.status != "pending":
                return Outcome(charge.status, charge.status)
            charge.attempts += 1
            if token == "tok_flaky" and charge.attempts <= FLAKY_FAILURES:
                failing = True
            else:
                failing = False
                charge.status = "declined" if token == "tok_decline" else "authorized"
                if charge.status == "authorized":
                    charge.authorizations += 1
            charge.updated_at = utcnow()
        if failing:
            raise GatewayTransientError(
                f"gateway unavailable for {key} (attempt {charge.attempts})"
            )
        if token == "tok_timeout" and charge.attempts == 1:
            raise GatewayTimeout(f"no reply from the gateway for {key}: outcome unknown")
        return Outcome(charge.status, "pending")

    @counted
    def capture(self, key: str) -> Outcome:
        _network()
        with unit_of_work(self.database_url) as session:
            charge = self._locked(session, key)
            if charge is None or charge.status not in ("authorized", "captured"):
                state = charge.status if charge else "none"
                raise GatewayRefused(f"cannot capture {key}: charge is {state}")
            previous = charge.status
            if previous == "authorized":
                charge.status = "captured"
                charge.captures += 1
            return Outcome(charge.status, previous)

    @counted
    def void(self, key: str) -> Outcome:
        """Void an authorization, refund a capture; a void for an unknown key blocks any
        later authorization with that key (the call may still be in flight)."""
        _network()
        with unit_of_work(self.database_url) as session:
            session.execute(
                insert(GatewayCharge)
                .values(idempotency_key=key, token="", amount_cents=0, status="voided")
                .on_conflict_do_nothing()
            )
            charge = self._locked(session, key)
            previous = "none" if charge.token == "" and charge.status == "voided" else charge.status
            if charge.status in ("pending", "authorized"):
                charge.status = "voided"
            elif charge.status == "captured":
                charge.status = "refunded"
            return Outcome(charge.status, previous)

    @counted
    def lookup(self, key: str) -> Outcome:
        _network()
        with unit_of_work(self.database_url) as session:
            charge = session.get(GatewayCharge, key)
            state = charge.status if charge else "none"
            return Outcome(state, state)
