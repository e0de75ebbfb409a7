"""Who may see and manage which cohort: every cohort query starts here.

- admins: every cohort;
- facilitators: cohorts they lead or co-facilitate (and may manage);
- supervisors: cohorts they supervise (read only);
- participants: no staff view of any cohort (they have ``/api/me/schedule``).

A cohort the caller may not see is "not found", whether it exists or not.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm.attributes import set_committed_value

from ipt_groups.domain import Forbidden, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Cohort,
    CohortStaff,
    Enrolment,
    GroupSession,
    Invite,
    MemberMeeting,
    Role,
    StaffRole,
    User,
)

T = TypeVar("T")


def visible_cohorts(user: User) -> Select[tuple[Cohort]]:
    stmt = select(Cohort)
    if user.role == Role.ADMIN:
        return stmt
    if user.role == Role.FACILITATOR:
        roles: tuple[str, ...] = tuple(FACILITATING)
    elif user.role == Role.SUPERVISOR:
        roles = (StaffRole.SUPERVISOR,)
    else:
        return stmt.where(False)
    mine = select(CohortStaff.cohort_id).where(
        CohortStaff.user_id == user.id, CohortStaff.role.in_(roles)
    )
    return stmt.where(Cohort.id.in_(mine))


def can_manage(user: User, cohort: Cohort) -> bool:
    """Admins and the cohort's own facilitators change a cohort; supervisors read."""
    return user.role == Role.ADMIN or user.id in cohort.staff_ids(*FACILITATING)


def get_cohort(user: User, cohort_id: int, *, manage: bool = False) -> Cohort:
    cohort = db.session.scalar(visible_cohorts(user).where(Cohort.id == cohort_id))
    if cohort is None:
        raise NotFound()
    if manage and not can_manage(user, cohort):
        raise Forbidden("Only the cohort's facilitators or an admin can change it.")
    return cohort


def _found(model: type[T], row_id: int) -> T:
    row = db.session.get(model, row_id)
    if row is None:
        raise NotFound()
    return row


# Each record is visible exactly when the cohort it belongs to is.
# The cohort the check loaded is kept on the record: the session's identity map
# holds objects weakly, so without it the next ``record.cohort`` would load the
# same row again.
def get_session(user: User, session_id: int, *, manage: bool = False) -> GroupSession:
    session = _found(GroupSession, session_id)
    set_committed_value(session, "cohort", get_cohort(user, session.cohort_id, manage=manage))
    return session


def get_enrolment(user: User, enrolment_id: int, *, manage: bool = False) -> Enrolment:
    enrolment = _found(Enrolment, enrolment_id)
    cohort = get_cohort(user, enrolment.cohort_id, manage=manage)
    set_committed_value(enrolment, "cohort", cohort)
    return enrolment


# Safety planning is clinical work a supervisor does too (often straight after a
# risk alert), so unlike the rest of a cohort's records the plan is written by
# the cohort's supervisors as well as its facilitators. Nobody else on staff,
# and never the member: they read their own plan through /api/me.
SAFETY_PLAN_WRITERS = (*FACILITATING, StaffRole.SUPERVISOR)


def may_write_safety_plan(user: User, cohort: Cohort) -> bool:
    return user.role == Role.ADMIN or (
        user.role in (Role.FACILITATOR, Role.SUPERVISOR)
        and user.id in cohort.staff_ids(*SAFETY_PLAN_WRITERS)
    )


def get_safety_plan_member(user: User, enrolment_id: int, *, write: bool = False) -> Enrolment:
    """The member whose safety plan ``user`` reads (or, with ``write``, saves):
    outsiders get 404 as for any record of the cohort."""
    enrolment = get_enrolment(user, enrolment_id)
    if write and not may_write_safety_plan(user, enrolment.cohort):
        raise Forbidden("Only the cohort's facilitators, supervisors or an admin can do this.")
    return enrolment


def get_meeting(user: User, meeting_id: int, *, manage: bool = False) -> MemberMeeting:
    meeting = _found(MemberMeeting, meeting_id)
    get_enrolment(user, meeting.enrolment_id, manage=manage)
    return meeting


def get_invite(user: User, invite_id: int, *, manage: bool = False) -> Invite:
    invite = _found(Invite, invite_id)
    get_enrolment(user, invite.enrolment_id, manage=manage)
    return invite


def can_supervise(user: User, cohort: Cohort) -> bool:
    """Admins and the cohort's own supervisors review how its sessions were run."""
    return user.role == Role.ADMIN or user.id in cohort.staff_ids(StaffRole.SUPERVISOR)


def get_supervised_cohort(user: User, cohort_id: int) -> Cohort:
    cohort = get_cohort(user, cohort_id)
    if not can_supervise(user, cohort):
        raise Forbidden("Only the cohort's supervisors or an admin can do this.")
    return cohort


def get_supervised_session(user: User, session_id: int) -> GroupSession:
    session = _found(GroupSession, session_id)
    set_committed_value(session, "cohort", get_supervised_cohort(user, session.cohort_id))
    return session
