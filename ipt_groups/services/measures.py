"""Instruments (shipped and the clinic's own), what is due when, and recording
assessments: scored on entry, every answer kept, risk items opening an alert.

The same ``record`` serves a facilitator entering answers on a member's behalf
and a member's own check-in, so the risk pathway cannot differ between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ipt_groups.domain import Conflict, DomainError, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    AlertSource,
    Assessment,
    AssessmentSource,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    LocalInstrument,
    MemberMeeting,
    RiskAlert,
    SessionKind,
    SessionStatus,
    User,
)
from ipt_groups.protocol.instruments import (
    INSTRUMENTS,
    INSTRUMENTS_BY_KEY,
    AnswerError,
    Instrument,
    instrument_from_dict,
    instrument_to_dict,
    score,
    validate_instrument,
)
from ipt_groups.protocol.programmes import MeetingKind, template_from_dict
from ipt_groups.services import alerts, audit
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

# A member's own check-in for a session opens two days before it and closes a
# day after: enough to answer at home the evening before or the day after.
CHECK_IN_OPENS = timedelta(days=2)
CHECK_IN_CLOSES = timedelta(days=1)


# -- instruments -------------------------------------------------------------


def _local(key: str) -> LocalInstrument | None:
    return db.session.scalar(select(LocalInstrument).where(LocalInstrument.key == key))


def list_instruments(*, include_archived: bool = False) -> list[tuple[Instrument, bool]]:
    """(instrument, shipped) pairs: the shipped ones first, then the clinic's own."""
    stmt = select(LocalInstrument).order_by(LocalInstrument.key)
    if not include_archived:
        stmt = stmt.where(LocalInstrument.archived_at.is_(None))
    local = [(instrument_from_dict(row.definition), False) for row in db.session.scalars(stmt)]
    return [(i, True) for i in INSTRUMENTS] + local


def get_instrument(key: str, *, allow_archived: bool = True) -> Instrument:
    if key in INSTRUMENTS_BY_KEY:
        return INSTRUMENTS_BY_KEY[key]
    row = _local(key)
    if row is None or (row.archived_at is not None and not allow_archived):
        raise NotFound(f"No instrument {key!r}.")
    return instrument_from_dict(row.definition)


def known_keys() -> set[str]:
    """Keys a programme's measurement schedule may name."""
    local = db.session.scalars(
        select(LocalInstrument.key).where(LocalInstrument.archived_at.is_(None))
    )
    return set(INSTRUMENTS_BY_KEY) | set(local)


def create_local(actor: Actor, data: Mapping[str, Any]) -> Instrument:
    key = data["key"]
    if key in INSTRUMENTS_BY_KEY or _local(key) is not None:
        raise Conflict(f"An instrument with key {key!r} exists already.", code="key_taken")
    instrument = instrument_from_dict(data)
    problems = validate_instrument(instrument)
    if problems:
        raise Invalid("The instrument is not valid.", fields={"instrument": problems})
    row = LocalInstrument(
        key=key, definition=instrument_to_dict(instrument), created_by_id=actor.user_id
    )
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "instrument.create", "instrument", row.id)
    return instrument


def archive_local(actor: Actor, key: str) -> None:
    """Retire a local instrument; assessments made with it keep their copy."""
    if key in INSTRUMENTS_BY_KEY:
        raise Conflict("Shipped instruments cannot be archived.", code="shipped")
    row = _local(key)
    if row is None:
        raise NotFound(f"No instrument {key!r}.")
    if row.archived_at is None:
        row.archived_at = utcnow()
        audit.record(actor, "instrument.archive", "instrument", row.id)


# -- what is due -------------------------------------------------------------


def due_at_session(session: GroupSession) -> list[str]:
    """Instrument keys the programme schedules at this group session (a catch-up
    session takes the measures of the session it replaces)."""
    if session.number is None or session.status != SessionStatus.SCHEDULED:
        return []
    return template_from_dict(session.cohort.programme).measures_due_at_session(session.number)


def due_at_meeting(meeting: MemberMeeting) -> list[str]:
    cohort = meeting.enrolment.cohort
    return template_from_dict(cohort.programme).measures_due_at_meeting(MeetingKind(meeting.kind))


def recorded_at_sessions(session_ids: Iterable[int]) -> dict[tuple[int, int], set[str]]:
    """(session id, enrolment id) -> instrument keys already recorded there."""
    ids = list(session_ids)
    done: dict[tuple[int, int], set[str]] = {}
    if not ids:
        return done
    rows = db.session.execute(
        select(Assessment.session_id, Assessment.enrolment_id, Assessment.instrument).where(
            Assessment.session_id.in_(ids)
        )
    )
    for session_id, enrolment_id, key in rows:
        done.setdefault((session_id, enrolment_id), set()).add(key)
    return done


@dataclass(frozen=True)
class CheckIn:
    """What a member may answer now: the session it counts for and what is due."""

    session: GroupSession
    instruments: list[Instrument]


