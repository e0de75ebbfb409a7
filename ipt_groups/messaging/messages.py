"""What a notification says, and the payload that carries it.

Lock screens are read by other people, and the payload travels through Google,
Mozilla or Apple. So every text is neutral: a day and a time at most, never a
clinical word, the cohort's name or the app's purpose. Texts come from
per-language templates a clinic may edit (``PUT /api/push/templates``); an edit
that uses a clinical word or an unknown placeholder is refused.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ipt_groups.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from ipt_groups.messaging.sms import segments
from ipt_groups.models import NotificationKind

# RFC 8291: 4096 bytes encrypted leaves 3993 bytes of plaintext (aes128gcm, one record).
MAX_PAYLOAD_BYTES = 3993
MAX_TEXT_LENGTH = 120
PLACEHOLDERS = frozenset({"day", "time"})

DEFAULT_TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        NotificationKind.SESSION_24H: {"title": "Reminder", "body": "See you {day} at {time}."},
        NotificationKind.SESSION_1H: {"title": "Starting soon", "body": "Today at {time}."},
        # A one-to-one meeting (a follow-up too): the same neutral words.
        NotificationKind.MEETING_24H: {"title": "Reminder", "body": "See you {day} at {time}."},
        NotificationKind.CHECKIN_DUE: {
            "title": "A few questions",
            "body": "A few questions are waiting for you before {day}.",
        },
        NotificationKind.CONTENT_RELEASED: {
            "title": "Something new",
            "body": "New reading from your group.",
        },
        NotificationKind.RISK_ALERT: {
            "title": "Notice",
            "body": "You have an item that needs attention.",
        },
        NotificationKind.RISK_ESCALATION: {
            "title": "Notice",
            "body": "You have an item that needs attention.",
        },
        NotificationKind.PUSH_REJECTED: {
            "title": "Notice",
            "body": "You have an item that needs attention.",
        },
        NotificationKind.TEST: {"title": "Test", "body": "Notifications work on this device."},
    },
    "es": {
        NotificationKind.SESSION_24H: {
            "title": "Recordatorio",
            "body": "Nos vemos el {day} a las {time}.",
        },
        NotificationKind.SESSION_1H: {"title": "Empieza pronto", "body": "Hoy a las {time}."},
        NotificationKind.MEETING_24H: {
            "title": "Recordatorio",
            "body": "Nos vemos el {day} a las {time}.",
        },
        NotificationKind.CHECKIN_DUE: {
            "title": "Unas preguntas",
            "body": "Tiene unas preguntas pendientes antes del {day}.",
        },
        NotificationKind.CONTENT_RELEASED: {
            "title": "Algo nuevo",
            "body": "Nueva lectura de su grupo.",
        },
        NotificationKind.RISK_ALERT: {
            "title": "Aviso",
            "body": "Tiene un asunto que requiere su atención.",
        },
        NotificationKind.RISK_ESCALATION: {
            "title": "Aviso",
            "body": "Tiene un asunto que requiere su atención.",
        },
        NotificationKind.PUSH_REJECTED: {
            "title": "Aviso",
            "body": "Tiene un asunto que requiere su atención.",
        },
        NotificationKind.TEST: {
            "title": "Prueba",
            "body": "Las notificaciones funcionan en este dispositivo.",
        },
    },
}

# Words that would tell a reader of the lock screen what the group is about.
# Checked on every template a clinic writes, and by the tests on every payload.
CLINICAL_WORDS: frozenset[str] = frozenset(
    {
        # English
        "therapy", "therapist", "psychotherapy", "psychotherapist", "ipt", "interpersonal",
        "depression", "depressed", "depressive", "anxiety", "anxious", "mental", "suicide",
        "suicidal", "self-harm", "harm", "risk", "crisis", "phq", "phq-9", "gad", "gad-7",
        "counselling", "counseling", "counsellor", "counselor", "psychiatric", "psychiatrist",
        "psychology", "psychologist", "grief", "bereavement", "clinic", "clinical", "health",
        "mood", "symptom", "symptoms", "diagnosis", "patient", "treatment", "medication",
        "alert", "worried", "score",
        # Spanish
        "terapia", "terapeuta", "psicoterapia", "depresión", "depresion", "ansiedad",
        "suicidio", "suicida", "autolesión", "autolesion", "riesgo", "duelo",
        "clínica", "clinica", "salud", "ánimo", "animo", "síntoma", "síntomas", "sintoma",
        "diagnóstico", "diagnostico", "paciente", "tratamiento", "psicólogo", "psicologo",
        "psiquiatra", "medicación", "alerta", "puntuación",
    }
)  # fmt: skip

_WORD = re.compile(r"[\w-]+", re.UNICODE)

DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}

# Where a tap on the notification opens the app; details load after login.
ROUTES = {
    NotificationKind.SESSION_24H: "/#/sessions/{ref_id}",
    NotificationKind.SESSION_1H: "/#/sessions/{ref_id}",
    NotificationKind.CHECKIN_DUE: "/#/check-in",
    NotificationKind.MEETING_24H: "/#/",
    NotificationKind.CONTENT_RELEASED: "/#/readings",
    NotificationKind.RISK_ALERT: "/#/alerts",
    NotificationKind.RISK_ESCALATION: "/#/alerts",
    NotificationKind.PUSH_REJECTED: "/#/settings",
    NotificationKind.TEST: "/#/settings",
}


# SMS reminders of a session say how to answer; services/sms.py reads the reply.
REPLY_HINT = {"en": "Reply 1 if you can't come.", "es": "Responda 1 si no puede venir."}
# The end of every email: no link (an address can say what the app is for).
EMAIL_FOOTER = {
    "en": "You can change how you are reminded in the app's settings.",
    "es": "Puede cambiar cómo recibe los recordatorios en los ajustes de la aplicación.",
}


def clinical_words_in(text: str) -> list[str]:
    return sorted({w for w in _WORD.findall(text.lower()) if w in CLINICAL_WORDS})


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def template_problems(templates: Mapping[str, Any]) -> dict[str, str]:
    """Why a clinic's templates cannot be used, keyed by ``language.kind.field``."""
    problems: dict[str, str] = {}
    for language, kinds in templates.items():
        if language not in SUPPORTED_LANGUAGES:
            problems[language] = f"use one of {', '.join(SUPPORTED_LANGUAGES)}"
            continue
        for kind, fields in kinds.items():
            if kind not in DEFAULT_TEMPLATES["en"]:
                problems[f"{language}.{kind}"] = "unknown notification kind"
                continue
            for name, text in fields.items():
                where = f"{language}.{kind}.{name}"
                if name not in ("title", "body"):
                    problems[where] = "only title and body can be written"
                elif not text.strip() or len(text) > MAX_TEXT_LENGTH:
                    problems[where] = f"must be 1 to {MAX_TEXT_LENGTH} characters"
                elif words := clinical_words_in(text):
                    problems[where] = f"must not name what the group is about: {', '.join(words)}"
                else:
                    try:
                        unknown = _placeholders(text) - PLACEHOLDERS
                    except ValueError:
                        unknown = {"(unbalanced braces)"}
                    if unknown:
                        problems[where] = (
                            f"unknown placeholder {', '.join(sorted(unknown))}; "
                            "use {day} and {time}"
                        )
                    elif name == "body" and (too_long := _sms_overflow(language, kind, text)):
                        problems[where] = too_long
    return problems


