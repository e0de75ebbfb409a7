"""SQLAlchemy models, one module per aggregate; import them all from here."""

from ipt_groups.models.system import AuditEvent, ClockHeartbeat
from ipt_groups.models.throttle import RateCounter
from ipt_groups.models.user import STAFF_ROLES, AuthSession, Role, User

__all__ = [
    "STAFF_ROLES",
    "AuditEvent",
    "AuthSession",
    "ClockHeartbeat",
    "RateCounter",
    "Role",
    "User",
]
