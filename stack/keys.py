"""Secrets made once per install, kept under the state dir (never in the repository).

The JWT signing key: `stack up` creates ``<state dir>/secrets/jwt-secret`` (0600, in a 0700
folder) when it is missing, and `stack env` / the supervisord environment export it as
``COMANDA_JWT_SECRET``, so the API, `make test` and CI all sign and verify with the same
random key, which nobody else knows. ``stack reset`` keeps it (it wipes data, not keys).
An explicit ``COMANDA_JWT_SECRET`` in the environment wins over the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

JWT_SECRET_FILE = "jwt-secret"


def secrets_dir(state_dir: Path) -> Path:
    return state_dir / "secrets"


def jwt_secret(state_dir: Path) -> str:
    """The install's signing key, created (atomically, once) on first use."""
    folder = secrets_dir(state_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / JWT_SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
        message = f"stack: {path} is shorter than 32 characters; delete it to renew it"
        raise SystemExit(message) from None
    value = secrets.token_urlsafe(48)  # 384 bits
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def app_secrets(state_dir: Path) -> dict[str, str]:
    """What `stack env` and the app processes get (an explicit COMANDA_JWT_SECRET wins)."""
    return {"COMANDA_JWT_SECRET": os.environ.get("COMANDA_JWT_SECRET") or jwt_secret(state_dir)}
