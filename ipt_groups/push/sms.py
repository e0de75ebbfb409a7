"""SMS: what a message costs in parts, and the shapes every provider adapter shares.

A text is sent as GSM-7 when every character is in the GSM 03.38 alphabet
(160 per single message, 153 per part of a longer one; the extension table's
characters such as ``€`` or ``[`` take two), and as UCS-2 otherwise (70, or 67
per part, counted in UTF-16 code units, so an emoji takes two). Providers bill
per part, so templates must fit one (``messages.template_problems``).

The adapters (``sms_twilio``, ``sms_africastalking``) never touch the database:
they take ``SmsOutgoing`` and return one ``ChannelResult`` each, as the push
transport does, and parse the providers' callbacks into ``StatusReport`` and
``Incoming``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ipt_groups.push.transport import Outcome

# GSM 03.38 basic alphabet and its extension table (each extension character is
# sent as ESC + character: two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Delivery states, in the order a message moves through them; a report never
# moves a message backwards (callbacks arrive out of order).
STATE_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}


@dataclass(frozen=True)
class Segments:
    encoding: str  # "gsm7" | "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


def segments(text: str) -> Segments:
    """How many SMS parts ``text`` is sent as, and in which encoding."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "ucs2"
    parts = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, parts)


@dataclass(frozen=True)
class SmsOutgoing:
    notification_id: int
    to: str  # E.164
    body: str
    status_callback: str | None = None  # where the provider reports delivery


@dataclass(frozen=True)
class ChannelResult:
    """What one SMS provider or the mail server said about one message.

    ``outcome`` uses the push transport's vocabulary: SENT (accepted), RETRY or
    THROTTLED (try again later), REJECTED (final for this channel: an invalid
    number, an opted-out number, a 5xx from the mail server), AUTH (our
    credentials were refused: retried, and an admin is told), SKIPPED (stopping).
    """

    notification_id: int
    outcome: Outcome
    host: str = ""
    provider_id: str | None = None
    error: str | None = None  # short and free of personal data: "invalid_number", "http_500"
    status_code: int | None = None
    retry_after: float | None = None
    duration_ms: int = 0
    segments: int = 0
    opted_out: bool = False  # the provider says this number sent STOP


@dataclass(frozen=True)
class StatusReport:
    """A delivery report from a provider's callback."""

    provider_id: str
    state: str  # a key of STATE_RANK
    error: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A message a person sent to our number."""

    provider_id: str
    sender: str  # E.164
    text: str
    received_at: datetime | None = None
