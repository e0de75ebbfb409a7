"""A member's rights over their data: a copy of everything we hold (export) and
erasure that keeps only de-identified figures.

**Export** gathers, for one account, everything stored about that person in
readable form. It leaves out secrets (password/PIN hash, session and feed
tokens, push endpoint keys) and what is about other people: the group's own
notes, other members' records, staff's names. The member's own copy also
leaves out staff's words on risk alerts (the admin's copy has them).

**Erasure** turns the account into a nameless tombstone, in one transaction
(the caller commits once):

- removed: login sessions (logged out at once), push devices, notification
  preferences, calendar feeds, invites, every notification row to them (with
  delivery attempts), their replay keys, notes about them, their tasks, the
  problem-area work recorded with them, "can't come" messages, which readings
  they opened, every version of their interpersonal inventory (the people in
  their life) and of their safety plan (and alerts' links to it);
- blanked: name, email and PIN hash (the username becomes ``erased-<id>``,
  language and time zone the defaults); staff's stored replies naming them; the
  enrolment's name, contacts, problem areas, screening answers, goal and
  free-text reasons; assessments' item answers and risk items; alerts' concern
  and action note; meeting places; the IP address of their own audit entries;
- kept, de-identified: each enrolment (status, dates, consent version),
  attendance marks, assessment totals and bands with their dates and sessions,
  alerts' source, times and action code, meetings and follow-ups (no text), and
  the audit trail (identifiers and action words only). The enrolment is
  unlinked from the account, so nothing leads from the tombstone back to it; a
  cohort's outcomes count the member as before.

Erasure is refused (409) while the member still holds a place in a group that
is planned or running (withdraw them first: that frees the place, moves the
waitlist and cancels reminders) and while a risk alert about them is open
(acknowledge it first: nobody's safety follow-up may vanish with the record).
A second request for an erased account changes nothing and says so. Staff
accounts are disabled, not erased, so what they did stays attributable.

A person **referred at screening** never gets an account: their one enrolment
is exported (``export_referral``) and erased (``erase_referral``) directly, with
the same rules and the same result for that enrolment. A person who has an
account is always handled through it, never one enrolment at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, true, update

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    CURRENT_STATUSES,
    Apology,
    Assessment,
    AssessmentSource,
    Attendance,
    AuditEvent,
    AuthSession,
    CalendarFeed,
    Cohort,
    CohortStatus,
    ContentItem,
    ContentRead,
    Enrolment,
    FollowUp,
    GroupSession,
    IdempotencyKey,
    Invite,
    MemberTask,
    Notification,
    NotificationPreference,
    ProblemWork,
    PushSubscription,
    RiskAlert,
    Role,
    SafetyPlanVersion,
    SessionNote,
    User,
)
from ipt_groups.services import (
    audit,
    content,
    fidelity,
    inventory,
    outbox,
    push,
    reminder_summary,
)
from ipt_groups.services.audit import Actor
from ipt_groups.timesource import utcnow

ERASED_NAME = "Erased member"
# Why an account was erased: a fixed word, never free text, because the audit
# trail keeps it for good and must never carry clinical content.
ERASURE_REASONS = ("member_request", "consent_withdrawn", "retention_ended", "other")
# Cohorts still under way: a member holding a place in one is withdrawn first.
RUNNING = (CohortStatus.PLANNED, CohortStatus.ACTIVE)

Row = dict[str, Any]


# -- export ------------------------------------------------------------------


def _pick(obj: Any, names: str) -> Row:
    return {name: getattr(obj, name) for name in names.split()}


def _session_ref(session: GroupSession | None) -> Row | None:
    return _pick(session, "id number kind starts_at") if session is not None else None


def _assessment(a: Assessment, sessions: dict[int, GroupSession]) -> Row:
    return {
        "session": _session_ref(sessions.get(a.session_id or 0)),
        **_pick(a, "id instrument instrument_name source completed_at answers total band"),
        "risk_items": list(a.risk_items),
    }


def _rows(model: Any, enrolment_id: int, *order: Any) -> list[Any]:
    return list(
        db.session.scalars(select(model).where(model.enrolment_id == enrolment_id).order_by(*order))
    )


def _readings(member: Enrolment, language: str) -> list[Row]:
    """What was released to the member's group, and which readings they opened."""
    reads = {r.item_id: r for r in _rows(ContentRead, member.id, ContentRead.first_opened_at)}
    rows: list[Row] = []
    for entry in content.feed(member, language):
        read = reads.pop(entry.item.id, None)
        rows.append(_reading(entry.item.key, entry.version.title, entry.released_at, read))
    if reads:  # opened, then withdrawn or retired: still held, so still shown
        items = {
            i.id: i
            for i in db.session.scalars(select(ContentItem).where(ContentItem.id.in_(reads)))
        }
        titles = content.latest_for(list(reads), language)
        for item_id, read in reads.items():
            title = titles[item_id].title if item_id in titles else items[item_id].key
            rows.append(_reading(items[item_id].key, title, None, read))
    return rows


