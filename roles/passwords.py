"""bcrypt hashing. bcrypt only reads 72 bytes, so longer passwords are refused upstream."""

from __future__ import annotations

import bcrypt

from app.core.settings import get_settings

MAX_PASSWORD_BYTES = 72
_dummy_hash: bytes | None = None


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=get_settings().bcrypt_rounds)
    return bcrypt.hashpw(password.encode(), salt).decode()


def prepare() -> None:
    """Make the dummy hash up front (create_app): made on first use, it cost the first login
    for an unknown e-mail an extra bcrypt round, which told that e-mail apart."""
    _dummy()


def _dummy() -> bytes:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-real-password").encode()
    return _dummy_hash


def verify_password(password: str, hashed: str | None) -> bool:
    """Constant work whether or not the account exists (hashed=None checks a dummy)."""
    if hashed is None:
        bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], _dummy())
        return False
    return bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], hashed.encode())
