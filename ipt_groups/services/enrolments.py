"""Enrolment: screening, consent, capacity and the waitlist, withdrawal and moves.

Rules from the protocol (shared/reference/group-ipt.md):

- a current suicide plan or an attempt in the last three months means the person
  is **referred**, not enrolled; so is anyone who needs specialist care first;
- groups are closed: joining is refused once ``late_join_sessions`` numbered
  sessions have begun (default 2: a member can still join at session 2, not 3);
- a full cohort puts new members on a waitlist, promoted in order as places free.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    CURRENT_STATUSES,
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    MeetingStatus,
    MemberMeeting,
    NotificationPreference,
    Role,
    User,
)
from ipt_groups.protocol.programmes import template_from_dict
from ipt_groups.protocol.recurrence import local_to_utc
from ipt_groups.services import audit, channels, invites, reminders, sessions
from ipt_groups.services.audit import Actor
from ipt_groups.services.membership import current_enrolment, enrolled_count, member_counts
from ipt_groups.timesource import utcnow

PROBLEM_AREAS = ("grief", "disputes", "life_changes", "loneliness")

# Screening questions that, answered "yes", mean referral instead of enrolment.
REFERRAL_ITEMS = {
    "suicide_plan_or_attempt": "Current suicide plan, or an attempt in the last three months",
    "needs_specialist_care": "Needs specialist care first (e.g. psychosis, bipolar disorder, "
    "substance dependence)",
}

_USERNAME_WORDS = (
    "amber", "birch", "cedar", "coral", "delta", "ember", "fern", "harbor", "iris",
    "juniper", "lark", "maple", "meadow", "olive", "pebble", "quartz", "river", "sage",
    "slate", "sparrow", "willow", "wren",
)  # fmt: skip


def _new_username() -> str:
    """A neutral, typeable username such as ``maple-4821`` (never the person's name)."""
    while True:
        name = f"{secrets.choice(_USERNAME_WORDS)}-{secrets.randbelow(9000) + 1000}"
        if db.session.scalar(select(User.id).where(User.username == name)) is None:
            return name


def _require_open(cohort: Cohort, *, late_join_check: bool = True) -> None:
    if cohort.status not in sessions.EDITABLE:
        raise Conflict(f"The cohort is {cohort.status}; it takes no members.", code="cohort_closed")
    if not late_join_check:
        return
    window = int(cohort.programme["late_join_sessions"])
    started = sessions.started_group_sessions(cohort, utcnow())
    if started >= window:
        raise Conflict(
            f"This group is closed to new members: {started} session(s) have taken place "
            f"and the programme allows joining only in the first {window}. "
            "Enrol the person in a later cohort.",
            code="late_join_closed",
        )


def _lock(cohort: Cohort) -> None:
    """Serialise changes to one cohort's places: two facilitators enrolling into the
    last place at once must not both get it (PostgreSQL row lock; SQLite writes are
    serialised anyway)."""
    db.session.execute(select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())


def _place_free(cohort: Cohort) -> bool:
    """A place nobody is queuing for: the waitlist goes first."""
    counts = member_counts([cohort.id])[cohort.id]
    enrolled = counts.get(EnrolmentStatus.ENROLLED, 0)
    return cohort.capacity > enrolled and not counts.get(EnrolmentStatus.WAITLISTED, 0)


def _set_status(enrolment: Enrolment, status: str) -> None:
    enrolment.status = status
    if status == EnrolmentStatus.ENROLLED and enrolment.joined_at is None:
        enrolment.joined_at = utcnow()


def _add_meetings(enrolment: Enrolment, cohort: Cohort) -> None:
    template = template_from_dict(cohort.programme)
    for spec in template.meetings:
        enrolment.meetings.append(
            MemberMeeting(kind=spec.kind.value, label=spec.label, after_session=spec.after_session)
        )


def _referral(screening: dict[str, bool]) -> list[str]:
    return [label for item, label in REFERRAL_ITEMS.items() if screening.get(item)]


def enrol(actor: Actor, cohort: Cohort, data: dict[str, Any]) -> Enrolment:
    """Record a person's screening and consent; enrol, waitlist or refer them."""
    now = utcnow()
    screening = dict(data["screening"])
    referred = bool(_referral(screening))
    enrolment = Enrolment(
        cohort=cohort,
        display_name=" ".join(data["display_name"].split()),
        contact_phone=channels.normalise_phone(data.get("contact_phone"), cohort.time_zone),
        contact_email=data.get("contact_email"),
        problem_areas=list(dict.fromkeys(data.get("problem_areas", []))),
        goal=data.get("goal"),
        screening=screening,
        created_by_id=actor.user_id,
        queued_at=now,
    )
    if referred:
        # Recorded so the referral can be followed up; no account, no invite.
        _require_open(cohort, late_join_check=False)
        enrolment.status = EnrolmentStatus.REFERRED
        enrolment.referral_note = data.get("referral_note")
        db.session.add(enrolment)
        db.session.flush()
        audit.record(actor, "enrolment.refer", "enrolment", enrolment.id, subject_id=enrolment.id)
        return enrolment
    problems: dict[str, list[str]] = {}
    if not 1 <= len(enrolment.problem_areas) <= 2:
        problems["problem_areas"] = ["Choose one or two problem areas."]
    if not data.get("consent"):
        problems["consent"] = ["Record the member's consent before enrolling them."]
    if problems:
        raise Invalid(fields=problems)
    _require_open(cohort)
    _lock(cohort)
    enrolment.consent_version = data["consent"]["version"]
    enrolment.consent_at = now
    enrolment.consent_taken_by_id = actor.user_id
    _set_status(
        enrolment, EnrolmentStatus.ENROLLED if _place_free(cohort) else EnrolmentStatus.WAITLISTED
    )
    enrolment.user = User(
        username=_new_username(),
        display_name=enrolment.display_name,
        role=Role.PARTICIPANT,
        language=data.get("language") or cohort.language,
        time_zone=data.get("time_zone") or cohort.time_zone,
    )
    _add_meetings(enrolment, cohort)
    db.session.add(enrolment)
    db.session.flush()
    _record_consents(enrolment, data)
    audit.record(
        actor, f"enrolment.{enrolment.status}", "enrolment", enrolment.id, subject_id=enrolment.id
    )
    reminders.replan_cohort(cohort.id)
    return enrolment


def update(actor: Actor, enrolment: Enrolment, changes: dict[str, Any]) -> Enrolment:
    if "display_name" in changes:
        enrolment.display_name = " ".join(changes["display_name"].split())
        if enrolment.user is not None:
            enrolment.user.display_name = enrolment.display_name
    if "contact_phone" in changes:
        enrolment.contact_phone = channels.normalise_phone(
            changes["contact_phone"], enrolment.cohort.time_zone
        )
    for key in ("contact_email", "goal"):
        if key in changes:
            setattr(enrolment, key, changes[key])
    _record_consents(enrolment, changes)
    if "reminder_channels" in changes and enrolment.user_id is not None:
        channels.set_order(enrolment.user_id, changes["reminder_channels"])
    if "problem_areas" in changes:
        areas = list(dict.fromkeys(changes["problem_areas"]))
        if not 1 <= len(areas) <= 2:
            raise Invalid(fields={"problem_areas": ["Choose one or two problem areas."]})
        enrolment.problem_areas = areas
    if enrolment.user is not None:
        for key in ("language", "time_zone"):
            if key in changes:
                setattr(enrolment.user, key, changes[key])
    audit.record(actor, "enrolment.update", "enrolment", enrolment.id, subject_id=enrolment.id)
    return enrolment


def _record_consents(enrolment: Enrolment, data: dict[str, Any]) -> None:
    """SMS and email consent as the member gave it to staff; only for a member
    with an account (a referral gets no reminders)."""
    if enrolment.user_id is None:
        return
    sms, email = data.get("sms_consent"), data.get("email_consent")
    if sms and not enrolment.contact_phone:
        raise Invalid(fields={"sms_consent": ["Record a phone number first."]})
    if email and not enrolment.contact_email:
        raise Invalid(fields={"email_consent": ["Record an email address first."]})
    if sms is not None or email is not None:
        channels.set_consent(enrolment.user_id, sms=sms, email=email)


def consents(enrolment: Enrolment) -> dict[str, bool]:
    pref = db.session.get(NotificationPreference, enrolment.user_id) if enrolment.user_id else None
    return {
        "sms_consent": pref is not None and pref.sms_consent_at is not None,
        "email_consent": pref is not None and pref.email_consent_at is not None,
    }


def cancel_future_meetings(meetings: Iterable[MemberMeeting]) -> None:
    """Cancel one-to-one meetings still to come (booked or not); past ones stay."""
    now = utcnow()
    for meeting in meetings:
        if meeting.status == MeetingStatus.SCHEDULED and (
            meeting.starts_at is None or meeting.starts_at > now
        ):
            meeting.status = MeetingStatus.CANCELLED


def _leave(enrolment: Enrolment) -> None:
    """The member no longer holds a place: future individual meetings are
    cancelled, unused invites revoked."""
    cancel_future_meetings(enrolment.meetings)
    invites.revoke_pending(enrolment)


def withdraw(actor: Actor, enrolment: Enrolment, reason: str) -> Enrolment:
    if enrolment.status not in CURRENT_STATUSES:
        raise Conflict(f"This member is {enrolment.status}.", code="not_current")
    _lock(enrolment.cohort)
    was_enrolled = enrolment.status == EnrolmentStatus.ENROLLED
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    enrolment.withdrawal_reason = reason
    _leave(enrolment)
    audit.record(actor, "enrolment.withdraw", "enrolment", enrolment.id, subject_id=enrolment.id)
    if was_enrolled:
        fill_from_waitlist(actor, enrolment.cohort)
    db.session.flush()
    reminders.replan_cohort(enrolment.cohort_id)
    return enrolment


def reactivate(actor: Actor, enrolment: Enrolment) -> Enrolment:
    """Bring a withdrawn member back: enrolled if a place is free and nobody is
    waiting, else at the end of the waitlist.

    Someone who already held a place is not a late joiner; someone who only ever
    waited is, and the late-join window applies to them."""
    if enrolment.status != EnrolmentStatus.WITHDRAWN:
        raise Conflict("Only a withdrawn member can be re-activated.", code="not_withdrawn")
    cohort = enrolment.cohort
    _require_open(cohort, late_join_check=enrolment.joined_at is None)
    _lock(cohort)
    _set_status(
        enrolment, EnrolmentStatus.ENROLLED if _place_free(cohort) else EnrolmentStatus.WAITLISTED
    )
    enrolment.withdrawn_at = None
    enrolment.withdrawal_reason = None
    enrolment.queued_at = utcnow()
    now = utcnow()
    for meeting in enrolment.meetings:
        if meeting.status == MeetingStatus.CANCELLED and (
            meeting.starts_at is None or meeting.starts_at > now
        ):
            meeting.status = MeetingStatus.SCHEDULED
    audit.record(actor, "enrolment.reactivate", "enrolment", enrolment.id, subject_id=enrolment.id)
    db.session.flush()
    reminders.replan_cohort(cohort.id)
    return enrolment


def move(actor: Actor, enrolment: Enrolment, target: Cohort) -> Enrolment:
    """Move a member to another cohort (a new enrolment there; this one is ``moved``)."""
    if enrolment.status not in CURRENT_STATUSES:
        raise Conflict(f"This member is {enrolment.status}.", code="not_current")
    if target.id == enrolment.cohort_id:
        raise Invalid(fields={"cohort_id": ["The member is already in this cohort."]})
    _require_open(target)
    _lock(target)
    _lock(enrolment.cohort)
    was_enrolled = enrolment.status == EnrolmentStatus.ENROLLED
    now = utcnow()
    moved = Enrolment(
        cohort=target,
        user=enrolment.user,
        display_name=enrolment.display_name,
        contact_phone=enrolment.contact_phone,
        contact_email=enrolment.contact_email,
        problem_areas=list(enrolment.problem_areas),
        screening=dict(enrolment.screening),
        consent_version=enrolment.consent_version,
        consent_at=enrolment.consent_at,
        consent_taken_by_id=enrolment.consent_taken_by_id,
        queued_at=now,
        created_by_id=actor.user_id,
    )
    _set_status(
        moved, EnrolmentStatus.ENROLLED if _place_free(target) else EnrolmentStatus.WAITLISTED
    )
    _add_meetings(moved, target)
    db.session.add(moved)
    db.session.flush()
    _leave(enrolment)  # the old invite goes too: staff issue one for the new enrolment
    enrolment.status = EnrolmentStatus.MOVED
    enrolment.moved_to_id = moved.id
    enrolment.withdrawn_at = now
    audit.record(actor, "enrolment.move", "enrolment", enrolment.id, subject_id=enrolment.id)
    if was_enrolled:
        fill_from_waitlist(actor, enrolment.cohort)
    db.session.flush()
    reminders.replan_cohort(enrolment.cohort_id, target.id)
    return moved


def waitlist(cohort: Cohort) -> list[Enrolment]:
    stmt = (
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.queued_at, Enrolment.id)
        .options(selectinload(Enrolment.user))  # the list shows usernames: one query, not one each
    )
    return list(db.session.scalars(stmt))


