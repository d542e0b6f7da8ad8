import pytest

from app.core.settings import PUBLISHED_DEV_SECRET, ConfigError, Settings

pytestmark = pytest.mark.unit


def test_development_defaults_are_accepted():
    Settings().check()


def test_the_key_published_in_the_source_is_refused_everywhere():
    for env in ("development", "production"):
        with pytest.raises(ConfigError, match="COMANDA_JWT_SECRET"):
            Settings(env=env, jwt_secret=PUBLISHED_DEV_SECRET, seed_default_passwords=False).check()
    with pytest.raises(ConfigError, match="COMANDA_JWT_SECRET"):
        Settings(jwt_previous_secrets=(("k0", PUBLISHED_DEV_SECRET),)).check()


def test_no_key_in_the_source_an_unset_key_is_random_per_process(monkeypatch):
    monkeypatch.delenv("COMANDA_JWT_SECRET", raising=False)
    first, second = Settings.from_env(), Settings.from_env()
    assert len(first.jwt_secret) >= 32 and first.jwt_secret != second.jwt_secret
    assert Settings().jwt_secret != Settings().jwt_secret


def test_production_refuses_a_missing_secret(monkeypatch):
    monkeypatch.delenv("COMANDA_JWT_SECRET", raising=False)
    monkeypatch.setenv("COMANDA_ENV", "production")
    monkeypatch.setenv("COMANDA_SEED_DEFAULT_PASSWORDS", "off")
    with pytest.raises(ConfigError, match="COMANDA_JWT_SECRET"):
        Settings.from_env()


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
