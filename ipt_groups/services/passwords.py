"""Password (and PIN) hashing with argon2id.

Production uses the RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4), argon2-cffi's
default. The test profile is far cheaper so the suite can create many accounts; it
is chosen only when APP_ENV=test. A hash made with weaker parameters is upgraded
on the next successful login.
"""

from __future__ import annotations

from contextlib import suppress
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_PROFILES = {
    "rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY,
    "test": profiles.CHEAPEST,
}


@cache
def _hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(_PROFILES[profile])


def _profile() -> str:
    # Read from the app's config rather than passed in (issue 25 asks services to
    # take what they need as arguments): the hash functions are called by other
    # services (users, auth, invites, demo) and by test fixtures and the scale
    # seed outside any request, so an argument would thread one process-wide
    # setting through a dozen signatures that have nothing else to do with it.
    # A module-level setting set by create_app instead would be process state that
    # outlives the app that set it (the tests build several apps). Any app context
    # will do; no request is needed.
    return str(current_app.config.get("ARGON2_PROFILE", "rfc9106-low-memory"))


def hasher() -> PasswordHasher:
    return _hasher(_profile())


def hash_password(password: str) -> str:
    return hasher().hash(password)


@cache
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash("not-a-real-password")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password``; always spend the same work, even with no stored hash.

    Verifying against a dummy hash when the account does not exist keeps the
    response time the same, so timing does not reveal which accounts exist.
    """
    ph = hasher()
    if stored_hash is None:
        with suppress(VerificationError):
            ph.verify(_dummy_hash(_profile()), password)
        return False
    try:
        return ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)