def fill_from_waitlist(actor: Actor, cohort: Cohort) -> list[Enrolment]:
    """Promote waitlisted members in order while places are free.

    Once the late-join window has closed nobody is promoted: joining a closed
    group mid-way is what the window exists to prevent."""
    if cohort.status not in (CohortStatus.PLANNED, CohortStatus.ACTIVE):
        return []
    window = int(cohort.programme["late_join_sessions"])
    if sessions.started_group_sessions(cohort, utcnow()) >= window:
        return []
    promoted = []
    _lock(cohort)
    db.session.flush()
    free = cohort.capacity - enrolled_count(cohort)
    for enrolment in waitlist(cohort)[: max(free, 0)]:
        _set_status(enrolment, EnrolmentStatus.ENROLLED)
        promoted.append(enrolment)
        audit.record(actor, "enrolment.promote", "enrolment", enrolment.id, subject_id=enrolment.id)
    return promoted


def list_enrolments(cohort: Cohort, status: str | None) -> list[Enrolment]:
    stmt = select(Enrolment).where(Enrolment.cohort_id == cohort.id)
    if status:
        stmt = stmt.where(Enrolment.status == status)
    stmt = stmt.order_by(Enrolment.queued_at, Enrolment.id)
    # The list shows usernames: their users in one query, not one each.
    return list(db.session.scalars(stmt.options(selectinload(Enrolment.user))))


def my_enrolment(user: User) -> Enrolment:
    """The caller's own live enrolment, for the member's ``/api/me`` views."""
    member = current_enrolment(user)
    if member is None:
        raise NotFound("You are not in a group at the moment.")
    return member


def update_meeting(actor: Actor, meeting: MemberMeeting, changes: dict[str, Any]) -> MemberMeeting:
    """Book, move or cancel a one-to-one meeting; times are in the cohort's zone."""
    if meeting.enrolment.status not in CURRENT_STATUSES:
        raise Conflict(f"This member is {meeting.enrolment.status}.", code="not_current")
    if "starts_at_local" in changes:
        local = changes["starts_at_local"]
        starts_at = None
        if local is not None:
            starts_at = local_to_utc(local.date(), local.time(), meeting.enrolment.cohort.time_zone)
            if starts_at <= utcnow():
                raise Invalid(fields={"starts_at_local": ["Choose a time in the future."]})
        meeting.starts_at = starts_at
    for key in ("duration_minutes", "location", "status"):
        if key in changes:
            setattr(meeting, key, changes[key])
    audit.record(
        actor, "meeting.update", "member_meeting", meeting.id, subject_id=meeting.enrolment_id
    )
    return meeting
