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


def test_an_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("COMANDA_ACCEPTANCE_SECONDS", "")
    monkeypatch.setenv("COMANDA_ORDERS_TOPIC", "")
    s = Settings.from_env()
    assert s.acceptance_seconds == Settings().acceptance_seconds and s.orders_topic == "orders"


def test_lists_and_milliseconds_are_parsed(monkeypatch):
    monkeypatch.setenv("COMANDA_CORS_ORIGINS", "https://a.example, https://b.example,")
    monkeypatch.setenv("COMANDA_SWEEP_INTERVAL_MS", "500")
    monkeypatch.setenv("COMANDA_SEED_DEFAULT_PASSWORDS", "off")
    s = Settings.from_env()
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.sweep_interval_seconds == 0.5 and s.seed_default_passwords is False


def test_constructing_reads_no_environment(monkeypatch):
    monkeypatch.setenv("COMANDA_ACCEPTANCE_SECONDS", "42")
    assert Settings().acceptance_seconds == 300


def test_the_stack_config_shares_the_parser(monkeypatch):
    from stack.config import Config

    monkeypatch.setenv("COMANDA_PG_PORT", "6543")
    monkeypatch.setenv("COMANDA_STATE_DIR", "")
    cfg = Config.from_env()
    assert cfg.pg_port == 6543 and cfg.state_dir.is_absolute()
    monkeypatch.setenv("COMANDA_KAFKA_BROKERS", "2")
    with pytest.raises(SystemExit, match="COMANDA_KAFKA_BROKERS"):
        Config.from_env()
