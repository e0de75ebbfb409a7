"""'Shown' receipts: a device's service worker says it displayed a notification.

The push service's 201 only says it accepted the message; phones that are off,
out of data or have notifications blocked never show it. The worker posts the
payload's receipt token back (``POST /api/push/shown``), so the facilitator's
reminder list can say "shown on the phone".

The token is ``<row id>.<keyed MAC of row id and recipient>`` (see
``messaging/messages.receipt``): nothing is stored to check it, it travels only
inside the encrypted payload, and it marks that one row and no other, so
nobody can mark someone else's notifications. The endpoint needs no login
(the member may have logged out, or the phone be shared), which is why a bad
token is counted per address and a run of them is refused for a while.
"""

from __future__ import annotations

import hmac
import re
from datetime import timedelta

from sqlalchemy import update

from ipt_groups.domain import NotFound
from ipt_groups.extensions import db
from ipt_groups.messaging.messages import receipt_mac
from ipt_groups.models import Notification
from ipt_groups.services import throttle
from ipt_groups.timesource import utcnow

TOKEN = re.compile(r"([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})")
# A phone gets a few notifications a day; a household or a clinic's wifi
# shares one address. Generous for them, useless for guessing 128-bit MACs.
SHOWN = throttle.Limit("push:shown", hits=120, window=timedelta(minutes=10))
BAD_TOKENS = throttle.Limit("push:shown-bad", hits=10, window=timedelta(hours=1))


def mark_shown(token: str, secret: bytes, subject: str) -> None:
    """Record that the notification behind ``token`` was shown (the first time
    counts; a repeat changes nothing). Raises 404 for any token we did not issue."""
    if throttle.over(BAD_TOKENS, subject):
        raise throttle.too_many(utcnow() + BAD_TOKENS.window)
    found = TOKEN.fullmatch(token)
    row = db.session.get(Notification, int(found.group(1))) if found else None
    if (
        found is None
        or row is None
        or not hmac.compare_digest(found.group(2), receipt_mac(row.id, row.user_id, secret))
    ):
        throttle.count(BAD_TOKENS, subject)
        raise NotFound("No such notification.", code="receipt_unknown")
    db.session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.shown_at.is_(None))
        .values(shown_at=utcnow())
    )