def _reading(key: str, title: str, released_at: datetime | None, read: ContentRead | None) -> Row:
    return {
        "key": key,
        "title": title,
        "released_at": released_at,
        "first_opened_at": read.first_opened_at if read else None,
        "last_opened_at": read.last_opened_at if read else None,
    }


def _alert(alert: RiskAlert, full: bool) -> Row:
    row = _pick(alert, "id source opened_at escalated_at acknowledged_at action")
    row["status"] = "open" if alert.is_open else "acknowledged"
    # Staff's own words about a risk go only in the admin's copy: a clinician
    # talks them through with the member rather than have them read alone.
    row |= _pick(alert, "concern action_note") if full else {"concern": None, "action_note": None}
    return row


def _enrolment(member: Enrolment, language: str, full: bool) -> Row:
    cohort: Cohort = member.cohort
    sessions = {s.id: s for s in cohort.sessions}

    def at(row: Any, names: str) -> Row:
        """A row's fields, with the session it belongs to."""
        return {"session": _session_ref(sessions.get(row.session_id)), **_pick(row, names)}

    assessments = _rows(Assessment, member.id, Assessment.completed_at, Assessment.id)
    attendance = _rows(Attendance, member.id, Attendance.id)
    attendance.sort(key=lambda a: sessions[a.session_id].starts_at)
    return {
        "id": member.id,
        "cohort": _pick(cohort, "id name programme_key start_date status"),
        **_pick(
            member,
            "status display_name contact_phone contact_email problem_areas goal screening "
            "referral_note consent_version consent_at queued_at joined_at withdrawn_at "
            "withdrawal_reason",
        ),
        "meetings": [
            _pick(m, "kind label starts_at duration_minutes location status")
            for m in member.meetings
        ],
        "attendance": [at(a, "status recorded_at") for a in attendance],
        "apologies": [
            at(a, "reason created_at") for a in _rows(Apology, member.id, Apology.created_at)
        ],
        "assessments": [
            _assessment(a, sessions) for a in assessments if a.source != AssessmentSource.SELF
        ],
        "check_ins": [
            _assessment(a, sessions) for a in assessments if a.source == AssessmentSource.SELF
        ],
        "notes": [
            at(n, "body created_at")
            for n in _rows(SessionNote, member.id, SessionNote.created_at, SessionNote.id)
        ],
        "tasks": [
            at(t, "text created_at review reviewed_at")
            for t in _rows(MemberTask, member.id, MemberTask.created_at, MemberTask.id)
        ],
        "problem_work": [
            at(w, "techniques steps progress recorded_at")
            for w in _rows(ProblemWork, member.id, ProblemWork.created_at, ProblemWork.id)
        ],
        "alerts": [
            _alert(al, full)
            for al in _rows(RiskAlert, member.id, RiskAlert.opened_at, RiskAlert.id)
        ],
        "follow_ups": [
            at(f, "kind due_at done_at")
            for f in _rows(FollowUp, member.id, FollowUp.created_at, FollowUp.id)
        ],
        "readings": _readings(member, language),
        "inventory": inventory.export_rows(member.id),
        # Every version, as the member's plan read at the time (not who wrote it:
        # staff's names are not the member's data).
        "safety_plans": [
            _pick(v, "version created_at sections")
            for v in _rows(SafetyPlanVersion, member.id, SafetyPlanVersion.version)
        ],
        "fidelity": fidelity.member_answers(member, full=full),
    }


