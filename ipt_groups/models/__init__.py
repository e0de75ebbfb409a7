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
from ipt_groups.models.content import (
    ContentItem,
    ContentRead,
    ContentRelease,
    ContentVersion,
    ReleaseSource,
)
from ipt_groups.models.enrolment import (
    CURRENT_STATUSES,
    CalendarFeed,
    Enrolment,
    EnrolmentStatus,
    Invite,
    MeetingStatus,
    MemberMeeting,
)
from ipt_groups.models.fidelity import FidelityAnswer, FidelityChecklist, SupervisionMeeting
from ipt_groups.models.inventory import (
    Closeness,
    InventoryPerson,
    InventoryVersion,
    Relationship,
)
from ipt_groups.models.measures import Assessment, AssessmentSource, LocalInstrument
from ipt_groups.models.notes import MemberTask, SessionNote, TaskReview
from ipt_groups.models.notification import (
    FINAL_STATUSES,
    STAFF_KINDS,
    Channel,
    Leg,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from ipt_groups.models.outcomes import CohortOutcomeCache
from ipt_groups.models.problem_work import ProblemWork
from ipt_groups.models.programme import Programme
from ipt_groups.models.push import DeliveryAttempt, NotificationPreference, PushSubscription
from ipt_groups.models.reminder_summary import ReminderDayCount, ReminderSummaryMark
from ipt_groups.models.risk import AlertAction, AlertSource, RiskAlert
from ipt_groups.models.safety_plan import SAFETY_PLAN_SECTIONS, SafetyPlanVersion
from ipt_groups.models.settings import ClinicSetting
from ipt_groups.models.sms import SmsOptOut, SmsReply
from ipt_groups.models.system import AuditEvent, ClockHeartbeat
from ipt_groups.models.throttle import RateCounter
from ipt_groups.models.user import STAFF_ROLES, AuthSession, Role, User

__all__ = [
    "CURRENT_STATUSES",
    "FACILITATING",
    "FINAL_STATUSES",
    "SAFETY_PLAN_SECTIONS",
    "STAFF_KINDS",
    "STAFF_ROLES",
    "AgendaEntry",
    "AlertAction",
    "AlertSource",
    "Apology",
    "Assessment",
    "AssessmentSource",
    "Attendance",
    "AttendanceStatus",
    "AuditEvent",
    "AuthSession",
    "CalendarFeed",
    "Channel",
    "ClinicSetting",
    "ClockHeartbeat",
    "ClosedDate",
    "Closeness",
    "Cohort",
    "CohortOutcomeCache",
    "CohortStaff",
    "CohortStatus",
    "ContentItem",
    "ContentRead",
    "ContentRelease",
    "ContentVersion",
    "DeliveryAttempt",
    "Enrolment",
    "EnrolmentStatus",
    "FidelityAnswer",
    "FidelityChecklist",
    "FollowUp",
    "GroupSession",
    "IdempotencyKey",
    "InventoryPerson",
    "InventoryVersion",
    "Invite",
    "Leg",
    "LocalInstrument",
    "MeetingStatus",
    "MemberMeeting",
    "MemberTask",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "NotificationStatus",
    "ProblemWork",
    "Programme",
    "PushSubscription",
    "RateCounter",
    "Relationship",
    "ReleaseSource",
    "ReminderDayCount",
    "ReminderSummaryMark",
    "RiskAlert",
    "Role",
    "SafetyPlanVersion",
    "SessionKind",
    "SessionNote",
    "SessionStatus",
    "SmsOptOut",
    "SmsReply",
    "StaffRole",
    "SupervisionMeeting",
    "TaskReview",
    "User",
]
