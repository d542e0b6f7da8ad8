"""SECURITY.md matches the code: its settings table (names and defaults), the headers it
promises, and the test files it lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.api.hardening import CORS_HEADERS, JSON_CSP, SECURITY_HEADERS
from app.core.settings import Settings

pytestmark = [pytest.mark.unit, pytest.mark.security]

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "SECURITY.md").read_text()
SETTINGS_SOURCE = (REPO / "app" / "core" / "settings.py").read_text()
FIELD = {
    "COMANDA_JWT_SECRET": "jwt_secret",
    "COMANDA_JWT_KID": "jwt_kid",
    "COMANDA_JWT_PREVIOUS_SECRETS": "jwt_previous_secrets",
    "COMANDA_ACCESS_TOKEN_SECONDS": "access_token_seconds",
    "COMANDA_REFRESH_TOKEN_SECONDS": "refresh_token_seconds",
    "COMANDA_BCRYPT_ROUNDS": "bcrypt_rounds",
    "COMANDA_LOGIN_WINDOW_SECONDS": "login_window_seconds",
    "COMANDA_LOGIN_FAILURES_PER_ACCOUNT": "login_failures_per_account",
    "COMANDA_LOGIN_FAILURES_PER_CLIENT": "login_failures_per_client",
    "COMANDA_MAX_BODY_BYTES": "max_body_bytes",
    "COMANDA_CORS_ORIGINS": "cors_origins",
    "COMANDA_ENV": "env",
    "COMANDA_SEED_DEFAULT_PASSWORDS": "seed_default_passwords",
    "COMANDA_TRUSTED_PROXIES": "trusted_proxies",
}
ROWS = dict(re.findall(r"^\| `(COMANDA_\w+)` \| ([^|]+) \|", DOC, re.MULTILINE))


def test_the_settings_table_lists_the_security_settings():
    assert set(ROWS) == set(FIELD)


@pytest.mark.parametrize("name", sorted(FIELD))
def test_each_setting_is_read_from_the_environment_with_the_documented_default(name):
    assert f'"{name}"' in SETTINGS_SOURCE, f"app/core/settings.py does not read {name}"
    default = getattr(Settings(), FIELD[name])
    documented = ROWS[name].strip()
    if documented == "empty":
        assert not default
    elif documented.startswith("`"):
        value = documented.strip("`")
        if isinstance(default, tuple):
            assert value == ",".join(default)
        else:
            assert value == (str(default).lower() if isinstance(default, bool) else str(default))


def test_every_comanda_setting_named_anywhere_exists():
    code = "\n".join(p.read_text() for p in (REPO / "app").rglob("*.py"))
    for name in set(re.findall(r"COMANDA_[A-Z_]+", DOC)):
        assert name in code, name


def test_the_promised_headers_are_the_ones_sent():
    for header, value in SECURITY_HEADERS.items():
        if header == "Strict-Transport-Security":
            assert f"`{header}`" in DOC
        else:
            assert f"`{header}: {value}`" in DOC.replace("\n  ", " "), header
    assert f"`Content-Security-Policy: {JSON_CSP}`" in DOC.replace("\n  ", " ")
    for header in CORS_HEADERS:
        assert header in DOC


def test_the_listed_tests_are_the_suite():
    listed = set(re.findall(r"`(test_\w+\.py)`", DOC))
    present = {p.name for p in (REPO / "tests" / "security").glob("test_*.py")}
    assert listed == present
