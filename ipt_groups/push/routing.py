"""Which channel each claimed row goes over, and the message for that channel.

The dispatcher claims rows and asks ``services/channels.py`` (``plan``) for the
channels that can carry each one (the person's order for the row's leg, minus
the absent ones: no push device, no consented number, an opted-out number, no
SMTP server...); this module builds the outgoing message for the channel being
tried. When a channel
refuses for good (a 410, an invalid number, a 550), the row moves to the next
channel in the same tick. No database access here: the dispatcher reads what
is needed once per batch and passes it in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.messaging import messages
from ipt_groups.messaging.sms import segments
from ipt_groups.models import Channel, NotificationKind
from ipt_groups.push.email import EmailOutgoing
from ipt_groups.push.sms import ChannelResult, SmsOutgoing
from ipt_groups.push.transport import Outgoing, Result
from ipt_groups.services.channels import Reach

DEFAULT_TTL = 24 * 3600  # a phone that is off for a day still gets it
URGENCY = {
    NotificationKind.RISK_ALERT: "high",
    NotificationKind.RISK_ESCALATION: "high",
    NotificationKind.SESSION_1H: "high",
    NotificationKind.CONTENT_RELEASED: "low",
}
# Only these never stop at the clinic's SMS cap: nobody may miss a risk alert.
UNCAPPED = frozenset({NotificationKind.RISK_ALERT, NotificationKind.RISK_ESCALATION})


@dataclass
class Route:
    """One claimed row on its way: the channels left to try, why others were
    skipped, and what was rendered for it (once, whatever the channel)."""

    id: int
    kind: str
    attempts: int
    expires_at: datetime | None
    user_id: int
    language: str
    words: messages.Rendered
    plan: list[str]
    notes: list[str] = field(default_factory=list)
    push_results: list[Result] = field(default_factory=list)
    result: ChannelResult | None = None  # the SMS or email answer, this round
    segments: int = 0
    # Set when a channel refused because our request was wrong (a push 400, an
    # endpoint outside the allow-list): the row ends failed, not "no channel".
    our_fault: str | None = None

    @property
    def channel(self) -> str:
        return self.plan[0]


@dataclass
class Round:
    """Everything to send in one go: push messages, SMS, email."""

    push: list[Outgoing] = field(default_factory=list)
    sms: list[SmsOutgoing] = field(default_factory=list)
    email: list[EmailOutgoing] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.routes)


@dataclass
class Builder:
    """Builds each route's message for its current channel."""

    secret: bytes
    settings: ChannelSettings
    reach: Mapping[int, Reach]
    devices: Mapping[int, Sequence[Any]]
    now: datetime
    status_callback: str | None
    sms_budget: int | None  # SMS parts left under the clinic's cap (None: no cap)
    rows: Mapping[int, Any]  # the claimed outbox rows, by id

    def build(self, routes: Sequence[Route]) -> Round:
        out = Round()
        for route in routes:
            while route.plan and not self._add(route, out):
                pass  # that channel was ruled out while building (the cap): next one
            if route.plan:
                out.routes.append(route)
        return out

    def _add(self, route: Route, out: Round) -> bool:
        note = self.rows[route.id]
        channel = route.channel
        route.result, route.push_results = None, []
        if channel == Channel.PUSH:
            topic = messages.topic(note, self.secret)
            data = messages.payload(
                note, route.words, topic, receipt=messages.receipt(note, self.secret)
            )
            ttl = DEFAULT_TTL
            if note.expires_at is not None:
                ttl = max(int((note.expires_at - self.now).total_seconds()), 60)
            out.push.extend(
                Outgoing(
                    notification_id=note.id,
                    subscription_id=sub.id,
                    endpoint=sub.endpoint,
                    p256dh=sub.p256dh,
                    auth=sub.auth,
                    data=data,
                    ttl=min(ttl, DEFAULT_TTL),
                    urgency=URGENCY.get(note.kind, "normal"),
                    topic=topic,
                )
                for sub in self.devices[note.user_id]
            )
            return True
        reach = self.reach[note.user_id]
        if channel == Channel.SMS:
            text = messages.sms_text(route.words.body, note.kind, route.language)
            parts = segments(text).parts
            if note.kind not in UNCAPPED and self.sms_budget is not None:
                if self.sms_budget < parts:
                    route.notes.append("sms:cap")
                    route.plan.pop(0)
                    return False
                self.sms_budget -= parts
            route.segments = parts
            out.sms.append(SmsOutgoing(note.id, reach.phone or "", text, self.status_callback))
            return True
        words = messages.email_text(route.words, route.language)
        domain = self.settings.mail_from.rpartition("@")[2].rstrip(">") or None
        out.email.append(
            EmailOutgoing(
                notification_id=note.id,
                to=reach.email or "",
                subject=words.subject,
                text=words.text,
                html=words.html,
                message_id=make_msgid(idstring=f"n{note.id}", domain=domain),
            )
        )
        return True


def notes_column(notes: Sequence[str]) -> str | None:
    """The ``channel_notes`` column: why each channel did not deliver."""
    return " ".join(notes)[:200] or None
