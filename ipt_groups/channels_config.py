"""Settings for the channels beside Web Push: an SMS provider and an SMTP server.

Both are optional: with neither set, reminders go by push only and staff see
who cannot be reached. Secrets (tokens, API keys, the SMTP password, the
callback key) are never repeated in an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SMS_PROVIDERS = ("twilio", "africastalking")
# Africa's Talking does not sign its callbacks: the secret in the callback URL is
# what proves a call came from them, so it must be long and random.
MIN_CALLBACK_KEY = 32
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class ChannelSettings:
    sms_provider: str = ""
    sms_concurrency: int = 32
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_base_url: str = ""
    at_username: str = ""
    at_api_key: str = ""
    at_sender_id: str = ""
    at_base_url: str = ""
    at_callback_key: str = ""
    smtp_url: str = ""
    mail_from: str = ""

    @property
    def sms(self) -> bool:
        return bool(self.sms_provider)

    @property
    def email(self) -> bool:
        return bool(self.smtp_url)

    def provider_settings(self) -> dict[str, str]:
        """What the SMS adapters read, by the names the README gives."""
        return {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_FROM": self.twilio_from,
            "TWILIO_BASE_URL": self.twilio_base_url,
            "AT_USERNAME": self.at_username,
            "AT_API_KEY": self.at_api_key,
            "AT_SENDER_ID": self.at_sender_id,
            "AT_BASE_URL": self.at_base_url,
        }

    def __repr__(self) -> str:  # never print the secrets
        return f"ChannelSettings(sms_provider={self.sms_provider!r}, email={self.email})"


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _base_url(env: Mapping[str, str], name: str) -> str:
    url = _get(env, name).rstrip("/")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name} must be an http(s) URL such as https://api.example.com")
    return url


def _required(env: Mapping[str, str], provider: str, names: tuple[str, ...]) -> None:
    missing = [n for n in names if not _get(env, n)]
    if missing:
        raise ValueError(f"{', '.join(missing)} required when SMS_PROVIDER={provider}")


def load_channels(env: Mapping[str, str]) -> ChannelSettings:
    provider = _get(env, "SMS_PROVIDER").lower()
    if provider and provider not in SMS_PROVIDERS:
        raise ValueError(
            f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)} or empty, got {provider!r}"
        )
    raw_concurrency = _get(env, "SMS_CONCURRENCY") or "32"
    if not raw_concurrency.isdigit() or not 1 <= int(raw_concurrency) <= 256:
        raise ValueError(
            f"SMS_CONCURRENCY must be an integer from 1 to 256, got {raw_concurrency!r}"
        )
    if provider == "twilio":
        _required(env, provider, ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"))
        sender = _get(env, "TWILIO_FROM")
        if not (_E164.match(sender) or re.match(r"^MG[0-9a-fA-F]{32}$", sender)):
            raise ValueError(
                "TWILIO_FROM must be a number in E.164 (+15005550006) "
                "or a Messaging Service SID (MG...)"
            )
    if provider == "africastalking":
        _required(env, provider, ("AT_USERNAME", "AT_API_KEY", "AT_CALLBACK_KEY"))
        key = _get(env, "AT_CALLBACK_KEY")
        if len(key) < MIN_CALLBACK_KEY or not _KEY.match(key):
            raise ValueError(
                f"AT_CALLBACK_KEY must be at least {MIN_CALLBACK_KEY} URL-safe characters "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    smtp_url = _get(env, "SMTP_URL")
    mail_from = _get(env, "MAIL_FROM")
    if smtp_url:
        parts = urlsplit(smtp_url)
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise ValueError("SMTP_URL has a malformed port") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465"
            )
        if not _EMAIL.match(mail_from.rpartition("<")[2].rstrip(">")):
            raise ValueError(
                "MAIL_FROM must be an address such as reminders@example.org when SMTP_URL is set"
            )
    return ChannelSettings(
        sms_provider=provider,
        sms_concurrency=int(raw_concurrency),
        twilio_account_sid=_get(env, "TWILIO_ACCOUNT_SID"),
        twilio_auth_token=_get(env, "TWILIO_AUTH_TOKEN"),
        twilio_from=_get(env, "TWILIO_FROM"),
        twilio_base_url=_base_url(env, "TWILIO_BASE_URL"),
        at_username=_get(env, "AT_USERNAME"),
        at_api_key=_get(env, "AT_API_KEY"),
        at_sender_id=_get(env, "AT_SENDER_ID"),
        at_base_url=_base_url(env, "AT_BASE_URL"),
        at_callback_key=_get(env, "AT_CALLBACK_KEY"),
        smtp_url=smtp_url,
        mail_from=mail_from,
    )
