"""Rate limits and login lockouts, counted where every process sees them.

Two stores behind one small interface (``Store``):

- **the database** (``rate_counters``), the default. Hits are committed at once,
  in the request's session: a failed login must still count although the
  request that made it answers with an error. So call these before the request
  has written anything (the write limits run before the view and before the
  Idempotency-Key is taken).
- **Redis**, when ``RATELIMIT_STORAGE_URI`` is set: one Lua script per hit, so
  the read, the increment and the expiry are one atomic step however many web
  processes (or hosts) count at once. Nothing touches the request's transaction.

Both keep the same record per key: a count and the moment it started, taken
from ``timesource.utcnow()`` rather than the store's own clock, so both behave the
same and tests move time with the frozen clock instead of sleeping. Subjects
(login names, addresses, codes) are stored only as keyed hashes.

This is the one service that reads the app (``current_app``): the store is an
app extension chosen once in ``init_app``, and its callers are the request gate,
the login views and the CLI, several layers from any place that could pass the
store and the secret key in; an argument through all of them would be noise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ipt_groups.domain import Throttled, Unavailable
from ipt_groups.extensions import db
from ipt_groups.models import RateCounter
from ipt_groups.timesource import utcnow

log = logging.getLogger(__name__)

EXTENSION = "ipt_throttle"
DEFAULT_KEY_PREFIX = "ipt_groups:rl:"


@dataclass(frozen=True)
class Limit:
    name: str
    hits: int
    window: timedelta


@dataclass(frozen=True)
class Count:
    """``hits`` counted since ``since``; 0 hits when nothing is counted."""

    hits: int
    since: datetime


# Per login name: slows guessing one account's password without locking it for long.
LOGIN_PER_NAME = Limit("login:name", hits=10, window=timedelta(minutes=15))
# Per known device (a valid device cookie for the account, services/device_cookies.py):
# the same budget as the name, but spent only by attempts from that device.
LOGIN_PER_DEVICE = Limit("login:device", hits=10, window=timedelta(minutes=15))
# Per client address: slows spraying many accounts (and argon2's memory cost).
LOGIN_PER_ADDRESS = Limit("login:addr", hits=50, window=timedelta(minutes=15))

# Growing lockout per account (login name): after LOCKOUT_AFTER failures in a
# row, each failure locks the account's login for LOCKOUT_FIRST, doubling with
# every further failure up to LOCKOUT_MAX. Ten, not fewer: a member typing a PIN
# on a phone, perhaps upset, should not be locked out by a few slips, and the
# per-name limit above already allows ten per window. A success resets it.
LOCKOUT_AFTER = 10
LOCKOUT_FIRST = timedelta(minutes=1)
LOCKOUT_MAX = timedelta(hours=24)
# Longer than the longest lock: waiting out a 24-hour lock must not also wipe
# the count (that would give a guesser ten fresh tries a day).
FAILURES_FORGOTTEN_AFTER = LOCKOUT_MAX + timedelta(hours=24)
LOCKOUT = "lockout"  # the scope of login names
# The same growing lockout, for the failures of one known device (keyed by its
# cookie's nonce): a separate key space, so no typed name can collide with it.
DEVICE_LOCKOUT = "lockout:device"


class Store(Protocol):
    def incr(self, key: str, window: timedelta, now: datetime, *, restart: bool) -> Count:
        """Count one hit; a record older than ``window`` starts again at 1.

        ``restart`` moves the record's start to ``now`` on every hit, so it
        measures "since the last hit" (the lockout's failures)."""
        ...

    def peek(self, key: str, window: timedelta, now: datetime) -> Count: ...

    def clear(self, key: str) -> None: ...


class DatabaseStore:
    """Counters in ``rate_counters``; see the module docstring on commits."""

    def incr(self, key: str, window: timedelta, now: datetime, *, restart: bool) -> Count:
        for _ in range(3):  # two processes may insert the same new key at once
            row = db.session.get(RateCounter, key, with_for_update=True, populate_existing=True)
            if row is None:
                row = RateCounter(key=key, window_start=now, hits=1)
                db.session.add(row)
            elif now - row.window_start >= window:
                row.window_start, row.hits = now, 1
            else:
                # An SQL increment, so concurrent hits on PostgreSQL all count.
                row.hits = RateCounter.hits + 1
                if restart:
                    row.window_start = now
            try:
                db.session.commit()  # expires row: reading it below fetches the stored count
                break
            except IntegrityError:
                db.session.rollback()
        return Count(row.hits, row.window_start)

    def peek(self, key: str, window: timedelta, now: datetime) -> Count:
        found = db.session.execute(
            select(RateCounter.hits, RateCounter.window_start).where(RateCounter.key == key)
        ).first()
        if found is None or now - found.window_start >= window:
            return Count(0, now)
        return Count(found.hits, found.window_start)

    def clear(self, key: str) -> None:
        db.session.execute(delete(RateCounter).where(RateCounter.key == key))
        db.session.commit()


# KEYS[1] the counter; ARGV: now (ms since the epoch, from our clock), window
# (ms), restart (1/0). Returns {hits, since_ms}. The store's TTL only cleans up:
# whether a record is current is decided by our clock, like in the database.
_INCR_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'n', 's')
local n = tonumber(stored[1])
local s = tonumber(stored[2])
if n == nil or s == nil or now - s >= window then
  n = 1
  s = now
else
  n = n + 1
  if ARGV[3] == '1' then s = now end