def _audit_entries(user: User | None, enrolment_ids: list[int]) -> list[Row]:
    """Entries about the member's records, and about their account (logins,
    exports), with the actor's role rather than a staff member's name."""
    about = AuditEvent.subject_id.in_(enrolment_ids)
    if user is not None:
        about = about | (AuditEvent.target_type == "user") & (AuditEvent.target_id == user.id)
    rows = db.session.execute(
        select(AuditEvent, User.role)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(about)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        {
            "at": event.at,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            # Only a link to a record still tied to this account: after erasure the
            # entries stay, but nothing leads from the account to the old record.
            "member_id": event.subject_id if event.subject_id in enrolment_ids else None,
            "actor_role": "system" if event.actor_id is None else role,
        }
        for event, role in rows
    ]


def export(actor: Actor, user: User, *, full: bool) -> Row:
    """Everything held about ``user`` as one document; the export is audited
    (for each of the member's enrolments, so it shows on their trail).

    ``full`` is the copy an admin makes when a member asks the clinic: it adds
    the concern and action note staff wrote on risk alerts, so the clinic can
    review them (and withhold what local law allows) before handing it over."""
    members = list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.user_id == user.id).order_by(Enrolment.id)
        )
    )
    ids = [m.id for m in members]
    for subject in ids or [None]:
        audit.record(actor, "user.export", "user", user.id, subject_id=subject)
    db.session.flush()
    prefs = outbox.preferences_for([user.id])[user.id]
    return {
        "generated_at": utcnow(),
        "profile": user,
        "enrolments": [_enrolment(m, user.language, full) for m in members],
        "notification_preferences": prefs,
        "devices": [
            {
                "push_service": push.host_of(d),
                **_pick(d, "id user_agent created_at last_seen_at last_success_at"),
            }
            for d in push.my_devices(user)
        ],
        "login_sessions": _owned(AuthSession, user, AuthSession.created_at),
        "calendar_feeds": _owned(CalendarFeed, user, CalendarFeed.created_at),
        "notifications": _owned(Notification, user, Notification.created_at),
        "audit": _audit_entries(user, ids),
    }


def export_referral(actor: Actor, member: Enrolment) -> Row:
    """Everything held about a person who never had an account (referred at
    screening), for when they ask the clinic: their one enrolment as in a
    member's full export, and the audit entries about it. Audited."""
    _refuse_if_account(member)
    audit.record(actor, "enrolment.export", "enrolment", member.id, subject_id=member.id)
    db.session.flush()
    return {
        "generated_at": utcnow(),
        "enrolment": _enrolment(member, member.cohort.language, full=True),
        "audit": _audit_entries(None, [member.id]),
    }


def _owned(model: Any, user: User, order: Any) -> list[Any]:
    return list(
        db.session.scalars(select(model).where(model.user_id == user.id).order_by(order, model.id))
    )


# -- erasure -----------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    user_id: int
    erased_at: datetime
    already_erased: bool
    removed: dict[str, int] = field(default_factory=dict)  # rows deleted, by kind


def _refuse_if_not_ready(user: User, members: list[Enrolment]) -> None:
    if user.role != Role.PARTICIPANT:
        raise Conflict(
            "Only a member's account can be erased; disable a staff account instead.",
            code="not_a_member",
        )
    _refuse_while_in_care(members)


def _refuse_while_in_care(members: list[Enrolment]) -> None:
    if any(m.status in CURRENT_STATUSES and m.cohort.status in RUNNING for m in members):
        raise Conflict(
            "The member still holds a place in a group. Withdraw them first.",
            code="still_in_group",
        )
    ids = [m.id for m in members]
    if ids and db.session.scalar(
        select(RiskAlert.id).where(
            RiskAlert.enrolment_id.in_(ids), RiskAlert.acknowledged_at.is_(None)
        )
    ):
        raise Conflict(
            "A risk alert about this member is open. Acknowledge it first.",
            code="open_risk_alert",
        )


