"""SQLAlchemy models, one module per aggregate; import them all from here."""

from ipt_groups.models.agenda import AgendaEntry
from ipt_groups.models.attendance import (
    Apology,
    Attendance,
    AttendanceStatus,
    FollowUp,
    IdempotencyKey,
)
from ipt_groups.models.cohort import (
    FACILITATING,
    ClosedDate,
    Cohort,
    CohortStaff,
    CohortStatus,
    GroupSession,
    SessionKind,
    SessionStatus,
    StaffRole,
)
from ipt_groups.models.enrolment import (
    CURRENT_STATUSES,
    CalendarFeed,
    Enrolment,
    EnrolmentStatus,
    Invite,
    MemberMeeting,
)
from ipt_groups.models.programme import Programme
from ipt_groups.models.system import AuditEvent, ClockHeartbeat
from ipt_groups.models.throttle import RateCounter
from ipt_groups.models.user import STAFF_ROLES, AuthSession, Role, User

__all__ = [
    "CURRENT_STATUSES",
    "FACILITATING",
    "STAFF_ROLES",
    "AgendaEntry",
    "Apology",
    "Attendance",
    "AttendanceStatus",
    "AuditEvent",
    "AuthSession",
    "CalendarFeed",
    "ClockHeartbeat",
    "ClosedDate",
    "Cohort",
    "CohortStaff",
    "CohortStatus",
    "Enrolment",
    "EnrolmentStatus",
    "FollowUp",
    "GroupSession",
    "IdempotencyKey",
    "Invite",
    "MemberMeeting",
    "Programme",
    "RateCounter",
    "Role",
    "SessionKind",
    "SessionStatus",
    "StaffRole",
    "User",
]