end
redis.call('HSET', KEYS[1], 'n', n, 's', s)
redis.call('PEXPIRE', KEYS[1], window)
return {n, s}
"""


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class RedisStore:
    """Counters in Redis, shared by every process that uses the same server."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis  # only deployments that set RATELIMIT_STORAGE_URI load it

        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        # Short timeouts: a login must not hang for long on a Redis that is gone.
        self.client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        self.prefix = prefix
        self._incr = self.client.register_script(_INCR_LUA)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._errors:
            # Failing closed: without its counters the app cannot tell a guesser
            # from a member, so it answers 503 (never a traceback) until Redis is back.
            log.exception("rate-limit store (Redis) unavailable")
            raise Unavailable(retry_after=30) from None

    def incr(self, key: str, window: timedelta, now: datetime, *, restart: bool) -> Count:
        window_ms = max(1, int(window.total_seconds() * 1000))
        hits, since = self._call(
            self._incr, keys=[self.prefix + key], args=[_ms(now), window_ms, int(restart)]
        )
        return Count(int(hits), _from_ms(int(since)))

    def peek(self, key: str, window: timedelta, now: datetime) -> Count:
        hits, since = self._call(self.client.hmget, self.prefix + key, ["n", "s"])
        if hits is None or since is None or _ms(now) - int(since) >= window.total_seconds() * 1000:
            return Count(0, now)
        return Count(int(hits), _from_ms(int(since)))

    def clear(self, key: str) -> None:
        self._call(self.client.delete, self.prefix + key)


def init_app(app: Flask) -> None:
    """Choose the store once per app: Redis when RATELIMIT_STORAGE_URI is set."""
    prefix = app.config.setdefault("RATELIMIT_KEY_PREFIX", DEFAULT_KEY_PREFIX)
    url = app.config.get("RATELIMIT_STORAGE_URI")
    app.extensions[EXTENSION] = RedisStore(url, prefix) if url else DatabaseStore()


def store() -> Store:
    found: Store | None = current_app.extensions.get(EXTENSION)
    return found if found is not None else DatabaseStore()


def _key(name: str, subject: str) -> str:
    # A keyed hash: no login names, addresses or codes in the store, and
    # without the secret key nobody can test guesses against stored keys.
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()[:40]
    return f"{name}:{digest}"


def too_many(until: datetime) -> Throttled:
    """The 429 answer, with Retry-After in whole seconds until ``until``."""
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    return Throttled(retry_after=seconds)


def hit(limit: Limit, subject: str) -> None:
    """Count one attempt; raise a 429 with Retry-After once the limit is passed."""
    now = utcnow()
    record = store().incr(_key(limit.name, subject), limit.window, now, restart=False)
    if record.hits > limit.hits:
        raise too_many(record.since + limit.window)


def count(limit: Limit, subject: str) -> None:
    """Count one event without refusing anything (``over`` asks later)."""
    store().incr(_key(limit.name, subject), limit.window, utcnow(), restart=False)


def reset(limit: Limit, subject: str) -> None:
    """Forget ``subject``'s count in ``limit`` (no write when there is none)."""
    if counted(limit, subject).hits:
        store().clear(_key(limit.name, subject))


def counted(limit: Limit, subject: str) -> Count:
    return store().peek(_key(limit.name, subject), limit.window, utcnow())


def over(limit: Limit, subject: str) -> bool:
    """Has ``subject`` reached the limit in the current window?"""
    return counted(limit, subject).hits >= limit.hits


# -- growing lockout per account -------------------------------------------


def lockout_for(failures: int) -> timedelta:
    """How long ``failures`` failures in a row lock an account (0 below the threshold)."""
    if failures < LOCKOUT_AFTER:
        return timedelta(0)
    doublings = min(failures - LOCKOUT_AFTER, 32)  # 2**32 minutes is past any cap
    return min(LOCKOUT_FIRST * 2**doublings, LOCKOUT_MAX)


def check_lockout(subject: str, scope: str = LOCKOUT) -> None:
    """Raise 429 while ``subject`` (a login name) is locked out.

    Keyed by the name that was typed, not by a user row: a name nobody has is
    locked exactly like a real account, so the answer tells nothing about
    which accounts exist. Refused attempts are not failures and are not counted.
    """
    now = utcnow()
    failures = store().peek(_key(scope, subject), FAILURES_FORGOTTEN_AFTER, now)
    until = failures.since + lockout_for(failures.hits)
    if failures.hits and until > now:
        raise too_many(until)


def record_failure(subject: str, scope: str = LOCKOUT) -> int:
    """One more failure in a row for ``subject``; returns how many there are."""
    key = _key(scope, subject)
    return store().incr(key, FAILURES_FORGOTTEN_AFTER, utcnow(), restart=True).hits


def clear_lockout(subject: str, scope: str = LOCKOUT) -> None:
    store().clear(_key(scope, subject))


def has_failures(subject: str, scope: str = LOCKOUT) -> bool:
    return store().peek(_key(scope, subject), FAILURES_FORGOTTEN_AFTER, utcnow()).hits > 0


def prune(now: datetime) -> int:
    """Delete database counters no window can still need (Redis expires its own)."""
    oldest = now - max(FAILURES_FORGOTTEN_AFTER, timedelta(days=2))
    deleted = db.session.execute(delete(RateCounter).where(RateCounter.window_start < oldest))
    return deleted.rowcount or 0