def _run(stmt: Any) -> int:
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0


def _delete(model: Any, *where: Any) -> int:
    return _run(delete(model).where(*where))


def _blank(model: Any, values: dict[str, Any], *where: Any) -> int:
    return _run(update(model).where(*where).values(**values))


def _begin_erasure(row: User | Enrolment, reason: str) -> None:
    """Check the reason, then lock the row: of two admins erasing at once, the
    second waits here, then sees ``erased_at``."""
    if reason not in ERASURE_REASONS:
        raise Invalid(fields={"reason": [f"One of: {', '.join(ERASURE_REASONS)}."]})
    model = type(row)
    db.session.execute(select(model.id).where(model.id == row.id).with_for_update())
    db.session.refresh(row)


def erase(actor: Actor, user: User, reason: str) -> Erasure:
    """Erase a member's personal data (see the module's docstring); flushes, the
    caller commits once so it all happens or none of it does."""
    _begin_erasure(user, reason)
    if user.erased_at is not None:
        return Erasure(user.id, user.erased_at, already_erased=True)
    members = list(db.session.scalars(select(Enrolment).where(Enrolment.user_id == user.id)))
    _refuse_if_not_ready(user, members)
    ids = [m.id for m in members]
    now = utcnow()
    replies = _forget_replies(_words(members, user), keep_for=user.id)  # before the names go
    # Their reminders leave the Programme page's counts too: the summarised days
    # of their cohorts are counted again once the rows are gone.
    summarised = reminder_summary.affected(Notification.user_id == user.id)
    removed = {
        "login_sessions": _delete(AuthSession, AuthSession.user_id == user.id),
        "devices": _delete(PushSubscription, PushSubscription.user_id == user.id),
        "notification_preferences": _delete(
            NotificationPreference, NotificationPreference.user_id == user.id
        ),
        "calendar_feeds": _delete(CalendarFeed, CalendarFeed.user_id == user.id),
        # Delivery attempts go with their rows (ON DELETE CASCADE).
        "notifications": _delete(Notification, Notification.user_id == user.id),
        "replay_keys": _delete(IdempotencyKey, IdempotencyKey.user_id == user.id),
        "stored_replies": replies,
    }
    reminder_summary.resummarise(summarised)
    if ids:
        removed |= _erase_records(members, now)
    # Their own audit entries stay (who did what, when); where from does not. A
    # login is recorded before there is a session, with no actor: those too.
    own_login = (
        AuditEvent.actor_id.is_(None)
        & (AuditEvent.target_type == "user")
        & (AuditEvent.target_id == user.id)
    )
    _blank(AuditEvent, {"ip_address": None}, (AuditEvent.actor_id == user.id) | own_login)
    user.email = None
    user.username = f"erased-{user.id}"  # a login name is required; nobody can log in with it
    user.display_name = ERASED_NAME
    user.password_hash = None
    user.language, user.time_zone = "en", "UTC"
    user.last_login_at = None
    user.disabled_at = user.disabled_at or now
    user.erased_at = now
    for subject in ids or [None]:
        audit.record(actor, f"user.erase.{reason}", "user", user.id, subject_id=subject)
    db.session.flush()
    return Erasure(user.id, now, already_erased=False, removed=removed)


@dataclass(frozen=True)
class ReferralErasure:
    enrolment_id: int
    erased_at: datetime
    already_erased: bool
    removed: dict[str, int] = field(default_factory=dict)