def _sms_overflow(language: str, kind: str, body: str) -> str | None:
    """Why ``body`` would not fit one SMS on some day of the week, or None.

    Every day name and the widest time are tried: "sábado" has an "á", which is
    not in GSM-7 and turns the whole text into UCS-2 (70 characters, not 160).
    """
    for day in DAY_NAMES[language]:
        text = sms_text(body.format(day=day, time="23:59"), kind, language)
        found = segments(text)
        if found.parts > 1:
            limit = 160 if found.encoding == "gsm7" else 70
            return (
                f"must fit one SMS ({limit} characters in {found.encoding.upper()}, the "
                f"reply hint included); on {day} it needs {found.units}"
            )
    return None


def sms_text(body: str, kind: str, language: str) -> str:
    """An SMS is the body alone (no title: every character counts), and for a
    session reminder how to answer "I can't come"."""
    if kind in SESSION_KINDS:
        return f"{body} {REPLY_HINT.get(language, REPLY_HINT[DEFAULT_LANGUAGE])}"
    return body


@dataclass(frozen=True)
class EmailText:
    subject: str
    text: str
    html: str


def email_text(rendered: Rendered, language: str) -> EmailText:
    """Plain text first, the same words as HTML second; no images, no links."""
    footer = EMAIL_FOOTER.get(language, EMAIL_FOOTER[DEFAULT_LANGUAGE])
    return EmailText(
        subject=rendered.title,
        text=f"{rendered.body}\n\n{footer}\n",
        html=(
            f'<!doctype html><html lang="{html.escape(language)}"><body>'
            f"<p>{html.escape(rendered.body)}</p><p><small>{html.escape(footer)}</small></p>"
            "</body></html>"
        ),
    )


