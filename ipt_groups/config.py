"""Settings read from the environment, parsed strictly.

Every variable the app reads is listed here and in the README. A bad value stops
start-up with a message naming the variable: a clinic's administrator should see
"PORT must be an integer" at deploy time, not a traceback on the first request.
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipt_groups.channels_config import ChannelSettings, load_channels
from ipt_groups.messaging import endpoints
from ipt_groups.push import vapid
from ipt_groups.push.vapid import VapidKeys

APP_ENVS = ("development", "test", "production")
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Every environment variable the web app reads (the README documents each).
ENV_VARS = (
    "APP_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "PORT",
    "SESSION_IDLE_MINUTES",
    "SESSION_ABSOLUTE_HOURS",
    "PROXY_HOPS",
    "MAX_CONTENT_KB",
    "LOG_LEVEL",
    "INVITE_DAYS",
    "PUBLIC_URL",
    "VAPID_PRIVATE_KEY",
    "VAPID_PUBLIC_KEY",
    "VAPID_SUBJECT",
    "PUSH_ALLOWED_HOSTS",
    "PUSH_CONCURRENCY",
    "RATELIMIT_STORAGE_URI",
    "NOTIFICATION_RETENTION_DAYS",
    "AUDIT_RETENTION_DAYS",
    # Channels beside Web Push (ipt_groups/channels_config.py)
    "SMS_PROVIDER",
    "SMS_CONCURRENCY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_BASE_URL",
    "AT_USERNAME",
    "AT_API_KEY",
    "AT_SENDER_ID",
    "AT_BASE_URL",
    "AT_CALLBACK_KEY",
    "SMTP_URL",
    "MAIL_FROM",
)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    app_env: str
    secret_key: str
    database_url: str
    port: int
    session_idle_timeout: timedelta
    session_absolute_timeout: timedelta
    proxy_hops: int
    max_content_length: int
    log_level: str
    invite_ttl: timedelta
    public_url: str | None
    vapid: VapidKeys
    push_allowed_hosts: tuple[str, ...]
    push_concurrency: int
    ratelimit_storage_uri: str | None
    notification_retention: timedelta
    audit_retention: timedelta
    channels: ChannelSettings

    def flask_config(self) -> dict[str, Any]:
        """The Flask / extension configuration these settings imply."""
        production = self.app_env == "production"
        return {
            "APP_ENV": self.app_env,
            "SECRET_KEY": self.secret_key,
            "TESTING": self.app_env == "test",
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url),
            "PORT": self.port,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "SESSION_COOKIE_NAME": "ipt_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": production,
            # The cookie lives no longer than the absolute timeout; the server-side
            # session row enforces both timeouts whatever the browser keeps.
            "PERMANENT_SESSION_LIFETIME": self.session_absolute_timeout,
            # So it is set at login (and when the session changes) and not signed
            # and sent again on every answer (its cost per request: docs/benchmarks.md,
            # "Programme scale", SESSION_REFRESH_EACH_REQUEST):
            # it then expires at the absolute timeout, as the server-side row does.
            "SESSION_REFRESH_EACH_REQUEST": False,
            "SESSION_IDLE_TIMEOUT": self.session_idle_timeout,
            "SESSION_ABSOLUTE_TIMEOUT": self.session_absolute_timeout,
            "PROXY_HOPS": self.proxy_hops,
            "LOG_LEVEL": self.log_level,
            "INVITE_TTL": self.invite_ttl,
            "PUBLIC_URL": self.public_url,
            "VAPID_KEYS": self.vapid,
            "PUSH_ALLOWED_HOSTS": self.push_allowed_hosts,
            "PUSH_CONCURRENCY": self.push_concurrency,
            # Rate-limit counters: None keeps them in the database.
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            # How long the prune job keeps finished notification rows and audit entries.
            "NOTIFICATION_RETENTION": self.notification_retention,
            "AUDIT_RETENTION": self.audit_retention,
            # SMS provider and SMTP (ipt_groups/channels_config.py).
            "CHANNELS": self.channels,
            # Password hashing cost: RFC 9106 "low memory" argon2id everywhere except
            # the test suite, which hashes hundreds of passwords.
            "ARGON2_PROFILE": "test" if self.app_env == "test" else "rfc9106-low-memory",
            # flask-smorest / OpenAPI
            "API_TITLE": "ipt_groups API",
            "API_VERSION": "1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api",
            "OPENAPI_JSON_PATH": "openapi.json",
        }


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # web and clock share one SQLite file on a laptop: wait for the lock
        # instead of failing with "database is locked".
        return {"connect_args": {"timeout": 15}, "hide_parameters": True}
    # Connections die when the platform restarts the database: they are checked
    # before use when they sat idle (ipt_groups/pool.py), not on every request.
    # hide_parameters: a failed statement's error (which we log) must not carry
    # names, contact details or screening answers into the logs.
    return {"pool_recycle": 1800, "hide_parameters": True}


def normalise_database_url(raw: str) -> str:
    """Point every PostgreSQL URL at the psycopg 3 driver.

    Heroku-style platforms hand out ``postgres://`` URLs, which SQLAlchemy 2 does
    not accept, and ``postgresql://`` would pick psycopg2, which we do not install.
    """
    url = raw.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise ConfigError(f"DATABASE_URL is not a URL: {raw!r}")
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite":
        return url
    raise ConfigError(
        f"DATABASE_URL must be a postgres://, postgresql:// or sqlite:// URL, got scheme {scheme!r}"
    )


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


# The key signs session and device cookies and keys the rate-limit HMACs: a
# guessable one lets anyone forge a login. 128 bits is the usual floor for a
# MAC key; secrets.token_urlsafe(32) gives 256.
SECRET_KEY_MIN_BITS = 128
SECRET_KEY_HOWTO = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105 (advice, not a key)
# Values copied from templates and tutorials: refused however long they are made.
SECRET_KEY_PLACEHOLDERS = frozenset(
    {"changeme", "secret", "secretkey", "dev", "development", "test", "password", "default",
     "insecure", "replaceme", "yoursecretkey", "mysecretkey", "supersecret", "key"}
)  # fmt: skip
_TEMPLATE_MARKERS = ("changeme", "replaceme", "changethis", "yoursecret")


def _shortest_period(value: str) -> str:
    """The shortest unit ``value`` repeats ("passwordpass..." -> "password"):
    a repeated word has no more entropy than the word once."""
    for size in range(1, len(value) // 2 + 1):
        unit = value[:size]
        if (unit * (len(value) // size + 1))[: len(value)] == value:
            return unit
    return value


def estimated_bits(value: str) -> float:
    """A conservative entropy estimate: Shannon entropy per character times the
    length of the shortest repeating unit. Honest random keys (token_urlsafe,
    token_hex of 32 bytes) score far above 128; "a"*32 scores 0."""
    unit = _shortest_period(value)
    counts = Counter(unit)
    per_char = -sum(n / len(unit) * math.log2(n / len(unit)) for n in counts.values())
    return per_char * len(unit)


def check_production_secret(raw: str) -> None:
    """Refuse a SECRET_KEY an attacker could guess (ConfigError, one line, never
    repeating the key)."""
    if len(raw) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters in production")
    letters = "".join(ch for ch in raw.lower() if ch.isalnum())
    if (
        letters in SECRET_KEY_PLACEHOLDERS
        or _shortest_period(letters) in SECRET_KEY_PLACEHOLDERS
        or any(marker in letters for marker in _TEMPLATE_MARKERS)
    ):
        raise ConfigError(f"SECRET_KEY is a placeholder value in production; {SECRET_KEY_HOWTO}")
    bits = estimated_bits(raw)
    if bits < SECRET_KEY_MIN_BITS or len(set(raw)) < 10:
        raise ConfigError(
            f"SECRET_KEY is too predictable in production (about {bits:.0f} bits estimated, "
            f"{SECRET_KEY_MIN_BITS} needed); {SECRET_KEY_HOWTO}"
        )


def _secret_key(env: Mapping[str, str], app_env: str, instance_path: Path) -> str:
    raw = env.get("SECRET_KEY", "").strip()
    if raw:
        if app_env == "production":
            check_production_secret(raw)
        return raw
    if app_env == "production":
        raise ConfigError("SECRET_KEY is required when APP_ENV=production")
    # Local use: generate once and keep it, so sessions survive a restart and
    # every process on this machine (web, clock) signs with the same key.
    key_file = instance_path / "secret_key"
    if key_file.exists():
        key = key_file.read_text().strip()
        if len(key) < 32:
            raise ConfigError(
                f"SECRET_KEY file {key_file} is empty or too short; delete it to make a new one"
            )
        return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_settings(env: Mapping[str, str], instance_path: Path) -> Settings:
    """Parse the environment into Settings, or raise ConfigError naming the variable."""
    app_env = env.get("APP_ENV", "development").strip().lower() or "development"
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")

    raw_url = env.get("DATABASE_URL", "").strip()
    if raw_url:
        database_url = normalise_database_url(raw_url)
    elif app_env == "production":
        raise ConfigError("DATABASE_URL is required when APP_ENV=production")
    else:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'ipt_groups.sqlite3'}"

    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    idle = _int(env, "SESSION_IDLE_MINUTES", 60, 1, 7 * 24 * 60)
    absolute = _int(env, "SESSION_ABSOLUTE_HOURS", 12, 1, 90 * 24)
    if idle > absolute * 60:
        raise ConfigError("SESSION_IDLE_MINUTES must not be longer than SESSION_ABSOLUTE_HOURS")

    public_url = _public_url(env.get("PUBLIC_URL", ""))
    return Settings(
        app_env=app_env,
        secret_key=_secret_key(env, app_env, instance_path),
        database_url=database_url,
        port=_int(env, "PORT", 5000, 1, 65535),
        session_idle_timeout=timedelta(minutes=idle),
        session_absolute_timeout=timedelta(hours=absolute),
        proxy_hops=_int(env, "PROXY_HOPS", 0, 0, 5),
        max_content_length=_int(env, "MAX_CONTENT_KB", 1024, 1, 100 * 1024) * 1024,
        log_level=log_level,
        invite_ttl=timedelta(days=_int(env, "INVITE_DAYS", 14, 1, 90)),
        public_url=public_url,
        vapid=_vapid(env, app_env, instance_path),
        push_allowed_hosts=_push_hosts(env.get("PUSH_ALLOWED_HOSTS")),
        push_concurrency=_int(env, "PUSH_CONCURRENCY", 128, 1, 512),
        ratelimit_storage_uri=_ratelimit_storage(env.get("RATELIMIT_STORAGE_URI", "")),
        # Finished outbox rows only serve troubleshooting and the in-app inbox,
        # and nobody looks for a reminder months after its session. At least a
        # week, so a message is never pruned before the member could see it.
        notification_retention=timedelta(
            days=_int(env, "NOTIFICATION_RETENTION_DAYS", 90, 7, 3650)
        ),
        # The trail of who read or changed clinical records: seven years by
        # default (longer than HIPAA's six for compliance records); raise it where
        # local rules keep health records longer. Never under a year.
        audit_retention=timedelta(days=_int(env, "AUDIT_RETENTION_DAYS", 2555, 365, 36500)),
        channels=_channels(env, app_env, public_url),
    )


def _channels(env: Mapping[str, str], app_env: str, public_url: str | None) -> ChannelSettings:
    try:
        channels = load_channels(env)
    except ValueError as exc:  # the messages name the variable
        raise ConfigError(str(exc)) from None
    if channels.sms_provider and app_env == "production" and not public_url:
        # Providers call us back at PUBLIC_URL; Twilio signs that exact URL.
        raise ConfigError("PUBLIC_URL is required when SMS_PROVIDER is set in production")
    return channels


def _vapid(env: Mapping[str, str], app_env: str, instance_path: Path) -> VapidKeys:
    """Keys from the environment; for local use, a pair kept in the instance folder."""
    private = env.get("VAPID_PRIVATE_KEY", "").strip()
    public = env.get("VAPID_PUBLIC_KEY", "").strip()
    subject = env.get("VAPID_SUBJECT", "").strip()
    if app_env == "production":
        missing = [
            name
            for name, value in (
                ("VAPID_PRIVATE_KEY", private),
                ("VAPID_PUBLIC_KEY", public),
                ("VAPID_SUBJECT", subject),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} required when APP_ENV=production "
                "(make a pair with: flask --app wsgi vapid generate)"
            )
    if bool(private) != bool(public):
        raise ConfigError("VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY must be set together")
    try:
        if private:
            return VapidKeys(private, public, subject or vapid.LOCAL_SUBJECT)
        return vapid.local_keys(instance_path, subject or None)
    except ValueError as exc:  # the messages name the variable (or the instance file)
        raise ConfigError(str(exc)) from None


def _push_hosts(raw: str | None) -> tuple[str, ...]:
    try:
        return endpoints.parse_allowed(raw)
    except ValueError as exc:
        raise ConfigError(f"PUSH_ALLOWED_HOSTS: {exc}") from None


def _public_url(raw: str) -> str | None:
    """The address people use to reach the app (invite and calendar links).

    Unset, links use the address of the request that made them."""
    url = raw.strip().rstrip("/")
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not sep or not rest or "?" in rest:
        raise ConfigError(
            f"PUBLIC_URL must be an http(s) URL such as https://ipt.example.org, got {raw!r}"
        )
    return url


def _ratelimit_storage(raw: str) -> str | None:
    """Where rate-limit counters live: unset, the database; else a Redis URL.

    The value may hold a password, so messages never repeat it."""
    url = raw.strip()
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in ("redis", "rediss") or not sep:
        # Name the scheme only when there clearly is one (not a fragment of a password).
        shown = f", got scheme {scheme.lower()!r}" if sep and scheme.isalpha() else ""
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must be a redis:// or rediss:// URL "
            f"(or empty for the database){shown}"
        )
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on a non-number
    except ValueError:
        raise ConfigError("RATELIMIT_STORAGE_URI has a malformed host or port") from None
    db_number = parts.path.strip("/")
    if not host or port == 0 or (db_number and not db_number.isdigit()):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must look like redis://host:6379/0 "
            "(a host, an optional port and an optional database number)"
        )
    return f"{scheme.lower()}://{rest}"
