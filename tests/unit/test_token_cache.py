"""roles/tokens.py remembers tokens that verified (by their exact text and the keys they
were checked against) until they expire: the same answers as verifying afresh."""

import uuid

import pytest

from app.core.settings import Settings, get_settings, use_settings
from roles import tokens
from roles.tokens import InvalidToken, issue_access, verify_access

pytestmark = pytest.mark.unit
SID = uuid.uuid4()


@pytest.fixture(autouse=True)
def own_keys():
    before = get_settings()
    use_settings(Settings(jwt_secret="s" * 48, jwt_kid="k1", access_token_seconds=60))
    tokens._verified.cache_clear()
    yield
    use_settings(before)
    tokens._verified.cache_clear()


def test_a_repeated_token_is_verified_once_with_the_same_answer():
    token, _ = issue_access(7, "customer", None, SID)
    first = verify_access(token)
    assert verify_access(token) == first
    info = tokens._verified.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_remembered_token_is_refused_once_expired(monkeypatch):
    token, lifetime = issue_access(7, "customer", None, SID)
    verify_access(token)
    now = tokens.time.time()
    monkeypatch.setattr(tokens.time, "time", lambda: now + lifetime + tokens.LEEWAY)
    with pytest.raises(InvalidToken, match="expired"):
        verify_access(token)


def test_a_refused_token_is_not_remembered():
    token, _ = issue_access(7, "customer", None, SID)
    spoiled = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verify_access(spoiled)
    assert tokens._verified.cache_info().currsize == 0


def test_new_keys_are_a_new_cache_key():
    token, _ = issue_access(7, "customer", None, SID)
    verify_access(token)
    use_settings(Settings(jwt_secret="t" * 48, jwt_kid="k2"))  # k1 retired
    with pytest.raises(InvalidToken):
        verify_access(token)
