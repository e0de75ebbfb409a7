"""SMS as data: what a text costs in parts, and the shapes providers report in.

A text is sent as GSM-7 when every character is in the GSM 03.38 alphabet
(160 per single message, 153 per part of a longer one; the extension table's
characters such as ``€`` or ``[`` take two), and as UCS-2 otherwise (70, or 67
per part, counted in UTF-16 code units, so an emoji takes two). Providers bill
per part, so templates must fit one (``messages.template_problems``).

The provider adapters (``push/sms_twilio.py``, ``push/sms_africastalking.py``)
parse their callbacks into ``StatusReport`` and ``Incoming``; the inbound
service (``services/sms.py``) reads them. Pure: nothing here sends or stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
