"""Clinic settings an admin changes in the app: the crisis text shown when a
member may be at risk, and how long a risk alert may stay unacknowledged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select

from ipt_groups.extensions import db
from ipt_groups.i18n import SUPPORTED_LANGUAGES
from ipt_groups.models import ClinicSetting
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor

# A clinic is expected to replace this with its own local numbers on day one;
# until it does, the text still tells a person what to do now.
DEFAULT_CRISIS_TEXT = {
    "en": (
        "If you might act on thoughts of ending your life, or you are not safe now, call "
        "your local emergency number or go to the nearest emergency department. "
        "You can also talk to your group facilitator or your clinic today."
    ),
    "es": (
        "Si puede actuar según pensamientos de quitarse la vida, o no está a salvo ahora, "
        "llame al número de emergencias local o vaya al servicio de urgencias más cercano. "
        "También puede hablar hoy con su facilitador(a) del grupo o con su clínica."
    ),
}


@dataclass(frozen=True)
class Settings:
    crisis_text: Mapping[str, str]
    alert_escalation_hours: int

    def crisis_text_for(self, language: str) -> str:
        return self.crisis_text.get(language) or self.crisis_text["en"]


REQUEST_KEY = "_ipt_settings"

DEFAULTS: dict[str, Any] = {
    "crisis_text": DEFAULT_CRISIS_TEXT,
    "alert_escalation_hours": 24,
}


def current() -> Settings:
    """The settings now; read once per request (the runner and the alerts it shows
    both need them), always afresh outside a request (the clock runs for days)."""
    if has_request_context() and (read := g.get(REQUEST_KEY)) is not None:
        return read
    stored = {s.key: s.value for s in db.session.scalars(select(ClinicSetting))}
    values = {**DEFAULTS, **{k: v for k, v in stored.items() if k in DEFAULTS}}
    # A clinic may write only some languages; the others keep the default.
    values["crisis_text"] = {**DEFAULT_CRISIS_TEXT, **values["crisis_text"]}
    found = Settings(**values)
    if has_request_context():
        setattr(g, REQUEST_KEY, found)
    return found


def update(actor: Actor, changes: Mapping[str, Any]) -> Settings:
    for key, value in changes.items():
        if key not in DEFAULTS:
            continue
        if key == "crisis_text":
            value = {lang: text for lang, text in value.items() if lang in SUPPORTED_LANGUAGES}
        row = db.session.get(ClinicSetting, key)
        if row is None:
            row = ClinicSetting(key=key)
            db.session.add(row)
        row.value, row.updated_by_id = value, actor.user_id
        audit.record(actor, f"settings.{key}")
    db.session.flush()
    if has_request_context():
        g.pop(REQUEST_KEY, None)
    return current()