def merged(custom: Mapping[str, Any] | None) -> dict[str, dict[str, dict[str, str]]]:
    """The defaults with a clinic's edits laid over them, field by field."""
    result = {
        lang: {kind: dict(fields) for kind, fields in kinds.items()}
        for lang, kinds in DEFAULT_TEMPLATES.items()
    }
    for language, kinds in (custom or {}).items():
        for kind, fields in kinds.items():
            if language in result and kind in result[language]:
                result[language][kind].update(fields)
    return result


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    url: str


def render(
    row: Any,
    language: str,
    zone: str,
    templates: Mapping[str, Mapping[str, Mapping[str, str]]],
) -> Rendered:
    """The wording for one row. Session kinds name the session's day and time,
    which is the row's expiry (a reminder expires when its session starts)."""
    lang = language if language in templates else DEFAULT_LANGUAGE
    template = templates[lang].get(row.kind) or templates[DEFAULT_LANGUAGE][row.kind]
    values = {"day": "", "time": ""}
    if row.expires_at is not None:
        local = row.expires_at.astimezone(ZoneInfo(zone))
        values = {"day": DAY_NAMES[lang][local.weekday()], "time": local.strftime("%H:%M")}
    route = ROUTES.get(row.kind, "/#/")
    return Rendered(
        title=template["title"].format(**values),
        body=template["body"].format(**values),
        url=route.format(ref_id=row.ref_id or ""),
    )


SESSION_KINDS = frozenset({NotificationKind.SESSION_24H, NotificationKind.SESSION_1H})


def topic(row: Any, secret: bytes) -> str:
    """32 URL-safe characters naming what the message is about, keyed so the
    push service (which sees the ``Topic`` header in clear) learns nothing.

    Both reminders of one session share a topic: the hour-before one replaces
    an undelivered day-before one on the push service, and on the device (the
    service worker uses it as the notification ``tag``).
    """
    basis = f"session:{row.ref_id}:{row.user_id}" if row.kind in SESSION_KINDS else row.dedupe_key
    digest = hashlib.blake2b(basis.encode(), key=secret[:64], digest_size=24).digest()
    return base64.urlsafe_b64encode(digest).decode()  # 24 bytes -> 32 characters, no padding


RECEIPT_MAC_BYTES = 16


def receipt_mac(notification_id: int, user_id: int, secret: bytes) -> str:
    """22 URL-safe characters only the server can compute for this row and person."""
    basis = f"shown:{notification_id}:{user_id}".encode()
    digest = hashlib.blake2b(basis, key=secret[:64], digest_size=RECEIPT_MAC_BYTES).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def receipt(row: Any, secret: bytes) -> str:
    """The token a service worker posts back once it has shown this message
    (``POST /api/push/shown``): the row's number and a keyed MAC. Unguessable,
    it names nothing, and it lets its holder mark this one message only."""
    return f"{row.id}.{receipt_mac(row.id, row.user_id, secret)}"


def payload(row: Any, rendered: Rendered, tag: str, receipt: str | None = None) -> bytes:
    """The plaintext we encrypt: an opaque id, neutral words, where to go, and
    the token for the "shown" receipt."""
    data = json.dumps(
        {
            "id": row.id,
            "title": rendered.title,
            "body": rendered.body,
            "url": rendered.url,
            "tag": tag,
            **({"receipt": receipt} if receipt else {}),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    if len(data) > MAX_PAYLOAD_BYTES:  # a template is capped at 120 characters: a bug
        raise ValueError(f"push payload of {len(data)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return data
