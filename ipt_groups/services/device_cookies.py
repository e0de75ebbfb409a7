"""Device cookies: a phone that has logged in to an account before keeps its own
guessing budget for that account.

The login lockout and the per-name limit are keyed by the login name, and
members' usernames (``slate-3022``) can be guessed: without this, anyone could
keep a member out by sending ten wrong PINs every 15 minutes from anywhere.
Following OWASP's "device cookies" (Slow Down Online Guessing Attacks with
Device Cookies), a successful login leaves a signed cookie that names the
account (as a keyed hash) and a random nonce. Later attempts for that account
that carry a valid cookie are counted against that cookie's nonce only: the
name's limit and lockout neither hold them back nor hear of their failures.
A guesser without the cookie still meets the name's limit and lockout; one who
stole the cookie gets the same budget as the name, once.

The cookie is signed with ``SECRET_KEY`` (itsdangerous, its own salt), so it
cannot be forged or moved to another account; it is HttpOnly, SameSite=Lax,
Secure in production, sent only to ``/api/auth`` and lives a year. Its age is
checked against ``timesource.utcnow()`` as well, so tests move it with the clock.

The web layer (ipt_groups/security.py) reads the cookie and passes it here with
the app's ``SECRET_KEY``; nothing here reads the request or the app's config.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from ipt_groups.timesource import utcnow

COOKIE_NAME = "ipt_device"
COOKIE_PATH = "/api/auth"  # only the login reads it
MAX_AGE = timedelta(days=365)
# A clinic tablet may be shared by a few facilitators: remember that many accounts.
MAX_ACCOUNTS = 5
_SALT = "ipt-device-cookie"


@dataclass(frozen=True)
class Entry:
    name_tag: str  # keyed hash of the login name, never the name itself
    nonce: str  # what this device's failures are counted against
    issued: int  # seconds since the epoch, from timesource.utcnow()


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def name_tag(login_name: str, secret_key: str) -> str:
    secret = secret_key.encode()
    return hmac.new(secret, b"device:" + login_name.encode(), hashlib.sha256).hexdigest()[:32]


def _entries(raw: str | None, now: datetime, secret_key: str) -> list[Entry]:
    """The cookie's current entries; a forged, altered or malformed cookie has none."""
    if not raw:
        return []
    try:
        data = _serializer(secret_key).loads(raw)
    except BadSignature:
        return []
    if not isinstance(data, list):
        return []
    oldest = (now - MAX_AGE).timestamp()
    found = []
    for item in data[:MAX_ACCOUNTS]:
        if (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and isinstance(item[1], str)
            and isinstance(item[2], int)
            and item[2] >= oldest
        ):
            found.append(Entry(item[0], item[1], item[2]))
    return found


def trusted_nonce(raw: str | None, login_name: str, secret_key: str) -> str | None:
    """This device's nonce for ``login_name`` if its cookie is valid for that account."""
    tag = name_tag(login_name, secret_key)
    for entry in _entries(raw, utcnow(), secret_key):
        if hmac.compare_digest(entry.name_tag, tag):
            return entry.nonce
    return None


def remember(raw: str | None, login_name: str, secret_key: str) -> str:
    """The cookie value after a successful login as ``login_name``: a fresh nonce
    for that account (first), the device's other accounts kept."""
    now = utcnow()
    tag = name_tag(login_name, secret_key)
    others = [e for e in _entries(raw, now, secret_key) if not hmac.compare_digest(e.name_tag, tag)]
    fresh = Entry(tag, secrets.token_urlsafe(16), int(now.timestamp()))
    kept = [fresh, *others][:MAX_ACCOUNTS]
    return str(_serializer(secret_key).dumps([[e.name_tag, e.nonce, e.issued] for e in kept]))
