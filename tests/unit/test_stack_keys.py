"""Every install makes its own signing key once, under its state dir (issue 8)."""

import stat

import pytest

from app.core.settings import PUBLISHED_DEV_SECRET
from stack import keys
from stack.config import Config

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("COMANDA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COMANDA_JWT_SECRET", raising=False)
    return Config.from_env()


def test_the_key_is_made_once_private_and_random(cfg, tmp_path):
    first = keys.jwt_secret(cfg.state_dir)
    assert (
        keys.jwt_secret(cfg.state_dir) == first
        and len(first) >= 32
        and first != PUBLISHED_DEV_SECRET
    )
    path = cfg.state_dir / "secrets" / "jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert keys.jwt_secret(tmp_path / "other") != first  # another install, another key


def test_stack_env_exports_it(cfg):
    assert cfg.app_env()["COMANDA_JWT_SECRET"] == keys.jwt_secret(cfg.state_dir)


def test_an_explicit_key_wins(cfg, monkeypatch):
    monkeypatch.setenv("COMANDA_JWT_SECRET", "x" * 40)
    assert cfg.app_env()["COMANDA_JWT_SECRET"] == "x" * 40


def test_the_key_file_is_not_in_the_repository():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "--", "*jwt-secret*", ".run"],
        capture_output=True,
        text=True,
        cwd=keys.__file__.rsplit("/stack/", 1)[0],
    ).stdout
    assert tracked == ""
