import pytest

from app.core.settings import DEFAULT_SECRET, ConfigError, Settings

pytestmark = pytest.mark.unit


def test_development_defaults_are_accepted():
    Settings().check()


def test_production_refuses_the_default_secret():
    with pytest.raises(ConfigError, match="COMANDA_JWT_SECRET"):
        Settings(env="production", jwt_secret=DEFAULT_SECRET, seed_default_passwords=False).check()


def test_production_refuses_a_short_secret():
    with pytest.raises(ConfigError):
        Settings(env="production", jwt_secret="short", seed_default_passwords=False).check()


def test_production_refuses_seeding_default_passwords():
    with pytest.raises(ConfigError, match="SEED_DEFAULT_PASSWORDS"):
        Settings(env="production", jwt_secret="x" * 40, seed_default_passwords=True).check()


def test_from_env_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@h:1/d")
    monkeypatch.setenv("COMANDA_ACCEPTANCE_SECONDS", "42")
    s = Settings.from_env()
    assert s.database_url.endswith("h:1/d") and s.acceptance_seconds == 42


def test_from_env_rejects_a_non_integer(monkeypatch):
    monkeypatch.setenv("COMANDA_ACCEPTANCE_SECONDS", "soon")
    with pytest.raises(ConfigError, match="COMANDA_ACCEPTANCE_SECONDS"):
        Settings.from_env()
