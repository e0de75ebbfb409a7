"""Configuration is parsed strictly from the environment."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest

from ipt_groups import create_app
from ipt_groups.config import ConfigError, load_settings, normalise_database_url
from tests.conftest import TEST_SECRET, VAPID_ENV


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://u:p@db.example:5432/ipt", "postgresql+psycopg://u:p@db.example:5432/ipt"),
        ("postgresql://u@localhost/ipt", "postgresql+psycopg://u@localhost/ipt"),
        ("postgresql+psycopg://u@localhost/ipt", "postgresql+psycopg://u@localhost/ipt"),
        ("sqlite:////var/data/ipt.sqlite3", "sqlite:////var/data/ipt.sqlite3"),
    ],
)
def test_database_url_rewritten_to_psycopg3(raw: str, expected: str) -> None:
    assert normalise_database_url(raw) == expected


@pytest.mark.parametrize("raw", ["mysql://u@h/db", "not a url", "postgres://"])
def test_bad_database_url_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        normalise_database_url(raw)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
        ({"SESSION_IDLE_MINUTES": "600", "SESSION_ABSOLUTE_HOURS": "2"}, "SESSION_IDLE_MINUTES"),
        ({"PROXY_HOPS": "-1"}, "PROXY_HOPS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"INVITE_DAYS": "0"}, "INVITE_DAYS"),
        ({"INVITE_DAYS": "two weeks"}, "INVITE_DAYS"),
        ({"PUBLIC_URL": "ipt.example.org"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "ftp://ipt.example.org"}, "PUBLIC_URL"),
        ({"DATABASE_URL": "oracle://x/y"}, "DATABASE_URL"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgres://h/db"}, "SECRET_KEY"),
        (
            {"APP_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "postgres://h/db"},
            "SECRET_KEY",
        ),
        ({"APP_ENV": "production", "SECRET_KEY": TEST_SECRET}, "DATABASE_URL"),
        (
            {"APP_ENV": "production", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": "postgres://h/db"},
            "VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY, VAPID_SUBJECT",
        ),
        ({"VAPID_PRIVATE_KEY": VAPID_ENV["VAPID_PRIVATE_KEY"]}, "VAPID_PRIVATE_KEY"),
        ({**VAPID_ENV, "VAPID_PUBLIC_KEY": "BAAA"}, "VAPID_PUBLIC_KEY"),
        ({**VAPID_ENV, "VAPID_SUBJECT": "ops@example.org"}, "VAPID_SUBJECT"),
        ({**VAPID_ENV, "VAPID_PRIVATE_KEY": "short"}, "VAPID_PRIVATE_KEY"),
        ({"PUSH_ALLOWED_HOSTS": "https://x/y"}, "PUSH_ALLOWED_HOSTS"),
        ({"PUSH_CONCURRENCY": "0"}, "PUSH_CONCURRENCY"),
    ],
)
def test_bad_values_stop_startup_naming_the_variable(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env, tmp_path)


def test_create_app_refuses_bad_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PORT"):
        create_app({"APP_ENV": "test", "PORT": "abc", "INSTANCE_PATH": str(tmp_path)})


def test_defaults_for_local_use(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path)
    assert settings.app_env == "development"
    assert settings.port == 5000
    assert settings.database_url == f"sqlite:///{tmp_path / 'ipt_groups.sqlite3'}"
    assert settings.session_idle_timeout == timedelta(minutes=60)
    assert settings.session_absolute_timeout == timedelta(hours=12)
    assert settings.invite_ttl == timedelta(days=14) and settings.public_url is None


def test_public_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    settings = load_settings({"PUBLIC_URL": "https://ipt.example.org/ "}, tmp_path)
    assert settings.public_url == "https://ipt.example.org"


def test_local_secret_key_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings({}, tmp_path).secret_key
    second = load_settings({}, tmp_path).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by owner only


def test_production_cookie_is_secure_and_strict(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "APP_ENV": "production",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": "postgres://h/db",
            "PORT": "8080",
            **VAPID_ENV,
        },
        tmp_path,
    )
    cfg = settings.flask_config()
    assert settings.port == 8080
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://h/db"
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["ARGON2_PROFILE"] == "rfc9106-low-memory"
    dev = load_settings({}, tmp_path).flask_config()
    assert dev["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3", "postgresql+psycopg://u@h/db"])
def test_database_errors_never_log_parameters(url: str) -> None:
    from ipt_groups.config import _engine_options

    # A failed INSERT's message would otherwise carry names and screening answers.
    assert _engine_options(url)["hide_parameters"] is True


PROD = {"APP_ENV": "production", "DATABASE_URL": "postgres://h/db", **VAPID_ENV}


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("a" * 32, "too predictable"),
        ("a" * 64, "too predictable"),
        ("password" * 8, "placeholder"),
        ("sunflower" * 5, "too predictable"),  # Shannon per character alone says 140 bits
        ("ab" * 20, "too predictable"),
        ("0123456789" * 4, "too predictable"),
        ("change-me" * 4, "placeholder"),
        ("change-me-to-a-long-random-string-please", "placeholder"),
        ("secret" * 6, "placeholder"),
        ("SECRET-SECRET-SECRET-SECRET-SECRET", "placeholder"),
        ("dev-dev-dev-dev-dev-dev-dev-dev-dev", "placeholder"),
        ("replace-me-with-a-real-secret-key-0000", "placeholder"),
    ],
)
def test_weak_secret_keys_are_refused_in_production(tmp_path: Path, key: str, why: str) -> None:
    with pytest.raises(ConfigError, match=f"^SECRET_KEY .*{why}") as refused:
        load_settings({**PROD, "SECRET_KEY": key}, tmp_path)
    assert key not in str(refused.value)  # the message never repeats the key
    assert "\n" not in str(refused.value)  # one line, like the other refusals


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32)],
    ids=["urlsafe", "hex"],
)
def test_random_secret_keys_are_accepted_in_production(tmp_path: Path, make: object) -> None:
    for _ in range(50):  # random draws: none of them may be refused
        key = make()  # type: ignore[operator]
        assert load_settings({**PROD, "SECRET_KEY": key}, tmp_path).secret_key == key


def test_weak_keys_still_start_local_development(tmp_path: Path) -> None:
    # Only production refuses: a laptop may use anything.
    assert load_settings({"SECRET_KEY": "dev"}, tmp_path).secret_key == "dev"