def check_in_due(member: Enrolment, now: datetime | None = None) -> CheckIn | None:
    """The member's open check-in, if a session near now has measures they have
    not yet answered (or that a facilitator has not already entered)."""
    if member.status != EnrolmentStatus.ENROLLED:
        return None
    now = now or utcnow()
    candidates = db.session.scalars(
        select(GroupSession)
        .where(
            GroupSession.cohort_id == member.cohort_id,
            GroupSession.status == SessionStatus.SCHEDULED,
            GroupSession.starts_at <= now + CHECK_IN_OPENS,
            GroupSession.starts_at >= now - CHECK_IN_CLOSES,
        )
        .order_by(GroupSession.starts_at)
    )
    live: set[str] | None = None
    for session in candidates:
        keys = due_at_session(session)
        done = recorded_at_sessions([session.id]).get((session.id, member.id), set())
        wanted = [k for k in keys if k not in done]
        if any(k not in INSTRUMENTS_BY_KEY for k in wanted):
            # An archived local instrument is no longer asked. Shipped ones are
            # always live, so the local table is read only when a local key is due.
            live = known_keys() if live is None else live
            wanted = [k for k in wanted if k in live]
        missing = [get_instrument(k) for k in wanted]
        if missing:
            return CheckIn(session, missing)
    return None


# -- recording ---------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    assessment: Assessment
    alert: RiskAlert | None
    replayed: bool = False  # the same client key was seen before: nothing new stored


def _replay(key: str | None) -> Assessment | None:
    if not key:
        return None
    return db.session.scalar(select(Assessment).where(Assessment.client_key == key))


def already_sent(user: User, client_key: str | None) -> bool:
    """True when this client key has been recorded for ``user`` before."""
    return bool(client_key) and _replay(f"{user.id}:{client_key}") is not None


def is_shipped(key: str) -> bool:
    return key in INSTRUMENTS_BY_KEY


def record(
    actor: Actor,
    user: User,
    member: Enrolment,
    instrument_key: str,
    answers: Mapping[str, Any],
    *,
    source: AssessmentSource,
    session: GroupSession | None = None,
    meeting: MemberMeeting | None = None,
    client_key: str | None = None,
) -> Recorded:
    scoped_key = f"{user.id}:{client_key}" if client_key else None
    previous = _replay(scoped_key)
    if previous is not None:
        if previous.enrolment_id != member.id:
            raise Conflict("This client key was used for another record.", code="key_reused")
        alert = db.session.scalar(select(RiskAlert).where(RiskAlert.assessment_id == previous.id))
        return Recorded(previous, alert, replayed=True)

    # Any status is accepted (a waitlisted member's pre-group meeting, a call to
    # someone who withdrew): a risk answer must never be turned away.
    if session is not None and session.cohort_id != member.cohort_id:
        raise Invalid(fields={"session_id": ["Not a session of this member's cohort."]})
    if session is not None and session.kind not in (SessionKind.GROUP, SessionKind.CATCH_UP):
        raise Invalid(fields={"session_id": ["Not a group session."]})
    if meeting is not None and meeting.enrolment_id != member.id:
        raise Invalid(fields={"meeting_id": ["Not a meeting of this member."]})
    instrument = get_instrument(instrument_key, allow_archived=False)
    try:
        result = score(instrument, answers)
    except AnswerError as exc:
        raise Invalid(
            f"The {instrument.name} answers are not valid.", fields={"answers": exc.problems}
        ) from None

    assessment = Assessment(
        enrolment_id=member.id,
        cohort_id=member.cohort_id,
        session_id=session.id if session else None,
        meeting_id=meeting.id if meeting else None,
        instrument=instrument.key,
        instrument_name=instrument.name,
        answers={item.key: int(answers[item.key]) for item in instrument.items},
        total=result.total,
        band=result.band,
        risk_items=list(result.risk_items),
        source=source,
        entered_by_id=user.id,
        completed_at=utcnow(),
        client_key=scoped_key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(assessment)
    except IntegrityError:  # the same offline batch arriving twice at once
        previous = _replay(scoped_key)
        if previous is None or previous.enrolment_id != member.id:
            raise Conflict(
                "This client key was used for another record.", code="key_reused"
            ) from None
        return Recorded(previous, None, replayed=True)
    audit.record(actor, "assessment.create", "assessment", assessment.id, subject_id=member.id)

    alert = None
    if result.risk:
        origin = (
            AlertSource.SELF_CHECK_IN if source == AssessmentSource.SELF else AlertSource.RISK_ITEM
        )
        alert = alerts.open_alert(actor, member, origin, assessment=assessment, session=session)
    return Recorded(assessment, alert)


def signals_risk(instrument_key: str, answers: Mapping[str, Any]) -> bool:
    """Whether these answers would flag risk (False when they cannot be scored)."""
    try:
        return score(get_instrument(instrument_key), answers).risk
    except (AnswerError, DomainError):
        return False


def history(member: Enrolment, instrument: str | None = None) -> list[Assessment]:
    stmt = select(Assessment).where(Assessment.enrolment_id == member.id)
    if instrument:
        stmt = stmt.where(Assessment.instrument == instrument)
    return list(db.session.scalars(stmt.order_by(Assessment.completed_at, Assessment.id)))


def latest_by_member(enrolment_ids: Iterable[int]) -> dict[int, Assessment]:
    """Each member's most recent assessment of any instrument (one query)."""
    ids = list(enrolment_ids)
    if not ids:
        return {}
    latest: dict[int, Assessment] = {}
    rows = db.session.scalars(
        select(Assessment)
        .where(Assessment.enrolment_id.in_(ids))
        .order_by(Assessment.completed_at, Assessment.id)
    )
    for row in rows:  # ascending, so the last one seen wins
        latest[row.enrolment_id] = row
    return latest
