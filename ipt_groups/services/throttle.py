"""Fixed-window rate limits stored in the database.

Every web process (and every gunicorn worker) sees the same counters, unlike an
in-memory limiter. Hits are committed in their own transaction at once: a failed
login must still count, even though the request that made it rolls back.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from ipt_groups.clock import utcnow
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import RateCounter


@dataclass(frozen=True)
class Limit:
    name: str
    hits: int
    window: timedelta


# Per login name: slows guessing one account's password without locking it for long.
LOGIN_PER_NAME = Limit("login:name", hits=10, window=timedelta(minutes=15))
# Per client address: slows spraying many accounts (and argon2's memory cost).
LOGIN_PER_ADDRESS = Limit("login:addr", hits=50, window=timedelta(minutes=15))


def _key(limit: Limit, subject: str) -> str:
    # Hash the subject: no emails or addresses in this table.
    return f"{limit.name}:{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def hit(limit: Limit, subject: str) -> None:
    """Count one attempt; raise a 429 with Retry-After once the limit is passed."""
    key = _key(limit, subject)
    now = utcnow()
    for _ in range(3):  # two processes may insert the same new key at once
        row = db.session.get(RateCounter, key, with_for_update=True)
        if row is None:
            row = RateCounter(key=key, window_start=now, hits=1)
            db.session.add(row)
        elif now - row.window_start >= limit.window:
            row.window_start, row.hits = now, 1
        else:
            # An SQL increment, so concurrent hits on PostgreSQL all count.
            row.hits = RateCounter.hits + 1
        try:
            db.session.commit()  # expires row: reading it below fetches the stored count
            break
        except IntegrityError:
            db.session.rollback()
    if row.hits > limit.hits:
        retry = row.window_start + limit.window - now
        raise ApiError(429, headers={"Retry-After": str(max(1, math.ceil(retry.total_seconds())))})
