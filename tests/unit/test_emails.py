"""One normal form per address (issue 8: look-alike e-mails registered as new accounts)."""

import pytest

from roles.emails import AmbiguousEmail, canonical, normalise

pytestmark = pytest.mark.unit

SAME_AS_ANA = [
    "ana@comanda.dev",
    "ANA@COMANDA.DEV",
    "ａｎａ@ｃｏｍａｎｄａ.ｄｅｖ",  # full-width letters
    "an\u200ba@comanda.dev",  # zero-width space
    "\u200dana\u2060@comanda.dev",  # zero-width joiner, word joiner
    "a\u00adna@comanda.dev",  # soft hyphen
    "\u202eana@comanda.dev",  # bidi override
    "ana\ufe0f@comanda.dev",  # variation selector
    "ana@comanda.dev.",  # the domain's trailing dot
    "ana@comanda\u3002dev",  # ideographic full stop
    " ana@comanda.dev ",
]


@pytest.mark.parametrize("email", SAME_AS_ANA)
def test_look_alikes_normalise_to_one_address(email):
    assert normalise(email) == canonical(email) == "ana@comanda.dev"


def test_punycode_and_unicode_domains_are_one_form():
    assert canonical("ana@xn--bcher-kva.de") == canonical("ana@BÜCHER.de") == "ana@bücher.de"


@pytest.mark.parametrize(
    "email",
    [
        "\u0430na@comanda.dev",  # Cyrillic a among Latin letters
        "ana@c\u043emanda.dev",  # Cyrillic o in the domain
        "p\u0430ypal@example.com",
        "ana@xn--zz.dev",  # invalid punycode
        "an\x01a@comanda.dev",
    ],
)
def test_what_stays_ambiguous_is_refused(email):
    with pytest.raises(AmbiguousEmail):
        canonical(email)


@pytest.mark.parametrize(
    "email", ["joão.silva@exemplo.com.br", "ivan@почта.рф", "müller@bücher.de", "a.b+c_d@x.io"]
)
def test_one_script_per_part_is_fine(email):
    assert canonical(email) == email


def test_login_lookups_never_refuse():
    assert normalise("\u0430na@comanda.dev") == "\u0430na@comanda.dev"
    assert normalise("not an e-mail.") == "not an e-mail"
