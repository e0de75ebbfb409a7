"""Planning the outbox: which message each person is owed, and when.

Rules turn sessions into rows (``session_24h``, ``session_1h``, ``checkin_due``)
and apply each person's preferences: the kinds they want, and quiet hours in
their own time zone, which move a message's due time (never drop it). The
other kinds (a reading released, a risk alert) are written by their services
through ``notifications.notify``, which applies the same preferences.

Planning is a reconciliation, so it is safe to run at any time and as often as
wanted: the clock runs it every minute over the next two days, and the services
that move sessions or members (reschedule, cancel, withdraw, "I can't come", a
preference change) run it at once for the cohort they touched. A session's
reminder key names the session's start, so a rescheduled session gets new rows
and the old ones are cancelled. The dispatcher checks again at send time
(``stale``), so even a row the planner has not yet caught is never sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ipt_groups.extensions import db
from ipt_groups.models import (
    Apology,
    Cohort,
    CohortStatus,
    ContentRelease,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    SessionStatus,
    User,
)
from ipt_groups.services import follow_up, measures
from ipt_groups.services.outbox import (
    Preferences,
    due_for,
    insert_ignoring_duplicates,
    new_preference_row,
    preferences_for,
    preferences_from_row,
)
from ipt_groups.timesource import utcnow

HORIZON = timedelta(hours=48)
SESSION_KINDS = frozenset(
    {NotificationKind.SESSION_24H, NotificationKind.SESSION_1H, NotificationKind.CHECKIN_DUE}
)


@dataclass(frozen=True)
class Rule:
    kind: NotificationKind
    before: timedelta  # due this long before the session starts
    until: timedelta  # not worth sending later than this long before the start


RULES = (
    Rule(NotificationKind.SESSION_24H, timedelta(hours=24), timedelta(hours=12)),
    Rule(NotificationKind.SESSION_1H, timedelta(hours=1), timedelta(0)),
    # The check-in opens two days ahead (services.measures.CHECK_IN_OPENS); a
    # nudge the evening before is when people answer.
    Rule(NotificationKind.CHECKIN_DUE, timedelta(hours=30), timedelta(hours=2)),
)


# -- preferences (read and quiet hours: services.outbox) ---------------------


def save_preferences(user: User, changes: Mapping[str, Any]) -> Preferences:
    row = db.session.get(NotificationPreference, user.id)
    if row is None:
        row = new_preference_row(user.id)
        db.session.add(row)
    for key in ("session_24h", "session_1h", "content_released", "checkin_due"):
        if key in changes:
            setattr(row, key, changes[key])
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        row.quiet_start, row.quiet_end = (quiet["start"], quiet["end"]) if quiet else (None, None)
    for key in ("language", "time_zone"):
        if key in changes:
            setattr(user, key, changes[key])
    db.session.flush()
    replan_user(user)
    return preferences_from_row(row)


def session_key(kind: str, session: GroupSession, user_id: int) -> str:
    return f"{kind}:session:{session.id}:{user_id}:{int(session.starts_at.timestamp())}"


# -- planning session reminders ---------------------------------------------


@dataclass
class PlanReport:
    created: int = 0
    moved: int = 0
    cancelled: int = 0


def _sessions(now: datetime, cohort_ids: Collection[int] | None) -> list[GroupSession]:
    stmt = (
        select(GroupSession)
        .join(Cohort, Cohort.id == GroupSession.cohort_id)
        .where(
            GroupSession.status == SessionStatus.SCHEDULED,
            GroupSession.starts_at > now,
            GroupSession.starts_at <= now + HORIZON,
            Cohort.status.in_((CohortStatus.PLANNED, CohortStatus.ACTIVE)),
        )
    )
    if cohort_ids is not None:
        stmt = stmt.where(GroupSession.cohort_id.in_(cohort_ids))
    return list(db.session.scalars(stmt))


def _members(cohort_ids: Collection[int]) -> list[tuple[Enrolment, User]]:
    return list(
        db.session.execute(
            select(Enrolment, User)
            .join(User, User.id == Enrolment.user_id)
            .where(
                Enrolment.cohort_id.in_(cohort_ids),
                Enrolment.status == EnrolmentStatus.ENROLLED,
                User.disabled_at.is_(None),
            )
        )
    )


def _apologies(session_ids: Collection[int]) -> set[tuple[int, int]]:
    return set(
        db.session.execute(
            select(Apology.session_id, Apology.enrolment_id).where(
                Apology.session_id.in_(session_ids)
            )
        )
    )


def _checkins(sessions: Sequence[GroupSession]) -> dict[int, set[int]]:
    """Sessions with measures due, each with the enrolments that answered them all."""
    live = measures.known_keys()
    due = {s.id: set(measures.due_at_session(s)) & live for s in sessions}
    answered: dict[int, set[int]] = {sid: set() for sid, keys in due.items() if keys}
    for (session_id, enrolment_id), keys in measures.recorded_at_sessions(answered).items():
        if session_id in answered and due[session_id] <= keys:
            answered[session_id].add(enrolment_id)
    return answered


def plan(now: datetime | None = None, cohort_ids: Collection[int] | None = None) -> PlanReport:
    """Reconcile pending session reminders with what is owed now."""
    now = now or utcnow()
    return reconcile(wanted(now, cohort_ids), _pending(cohort_ids))


# What should exist.


def wanted(now: datetime, cohort_ids: Collection[int] | None) -> dict[str, dict[str, Any]]:
    """The reminders owed now (sessions and one-to-one meetings): dedupe key -> outbox row."""
    sessions = _sessions(now, cohort_ids)
    by_cohort: dict[int, list[GroupSession]] = {}
    for s in sessions:
        by_cohort.setdefault(s.cohort_id, []).append(s)
    members = _members(list(by_cohort)) if by_cohort else []
    prefs = preferences_for(u.id for _, u in members)
    apologised = _apologies([s.id for s in sessions]) if sessions else set()
    checkins = _checkins(sessions) if sessions else {}

    owed: dict[str, dict[str, Any]] = {}
    for enrolment, user in members:
        for session in by_cohort.get(enrolment.cohort_id, []):
            if (session.id, enrolment.id) in apologised:
                continue
            for rule in RULES:
                row = _session_row(rule, session, enrolment, user, prefs[user.id], checkins, now)
                if row is not None:
                    owed[row["dedupe_key"]] = row
    # One-to-one meetings (the follow-up among them): the day-before reminder.
    owed.update(follow_up.wanted_reminders(now, HORIZON, cohort_ids))
    return owed


def _session_row(
    rule: Rule,
    session: GroupSession,
    enrolment: Enrolment,
    user: User,
    prefs: Preferences,
    checkins: Mapping[int, set[int]],
    now: datetime,
) -> dict[str, Any] | None:
    """The row ``rule`` owes this member for this session, or None."""
    if not prefs.wants(rule.kind):
        return None
    if rule.kind == NotificationKind.CHECKIN_DUE and (
        session.id not in checkins or enrolment.id in checkins[session.id]
    ):
        return None
    if now > session.starts_at - rule.until:
        return None  # too late to be useful
    key = session_key(rule.kind, session, user.id)
    return {
        "user_id": user.id,
        "kind": rule.kind,
        "dedupe_key": key,
        "ref_type": "session",
        "ref_id": session.id,
        "due_at": due_for(
            user, rule.kind, session.starts_at - rule.before, session.starts_at, prefs
        ),
        "expires_at": session.starts_at,
    }


# Reconcile with what does.


def _pending(cohort_ids: Collection[int] | None) -> dict[str, Notification]:
    """Pending reminder rows in scope (every cohort planned, or all of them), by key."""
    stmt = select(Notification).where(
        Notification.status == NotificationStatus.PENDING,
        Notification.ref_type == "session",
        Notification.kind.in_(SESSION_KINDS),
    )
    if cohort_ids is not None:
        stmt = stmt.where(
            Notification.ref_id.in_(
                select(GroupSession.id).where(GroupSession.cohort_id.in_(cohort_ids))
            )
        )
    pending = {row.dedupe_key: row for row in db.session.scalars(stmt)}
    pending.update({row.dedupe_key: row for row in follow_up.pending_reminders(cohort_ids)})
    return pending


def reconcile(
    wanted: Mapping[str, dict[str, Any]], pending: Mapping[str, Notification]
) -> PlanReport:
    """Cancel pending rows no longer wanted, move those whose due time changed,
    revive cancelled ones wanted again, and insert the rest."""
    report = PlanReport()
    for key, row in pending.items():
        if key not in wanted:
            row.status, row.last_error = NotificationStatus.CANCELLED, "replanned"
            report.cancelled += 1
        elif row.attempts == 0 and row.due_at != wanted[key]["due_at"]:
            # Quiet hours changed. (A row already tried keeps the due time its
            # retry schedule or the push service's Retry-After gave it.)
            row.due_at = wanted[key]["due_at"]
            report.moved += 1
    existing: dict[str, Notification] = (
        {
            row.dedupe_key: row
            for row in db.session.scalars(
                select(Notification).where(Notification.dedupe_key.in_(list(wanted)))
            )
        }
        if wanted
        else {}
    )
    for key, row in existing.items():
        if row.status == NotificationStatus.CANCELLED:
            # Wanted again ("I can't come" taken back, a kind switched on again).
            row.status, row.last_error = NotificationStatus.PENDING, None
            row.due_at = wanted[key]["due_at"]
            report.created += 1
    new = [row for key, row in wanted.items() if key not in existing]
    insert_ignoring_duplicates(new)
    report.created += len(new)
    db.session.flush()
    return report


def replan_cohort(*cohort_ids: int) -> PlanReport:
    """Called by the services that move sessions or members, so the outbox
    reflects the change before the request ends."""
    return plan(cohort_ids=set(cohort_ids))


def replan_user(user: User) -> None:
    """After a person's preferences change: their session reminders, and the
    other pending rows they no longer want."""
    prefs = preferences_for([user.id])[user.id]
    rows = db.session.scalars(
        select(Notification).where(
            Notification.user_id == user.id, Notification.status == NotificationStatus.PENDING
        )
    )
    for row in rows:
        if not prefs.wants(row.kind):
            row.status, row.last_error = NotificationStatus.CANCELLED, "opted_out"
        else:
            row.due_at = due_for(user, row.kind, row.due_at, row.expires_at, prefs)
    cohort_ids = db.session.scalars(
        select(Enrolment.cohort_id).where(Enrolment.user_id == user.id)
    ).all()
    if cohort_ids:
        plan(cohort_ids=set(cohort_ids))


def cancel_for_user(user_id: int, reason: str) -> int:
    """A person left (withdrawn, moved, disabled): their pending member rows go."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.status == NotificationStatus.PENDING,
            Notification.kind.in_(
                SESSION_KINDS | {NotificationKind.CONTENT_RELEASED, NotificationKind.MEETING_24H}
            ),
        )
        .values(status=NotificationStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# -- the dispatcher's last check ---------------------------------------------


def stale(rows: Sequence[Any], now: datetime) -> dict[int, str]:
    """Rows that must not be sent after all, with why (checked at send time).

    A session reminder whose session moved, was cancelled or that the member
    said they can't come to; a member no longer in the group; a kind the person
    switched off; a reading withdrawn. ``rows`` are outbox rows (ORM objects or
    plain result rows with the same names).
    """
    reasons: dict[int, str] = {}
    user_ids = {r.user_id for r in rows}
    prefs = preferences_for(user_ids)
    for row in rows:
        if not prefs[row.user_id].wants(row.kind):
            reasons[row.id] = "opted_out"
    session_rows = [r for r in rows if r.kind in SESSION_KINDS and r.id not in reasons]
    if session_rows:
        sessions = {
            s.id: s
            for s in db.session.scalars(
                select(GroupSession).where(
                    GroupSession.id.in_({r.ref_id for r in session_rows if r.ref_id})
                )
            )
        }
        enrolled = {
            (e.user_id, e.cohort_id): e.id
            for e in db.session.scalars(
                select(Enrolment).where(
                    Enrolment.user_id.in_({r.user_id for r in session_rows}),
                    Enrolment.status == EnrolmentStatus.ENROLLED,
                )
            )
        }
        apologised = _apologies(list(sessions))
        for row in session_rows:
            session = sessions.get(row.ref_id or 0)
            if session is None or session.status != SessionStatus.SCHEDULED:
                reasons[row.id] = "session_cancelled"
            elif session.starts_at != row.expires_at:
                reasons[row.id] = "session_moved"
            elif (row.user_id, session.cohort_id) not in enrolled:
                reasons[row.id] = "not_enrolled"
            elif (session.id, enrolled[(row.user_id, session.cohort_id)]) in apologised:
                reasons[row.id] = "cannot_come"
    reasons.update(
        (k, v)
        for k, v in follow_up.stale_reminders([r for r in rows if r.id not in reasons]).items()
    )
    content_rows = [
        r for r in rows if r.kind == NotificationKind.CONTENT_RELEASED and r.id not in reasons
    ]
    if content_rows:
        withdrawn = set(
            db.session.scalars(
                select(ContentRelease.id).where(
                    ContentRelease.id.in_({r.ref_id for r in content_rows}),
                    ContentRelease.withdrawn_at.is_not(None),
                )
            )
        )
        for row in content_rows:
            if row.ref_id in withdrawn:
                reasons[row.id] = "withdrawn"
    return reasons
