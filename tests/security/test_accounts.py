"""Look-alike e-mails (issue 8): full-width letters, a zero-width space, a trailing dot or
upper case are the same address, so the same account (409 at registration, and a login);
a Cyrillic letter among Latin ones stays ambiguous and is refused (400)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.client import DEFAULT_PASSWORD, describe, expect

from .conftest import assert_error

pytestmark = pytest.mark.security


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


IDEO_STOP = "\u3002"
LOOK_ALIKES = {
    "full-width": lambda local, domain: f"{full_width(local)}@{domain}",
    "zero-width space": lambda local, domain: f"{local[:3]}\u200b{local[3:]}@{domain}",
    "soft hyphen": lambda local, domain: f"{local[:3]}\u00ad{local[3:]}@{domain}",
    "trailing dot": lambda local, domain: f"{local}@{domain}.",
    "upper case": lambda local, domain: f"{local.upper()}@{domain.upper()}",
    "ideographic full stop": lambda local, domain: f"{local}@" + domain.replace(".", IDEO_STOP),
}


@pytest.fixture(scope="module")
def person(new_client):
    local, domain = f"ana{uuid.uuid4().hex[:10]}", "lookalike.comanda.test"
    client = new_client()
    resp = expect(client.register(f"{local}@{domain}", DEFAULT_PASSWORD, "Ana"), 201)
    return local, domain, resp.json()


@pytest.mark.parametrize("kind", list(LOOK_ALIKES))
def test_a_look_alike_of_a_registered_address_is_taken(api, person, kind):
    local, domain, _ = person
    resp = api.register(LOOK_ALIKES[kind](local, domain), DEFAULT_PASSWORD, "Not Ana")
    assert_error(resp, 409)


@pytest.mark.parametrize("kind", list(LOOK_ALIKES))
def test_a_look_alike_logs_in_to_the_same_account(new_client, person, kind):
    local, domain, user = person
    client = new_client()
    client.login(LOOK_ALIKES[kind](local, domain), DEFAULT_PASSWORD)
    assert client.me()["id"] == user["id"]


@pytest.mark.parametrize(
    "email",
    [
        "\u0430na{}@lookalike.comanda.test",  # Cyrillic a among Latin letters
        "ana{}@l\u043eokalike.comanda.test",  # Cyrillic o in the domain
    ],
)
def test_mixed_scripts_are_refused(api, email):
    resp = api.register(email.format(uuid.uuid4().hex[:8]), DEFAULT_PASSWORD, "Mixed")
    assert "email" in assert_error(resp, 400)["errors"]


def test_an_address_is_stored_and_shown_in_its_normal_form(api):
    local = f"bia{uuid.uuid4().hex[:10]}"
    resp = api.register(f"{full_width(local)}@Lookalike.Comanda.Test.", DEFAULT_PASSWORD, "Bia")
    assert resp.status_code == 201, describe(resp)
    assert resp.json()["email"] == f"{local}@lookalike.comanda.test"
