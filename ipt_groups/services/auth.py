"""Logging in and out, and server-side sessions with idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from ipt_groups.extensions import db
from ipt_groups.models import AuthSession, User
from ipt_groups.services import audit, throttle
from ipt_groups.services.audit import Actor
from ipt_groups.services.passwords import hash_password, needs_rehash, verify_password
from ipt_groups.timesource import utcnow

# Writing last_seen_at on every request would turn every read into a write;
# a minute's precision is plenty for a timeout measured in tens of minutes.
LAST_SEEN_PRECISION = timedelta(seconds=60)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_login(email: str | None, username: str | None) -> User | None:
    if email:
        return db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if username:
        return db.session.scalar(select(User).where(User.username == username.strip().lower()))
    return None


def login_name(email: str | None, username: str | None) -> str:
    """The name an account logs in with, as its limits and lockout are keyed."""
    return (email or username or "").strip().lower()


def authenticate(
    email: str | None,
    username: str | None,
    password: str,
    *,
    address: str | None,
    device: str | None = None,
) -> User | None:
    """The user these credentials belong to, or None for any failure at all.

    Attempts are rate limited per client address first, then per login name
    (429), so guessing is slow and argon2's memory cost cannot be used to flood
    us; a name with too many failures in a row is locked out for a growing time
    (429 too; see throttle.lockout_for), whether or not an account has it.

    A device that logged in to this account before (``device``: the nonce of a
    device cookie the caller found valid for this name, see device_cookies and
    security.known_device) is counted apart: its attempts and failures
    go against its own limit and lockout instead of the name's. So strangers
    who lock the name by guessing do not lock the member's own phone out, and
    the phone's own mistakes do not lock the name for anyone else.

    Unknown account, wrong password, no password set yet and disabled account
    all look the same to the caller (and take the same time).
    """
    name = login_name(email, username)
    throttle.hit(throttle.LOGIN_PER_ADDRESS, address or "unknown")
    if device is not None:
        subject, scope, limit = device, throttle.DEVICE_LOCKOUT, throttle.LOGIN_PER_DEVICE
    else:
        subject, scope, limit = name, throttle.LOCKOUT, throttle.LOGIN_PER_NAME
    throttle.hit(limit, subject)
    throttle.check_lockout(subject, scope)
    user = find_login(email, username)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        throttle.record_failure(subject, scope)
        return None
    if throttle.has_failures(subject, scope):  # no write (and no commit) in the usual case
        throttle.clear_lockout(subject, scope)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _names(user: User) -> list[str]:
    # An account may have both an email and a username: each is a login name.
    return [login_name(name, None) for name in (user.email, user.username) if name]


def verify_own_secret(user: User, secret: str) -> bool:
    """Check a logged-in user's current password or PIN (before changing it).

    Shares the login's lockout: someone holding an unlocked phone gets no more
    guesses at the PIN here than at the login screen. 429 while locked out.
    """
    for name in _names(user):
        throttle.check_lockout(name)
    if not verify_password(user.password_hash, secret):
        for name in _names(user):
            throttle.record_failure(name)
        return False
    clear_lockouts(user)
    return True


def clear_lockouts(user: User) -> None:
    """Forget the user's failed attempts (a success, or a new PIN from an invite)."""
    for name in _names(user):
        if throttle.has_failures(name):  # no write (and no commit) in the usual case
            throttle.clear_lockout(name)


def reset_login_limits(user: User) -> None:
    """Lift everything that holds the user's login names back: the lockout and
    the per-name count of attempts. Redeeming a re-issued invite proves the
    member is who staff enrolled, so their next login from any device works
    (until someone guesses at the name again; their phone then has a device
    cookie from the redemption, which those guesses do not touch)."""
    clear_lockouts(user)
    for name in _names(user):
        throttle.reset(throttle.LOGIN_PER_NAME, name)


def start_session(user: User, actor: Actor, user_agent: str | None) -> str:
    """Open a session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AuthSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip_address=actor.ip_address,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    user.last_login_at = now
    audit.record(actor, "auth.login", "user", user.id)
    return token


def resolve_session(token: str | None, user_id: int, timeouts: Timeouts) -> User | None:
    """The user of a live session, or None if it is revoked, expired or not theirs."""
    if not token:
        return None
    # Every authenticated request pays this, so it is one statement that brings
    # the User entity (views read and change current_user) with the session's
    # four columns as plain values: building and tracking an AuthSession object
    # as well cost more than the statement (issue 24's profile of GET /api/me).
    row = db.session.execute(
        select(
            User,
            AuthSession.id,
            AuthSession.user_id,
            AuthSession.revoked_at,
            AuthSession.created_at,
            AuthSession.last_seen_at,
        )
        .join(AuthSession.user)
        .where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    user, session_id, owner_id, revoked_at, created_at, last_seen_at = row
    if owner_id != user_id or revoked_at is not None:
        return None
    now = utcnow()
    if now - created_at > timeouts.absolute or now - last_seen_at > timeouts.idle:
        _touch(session_id, revoked_at=now)
        return None
    if not user.is_active:
        return None
    if now - last_seen_at >= LAST_SEEN_PRECISION:
        _touch(session_id, last_seen_at=now)
    return user


def _touch(session_id: int, **values: object) -> None:
    """Write the session row by id and commit (the row was read as plain columns)."""
    db.session.execute(update(AuthSession).where(AuthSession.id == session_id).values(**values))
    db.session.commit()


def end_session(token: str | None, actor: Actor) -> None:
    if not token:
        return
    row = db.session.scalar(select(AuthSession).where(AuthSession.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor, "auth.logout", "user", row.user_id)


def revoke_all_sessions(user_id: int, *, except_token: str | None = None) -> int:
    """Revoke every live session of a user (disable, password change)."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if except_token:
        stmt = stmt.where(AuthSession.token_hash != _token_hash(except_token))
    return db.session.execute(stmt).rowcount or 0
