"""What comes back by SMS: delivery reports, STOP and START, and members' replies.

A member answers a session reminder: ``1`` or ``NO`` (or the word for "no" in
their language) means "I can't come" to their group's next session, recorded
exactly as the app's button records it; anything else is kept for their
facilitator. A number that belongs to no member is stored nowhere: one audit
line carries a keyed hash of it, so support can match a complaint without us
keeping the number.

``STOP`` (and the providers' own opt-out words) stops SMS to that number at
once, whoever it was meant for (a shared phone stops for everyone on it);
``START`` resumes. Carriers require both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import delete, select, update
from sqlalchemy.orm import contains_eager

from ipt_groups.domain import DomainError
from ipt_groups.extensions import db
from ipt_groups.messaging.sms import STATE_RANK, Incoming, StatusReport
from ipt_groups.models import (
    Channel,
    Enrolment,
    EnrolmentStatus,
    Notification,
    SmsOptOut,
    SmsReply,
)
from ipt_groups.services import attendance, audit, reminder_summary
from ipt_groups.services import sessions as session_service
from ipt_groups.services.audit import SYSTEM, Actor
from ipt_groups.services.channels import number_hash
from ipt_groups.timesource import utcnow

# Twilio's and Africa's Talking's opt-out and opt-in keywords, and Spanish ones.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
    | {"BAJA", "ALTO", "PARAR", "CANCELAR", "DETENER"}
)
START_WORDS = frozenset({"START", "UNSTOP", "OPTIN", "ALTA", "INICIO", "COMENZAR"})
# "I can't come": the digit the reminder's hint names, and "no" in each language.
CANNOT_COME = {"en": frozenset({"1", "NO"}), "es": frozenset({"1", "NO"})}
_WORD = re.compile(r"[^0-9A-ZÁÉÍÓÚÑÜ]+")


@dataclass(frozen=True)
class Handled:
    action: str  # cannot_come | message | stop | start | unknown | duplicate
    reply_ids: tuple[int, ...] = ()


def _keyword(text: str) -> str:
    """The message as one upper-case word without punctuation: "No." -> "NO"."""
    return _WORD.sub("", text.strip().upper())


def _e164(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def record_opt_out(number: str, word: str, provider: str, now: datetime | None = None) -> None:
    if db.session.get(SmsOptOut, number) is None:
        db.session.add(
            SmsOptOut(number=number, word=word[:20], provider=provider, at=now or utcnow())
        )
        db.session.flush()


def _members_on(number: str) -> list[Enrolment]:
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.contact_phone == number, Enrolment.status == EnrolmentStatus.ENROLLED)
            .order_by(Enrolment.id)
        )
    )


def _audit_unknown(number: str, secret: bytes) -> None:
    audit.record(SYSTEM, f"sms.unknown_sender.{number_hash(number, secret)[:24]}")


def handle_incoming(provider: str, incoming: Incoming, *, secret: bytes) -> Handled:
    """Act on one message a person sent to our number (idempotent per provider id).

    ``secret`` keys the hash an unknown sender's number is audited under (the app's
    SECRET_KEY: the same hash ``channels.number_hash`` gives elsewhere)."""
    if db.session.scalar(select(SmsReply.id).where(SmsReply.provider_id == incoming.provider_id)):
        return Handled("duplicate")
    number = _e164(incoming.sender)
    if number is None:
        return Handled("unknown")
    word = _keyword(incoming.text)
    members = _members_on(number)
    now = incoming.received_at or utcnow()
    if word in STOP_WORDS:
        record_opt_out(number, word, provider, now)
        action = "stop"
    elif word in START_WORDS:
        db.session.execute(delete(SmsOptOut).where(SmsOptOut.number == number))
        action = "start"
    else:
        action = "message"
    if not members:
        _audit_unknown(number, secret)
        return Handled(action if action != "message" else "unknown")
    # A shared phone: the reply is about the member whose session is next.
    sessions = session_service.next_sessions({m.cohort_id for m in members}, utcnow())
    member = min(
        members,
        key=lambda m: (
            sessions[m.cohort_id].starts_at if m.cohort_id in sessions else datetime.max,
            m.id,
        ),
    )
    session = sessions.get(member.cohort_id)
    language = member.user.language if member.user else "en"
    cannot = CANNOT_COME.get(language, CANNOT_COME["en"])
    if action == "message" and word in cannot and session is not None:
        try:
            attendance.apologise(Actor(member.user_id), member, session, "SMS")
            action = "cannot_come"
        except DomainError:  # the session has begun: keep it for the facilitator
            pass
    reply = SmsReply(
        enrolment_id=member.id,
        action=action,
        text=incoming.text[:1600],
        session_id=session.id if session is not None else None,
        ambiguous=len(members) > 1,
        provider=provider,
        provider_id=incoming.provider_id,
        received_at=now,
    )
    db.session.add(reply)
    db.session.flush()
    audit.record(SYSTEM, f"sms.reply.{action}", "sms_reply", reply.id, subject_id=member.id)
    return Handled(action, (reply.id,))


def handle_status(report: StatusReport, now: datetime | None = None) -> bool:
    """A provider's delivery report. Reports arrive out of order and repeated:
    a state only ever moves forward (queued, sent, then one final state)."""
    rank = STATE_RANK.get(report.state)
    if rank is None:
        return False
    earlier = [s for s, r in STATE_RANK.items() if r < rank]
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.provider_id == report.provider_id,
            Notification.channel == Channel.SMS,
            (Notification.delivery_state.is_(None)) | Notification.delivery_state.in_(earlier),
        )
        .values(delivery_state=report.state, delivery_state_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # a late report for a reminder on a day already summarised
        reminder_summary.resummarise(
            reminder_summary.affected(Notification.provider_id == report.provider_id)
        )
    if report.error == "opted_out":
        number = db.session.scalar(
            select(Enrolment.contact_phone)
            .join(Notification, Notification.user_id == Enrolment.user_id)
            .where(Notification.provider_id == report.provider_id)
        )
        if number:
            record_opt_out(number, "provider", "report", now)
    return bool(result.rowcount)


def replies(cohort_id: int, limit: int = 200) -> list[SmsReply]:
    return list(
        db.session.scalars(
            select(SmsReply)
            .join(SmsReply.enrolment)
            .options(contains_eager(SmsReply.enrolment))  # names in the same SELECT
            .where(Enrolment.cohort_id == cohort_id)
            .order_by(SmsReply.received_at.desc(), SmsReply.id.desc())
            .limit(limit)
        )
    )


def mark_read(actor: Actor, reply: SmsReply) -> SmsReply:
    if reply.read_at is None:
        reply.read_at = utcnow()
        reply.read_by_id = actor.user_id
    return reply
