"""Cohorts: create from a programme, change, staff, and the status lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, DomainError, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    Cohort,
    CohortStaff,
    CohortStatus,
    Enrolment,
    Role,
    SessionStatus,
    StaffRole,
    User,
)
from ipt_groups.protocol.programmes import template_from_dict, template_to_dict
from ipt_groups.protocol.recurrence import utc_to_local
from ipt_groups.services import (
    audit,
    content,
    enrolments,
    follow_up,
    programmes,
    reminders,
    sessions,
)
from ipt_groups.services.access import visible_cohorts
from ipt_groups.services.audit import Actor
from ipt_groups.services.membership import enrolled_count, member_counts  # noqa: F401  (api.cohorts)
from ipt_groups.timesource import utcnow

# The lifecycle: which status may follow which.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CohortStatus.PLANNED: (CohortStatus.ACTIVE, CohortStatus.CANCELLED),
    CohortStatus.ACTIVE: (CohortStatus.COMPLETED, CohortStatus.CANCELLED),
    CohortStatus.COMPLETED: (),
    CohortStatus.CANCELLED: (),
}


@dataclass(frozen=True)
class StaffChoice:
    lead_id: int
    co_facilitator_ids: Sequence[int] = ()
    supervisor_ids: Sequence[int] = ()


def _staff_user(user_id: int, roles: tuple[Role, ...], field: str) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.role not in roles:
        wanted = " or ".join(r.value for r in roles)
        raise Invalid(fields={field: [f"User {user_id} is not an active {wanted}."]})
    return user


def _set_staff(cohort: Cohort, choice: StaffChoice) -> None:
    facilitating = (Role.FACILITATOR, Role.ADMIN)
    _staff_user(choice.lead_id, facilitating, "lead_id")
    for uid in choice.co_facilitator_ids:
        _staff_user(uid, facilitating, "co_facilitator_ids")
    for uid in choice.supervisor_ids:
        _staff_user(uid, (Role.SUPERVISOR, Role.ADMIN), "supervisor_ids")
    everyone = [choice.lead_id, *choice.co_facilitator_ids, *choice.supervisor_ids]
    if len(set(everyone)) != len(everyone):
        raise Invalid("A person can hold only one role in a cohort.", fields={
            "staff": ["The lead, co-facilitators and supervisors must be different people."]
        })  # fmt: skip
    cohort.staff = [
        CohortStaff(user_id=choice.lead_id, role=StaffRole.LEAD),
        *(CohortStaff(user_id=u, role=StaffRole.CO_FACILITATOR) for u in choice.co_facilitator_ids),
        *(CohortStaff(user_id=u, role=StaffRole.SUPERVISOR) for u in choice.supervisor_ids),
    ]


def _check_location(kind: str, location: str) -> None:
    # A participant's app and calendar open this link: only a real https address.
    if kind == "online" and location:
        parts = urlsplit(location)
        if parts.scheme != "https" or not parts.netloc:
            raise Invalid(fields={"location": ["An online location is an https:// link."]})


def _check_start(start: date, zone: str) -> None:
    today = utc_to_local(utcnow(), zone).date()
    if start < today:
        raise Invalid(fields={"start_date": ["The start date has passed."]})


def create_cohort(actor: Actor, creator: User, data: dict[str, Any]) -> Cohort:
    """A cohort and its generated calendar. A facilitator who creates one leads it
    unless they name another lead (and then co-facilitates it, so they keep access)."""
    try:
        template, _ = programmes.get_template(data["programme_key"], allow_archived=False)
    except DomainError:
        # A field naming something that does not exist is a bad field, not a missing page.
        raise Invalid(
            fields={"programme_key": ["No such programme (or it is archived)."]}
        ) from None
    co = list(data.get("co_facilitator_ids", []))
    lead_id = data.get("lead_id") or creator.id
    if creator.role == Role.FACILITATOR and creator.id != lead_id and creator.id not in co:
        co.append(creator.id)
    capacity = data.get("capacity") or template.group_size_max
    _check_location(data.get("location_kind", "place"), data.get("location", ""))
    _check_start(data["start_date"], data["time_zone"])
    cohort = Cohort(
        name=" ".join(data["name"].split()),
        programme_key=template.key,
        programme=template_to_dict(template),
        language=data["language"],
        time_zone=data["time_zone"],
        weekday=data["weekday"],
        local_time=data["local_time"],
        start_date=data["start_date"],
        session_minutes=data.get("session_minutes") or template.session_minutes,
        location_kind=data.get("location_kind", "place"),
        location=data.get("location", ""),
        capacity=capacity,
        status=CohortStatus.PLANNED,
        created_by_id=actor.user_id,
    )
    _set_staff(cohort, StaffChoice(lead_id, co, data.get("supervisor_ids", [])))
    db.session.add(cohort)
    db.session.flush()
    db.session.add_all(sessions.generate_sessions(cohort, template))
    db.session.flush()
    content.ensure_plan(cohort)  # readings follow the sessions by number
    audit.record(actor, "cohort.create", "cohort", cohort.id)
    return cohort


# Changing any of these regenerates the calendar, which is only allowed before it starts.
SLOT_FIELDS = frozenset({"time_zone", "weekday", "local_time", "start_date", "session_minutes"})


def update_cohort(actor: Actor, cohort: Cohort, changes: dict[str, Any]) -> Cohort:
    calendar_changes = SLOT_FIELDS & changes.keys()
    if cohort.status not in sessions.EDITABLE:
        raise Conflict(f"The cohort is {cohort.status}.", code="cohort_closed")
    if calendar_changes:
        now = utcnow()
        if cohort.status != CohortStatus.PLANNED or sessions.started_group_sessions(cohort, now):
            raise Conflict(
                "The weekly slot can only change before the cohort starts; "
                "reschedule sessions instead.",
                code="cohort_started",
            )
    _check_location(
        changes.get("location_kind", cohort.location_kind),
        changes.get("location", cohort.location),
    )
    if calendar_changes:
        _check_start(
            changes.get("start_date", cohort.start_date),
            changes.get("time_zone", cohort.time_zone),
        )
    if "capacity" in changes and changes["capacity"] < enrolled_count(cohort):
        raise Conflict(
            "Capacity cannot go below the number of members already enrolled.",
            code="capacity_below_enrolled",
        )
    for key in ("name", "language", "location_kind", "location", "capacity", *calendar_changes):
        if key in changes:
            setattr(cohort, key, changes[key])
    if "name" in changes:
        cohort.name = " ".join(changes["name"].split())
    staff_keys = {"lead_id", "co_facilitator_ids", "supervisor_ids"} & changes.keys()
    if staff_keys:
        current = StaffChoice(
            cohort.lead_id or 0,
            cohort.staff_ids(StaffRole.CO_FACILITATOR),
            cohort.staff_ids(StaffRole.SUPERVISOR),
        )
        _set_staff(
            cohort,
            StaffChoice(
                changes.get("lead_id", current.lead_id),
                changes.get("co_facilitator_ids", current.co_facilitator_ids),
                changes.get("supervisor_ids", current.supervisor_ids),
            ),
        )
        if cohort.status == CohortStatus.ACTIVE and not cohort.staff_ids(StaffRole.SUPERVISOR):
            # Lay facilitators must never be alone with a risk signal.
            raise Conflict(
                "A running cohort needs at least one supervisor.", code="supervisor_required"
            )
        audit.record(actor, "cohort.staff_change", "cohort", cohort.id)
    if calendar_changes:
        cohort.sessions.clear()
        db.session.flush()
        template = template_from_dict(cohort.programme)
        db.session.add_all(sessions.generate_sessions(cohort, template))
    db.session.flush()
    if "capacity" in changes:
        enrolments.fill_from_waitlist(actor, cohort)
    audit.record(actor, "cohort.update", "cohort", cohort.id)
    reminders.replan_cohort(cohort.id)
    return cohort


def change_status(actor: Actor, cohort: Cohort, new: str) -> Cohort:
    if new == cohort.status:
        return cohort
    if new not in TRANSITIONS[cohort.status]:
        allowed = ", ".join(TRANSITIONS[cohort.status]) or "none"
        raise Conflict(
            f"A {cohort.status} cohort cannot become {new} (allowed: {allowed}).",
            code="invalid_transition",
        )
    now = utcnow()
    if new == CohortStatus.ACTIVE and not cohort.staff_ids(StaffRole.SUPERVISOR):
        # Lay facilitators must never be alone with a risk signal.
        raise Conflict(
            "Add a supervisor before starting the cohort.",
            code="supervisor_required",
        )
    if new == CohortStatus.COMPLETED:
        last = max((s.starts_at for s in sessions.numbered_sessions(cohort)), default=None)
        if last is not None and last > now:
            raise Conflict(
                "The last session is still to come; cancel the cohort to end it early.",
                code="sessions_remaining",
            )
    if new == CohortStatus.CANCELLED:
        for session in cohort.sessions:
            if session.status == SessionStatus.SCHEDULED and session.starts_at > now:
                session.status = SessionStatus.CANCELLED
                session.cancel_reason = "Cohort cancelled"
        for member in db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)):
            enrolments.cancel_future_meetings(member.meetings)
    cohort.status = new
    audit.record(actor, f"cohort.{new}", "cohort", cohort.id)
    db.session.flush()
    if new == CohortStatus.COMPLETED:
        follow_up.ensure_follow_ups(now, [cohort.id])  # the clock would, within a minute
    reminders.replan_cohort(cohort.id)
    return cohort


def list_cohorts(user: User, status: str | None) -> list[Cohort]:
    # Staff are shown for every cohort: load them with the list rather than one
    # query per cohort (the next session comes from sessions.next_sessions).
    stmt = (
        visible_cohorts(user)
        .options(selectinload(Cohort.staff))
        .order_by(Cohort.start_date.desc(), Cohort.id.desc())
    )
    if status:
        stmt = stmt.where(Cohort.status == status)
    return list(db.session.scalars(stmt))


def staff_directory(role: str | None) -> list[User]:
    """Active staff a facilitator can pick as co-facilitator or supervisor."""
    roles = [role] if role else [Role.FACILITATOR, Role.SUPERVISOR, Role.ADMIN]
    stmt = (
        select(User)
        .where(User.role.in_(roles), User.disabled_at.is_(None))
        .order_by(User.display_name)
    )
    return list(db.session.scalars(stmt))