def erase_referral(actor: Actor, member: Enrolment, reason: str) -> ReferralErasure:
    """Erase the data of a person who never had an account (referred at
    screening): the same as a member's erasure for their one enrolment, which
    stays, nameless, in the cohort's figures. Flushes; the caller commits."""
    _begin_erasure(member, reason)
    if member.erased_at is not None:
        return ReferralErasure(member.id, member.erased_at, already_erased=True)
    _refuse_if_account(member)
    _refuse_while_in_care([member])
    now = utcnow()
    removed = {"stored_replies": _forget_replies(_words([member]), keep_for=None)}
    removed |= _erase_records([member], now)
    audit.record(actor, f"enrolment.erase.{reason}", "enrolment", member.id, subject_id=member.id)
    db.session.flush()
    return ReferralErasure(member.id, now, already_erased=False, removed=removed)


def _refuse_if_account(member: Enrolment) -> None:
    """A person with an account is exported and erased through it (all their
    enrolments, logins and devices at once), never one enrolment at a time."""
    if member.user_id is not None:
        raise Conflict(
            f"This person has an account: use /api/users/{member.user_id}/export or /erase.",
            code="has_account",
        )


def _erase_records(members: list[Enrolment], now: datetime) -> dict[str, int]:
    """Delete and blank what the enrolments' records hold about the person."""
    in_ids = _in(m.id for m in members)
    removed = {
        "invites": _delete(Invite, in_ids(Invite)),
        "notes": _delete(SessionNote, in_ids(SessionNote)),
        "tasks": _delete(MemberTask, in_ids(MemberTask)),
        "problem_work": _delete(ProblemWork, in_ids(ProblemWork)),
        "apologies": _delete(Apology, in_ids(Apology)),
        "readings_opened": _delete(ContentRead, in_ids(ContentRead)),
        # Every version and the people in it: names and free text go, nothing stays.
        "inventory_versions": inventory.erase(m.id for m in members),
        "fidelity_answers": fidelity.forget_members([m.id for m in members]),
    }
    _blank(Assessment, {"answers": {}, "risk_items": [], "client_key": None}, in_ids(Assessment))
    # An alert keeps its action code ("safety_plan") but no longer points at the
    # plan, whose versions go (unlinked first: SQLite may not enforce SET NULL).
    _blank(
        RiskAlert,
        {"concern": None, "action_note": None, "safety_plan_version_id": None},
        in_ids(RiskAlert),
    )
    removed["safety_plan_versions"] = _delete(SafetyPlanVersion, in_ids(SafetyPlanVersion))
    for member in members:
        _blank_enrolment(member, now)
    return removed


def _words(members: list[Enrolment], user: User | None = None) -> set[str | None]:
    """What names the person in text: their account's names and what each
    enrolment recorded about them."""
    words: set[str | None] = set()
    if user is not None:
        words |= {user.display_name, user.username, user.email}
    for m in members:
        words |= {m.display_name, m.contact_phone, m.contact_email, m.goal, m.referral_note}
    return words


def _forget_replies(words: set[str | None], *, keep_for: int | None) -> int:
    """Forget staff's stored replies that name the person (an attendance reply
    lists every member; an enrolment's reply has the screening answers). A
    replay of one then answers 409 "already applied" instead of the old body;
    the write itself stays done. The person's own replay keys (``keep_for``)
    are deleted with their account instead."""
    # Replies are JSON text: look for each word as it would be written there.
    # Very short words would match nearly every reply, and name nobody.
    fragments = {
        json.dumps(w, ensure_ascii=ascii)[1:-1]
        for w in words
        if w and len(w) >= 3
        for ascii in (True, False)
    }
    others = IdempotencyKey.user_id != keep_for if keep_for is not None else true()
    return sum(
        _blank(
            IdempotencyKey,
            {"response": None},
            others,
            IdempotencyKey.response.contains(fragment, autoescape=True),
        )
        for fragment in sorted(fragments)
    )


def _in(ids: Iterable[int]) -> Any:
    wanted = list(ids)
    return lambda model: model.enrolment_id.in_(wanted)


def _blank_enrolment(member: Enrolment, now: datetime) -> None:
    member.user = None
    member.erased_at = now
    member.display_name = ERASED_NAME
    member.contact_phone = member.contact_email = None
    member.problem_areas = []
    member.screening = {}
    member.goal = member.referral_note = member.withdrawal_reason = None
    for meeting in member.meetings:
        meeting.location = ""
