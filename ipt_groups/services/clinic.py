"""Clinic settings an admin changes in the app: the crisis text shown when a
member may be at risk, and how long a risk alert may stay unacknowledged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

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


# Where current() keeps what it read: in the database session's info, so it lasts
# as long as the session does. Flask-SQLAlchemy removes the session when the app
# context ends, and each request and each clock job has its own: settings are read
# once per request or job, and afresh by the next (the clock runs for days).
CACHE_KEY = "ipt_groups.clinic_settings"

DEFAULTS: dict[str, Any] = {
    "crisis_text": DEFAULT_CRISIS_TEXT,
    "alert_escalation_hours": 24,
}


def current() -> Settings:
    """The settings now, read once per request or clock job (the runner and the
    alerts it shows both need them). A write to the settings in the same session,
    through update() or straight to ClinicSetting rows, is seen at once."""
    session = db.session()
    found = session.info.get(CACHE_KEY)
    if found is not None and not _writes_settings(
        chain(session.new, session.dirty, session.deleted)
    ):
        return found
    stored = {s.key: s.value for s in db.session.scalars(select(ClinicSetting))}
    values = {**DEFAULTS, **{k: v for k, v in stored.items() if k in DEFAULTS}}
    # A clinic may write only some languages; the others keep the default.
    values["crisis_text"] = {**DEFAULT_CRISIS_TEXT, **values["crisis_text"]}
    found = Settings(**values)
    session.info[CACHE_KEY] = found
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
    db.session.flush()  # the listener below drops what current() kept
    return current()


# -- keeping the cached copy right -------------------------------------------


def _writes_settings(objects: Iterable[object]) -> bool:
    return any(isinstance(o, ClinicSetting) for o in objects)


def _forget(session: Session) -> None:
    session.info.pop(CACHE_KEY, None)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # After a flush the new, dirty and deleted lists still hold what was flushed.
    if _writes_settings(chain(session.new, session.dirty, session.deleted)):
        _forget(session)


def _bulk_write(state: ORMExecuteState) -> None:
    # UPDATE/DELETE ... WHERE through the ORM skip the flush.
    if (state.is_update or state.is_delete or state.is_insert) and any(
        mapper.class_ is ClinicSetting for mapper in state.all_mappers
    ):
        _forget(state.session)


def _after_rollback(session: Session, _previous: object) -> None:
    # A write rolled back (a savepoint too) may have been read already.
    _forget(session)


_LISTENERS = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _bulk_write),
    ("after_soft_rollback", _after_rollback),
)


def register() -> None:
    """Attach the listeners that drop the cached settings when this session
    writes them (to SQLAlchemy's ``Session`` class). Called by ``create_app``;
    idempotent, like outcome_cache.register()."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
