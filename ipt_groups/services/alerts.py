"""The risk pathway: a signal opens an alert at once, the cohort's supervisors
are told, and the alert stays open until a supervisor records what they did.
Nobody acting within the clinic's time limit escalates it to the admins.

Lay facilitators must never be left alone with a risk signal, so an alert in a
cohort without a supervisor goes to the admins straight away.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import selectinload

from ipt_groups.domain import Conflict, Forbidden, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import (
    AlertSource,
    Assessment,
    Cohort,
    CohortStaff,
    Enrolment,
    GroupSession,
    NotificationKind,
    RiskAlert,
    Role,
    StaffRole,
    User,
)
from ipt_groups.services import access, audit, clinic, notifications
from ipt_groups.services.audit import SYSTEM, Actor
from ipt_groups.timesource import utcnow


def supervisor_ids(cohort_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(CohortStaff.user_id)
            .join(User, User.id == CohortStaff.user_id)
            .where(
                CohortStaff.cohort_id == cohort_id,
                CohortStaff.role == StaffRole.SUPERVISOR,
                User.disabled_at.is_(None),
            )
        )
    )


def open_alert(
    actor: Actor,
    member: Enrolment,
    source: AlertSource,
    *,
    assessment: Assessment | None = None,
    session: GroupSession | None = None,
    concern: str | None = None,
) -> RiskAlert:
    alert = RiskAlert(
        cohort_id=member.cohort_id,
        enrolment_id=member.id,
        source=source,
        assessment_id=assessment.id if assessment else None,
        session_id=session.id if session else None,
        opened_by_id=actor.user_id,
        opened_at=utcnow(),
        concern=concern,
    )
    db.session.add(alert)
    db.session.flush()
    audit.record(actor, "risk_alert.open", "risk_alert", alert.id, subject_id=member.id)
    supervisors = supervisor_ids(member.cohort_id)
    if supervisors:
        notifications.notify(supervisors, NotificationKind.RISK_ALERT, "risk_alert", alert.id)
    else:
        _escalate(alert, reason="no_supervisor")
    return alert


def _tell_admins(alert_id: int, enrolment_id: int, reason: str, admins: list[int]) -> None:
    notifications.notify(admins, NotificationKind.RISK_ESCALATION, "risk_alert", alert_id)
    audit.record(
        SYSTEM, f"risk_alert.escalate.{reason}", "risk_alert", alert_id, subject_id=enrolment_id
    )


def _escalate(alert: RiskAlert, *, reason: str) -> None:
    alert.escalated_at = utcnow()
    _tell_admins(alert.id, alert.enrolment_id, reason, notifications.active_admin_ids())


def escalate_overdue(now: datetime | None = None) -> int:
    """The clock's job: escalate every open alert older than the clinic's limit.

    Rows are claimed with a conditional update, so two clocks running at once
    (a platform restart) never escalate, and so notify, the same alert twice.
    """
    now = now or utcnow()
    limit = timedelta(hours=clinic.current().alert_escalation_hours)
    overdue = db.session.execute(
        select(RiskAlert.id, RiskAlert.enrolment_id).where(
            RiskAlert.acknowledged_at.is_(None),
            RiskAlert.escalated_at.is_(None),
            RiskAlert.opened_at <= now - limit,
        )
    ).all()
    if not overdue:
        return 0
    admins = notifications.active_admin_ids()
    escalated = 0
    for alert_id, enrolment_id in overdue:
        claimed = db.session.execute(
            update(RiskAlert)
            .where(
                RiskAlert.id == alert_id,
                RiskAlert.escalated_at.is_(None),
                RiskAlert.acknowledged_at.is_(None),
            )
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            _tell_admins(alert_id, enrolment_id, "overdue", admins)
            escalated += 1
    db.session.expire_all()  # loaded alerts must see their new escalated_at
    return escalated


def acknowledgeable_cohorts(user: User) -> set[int] | None:
    """Cohort ids whose alerts ``user`` may acknowledge: their supervisors', and
    every one for admins (who receive escalations), shown as None."""
    if user.role == Role.ADMIN:
        return None
    if user.role != Role.SUPERVISOR:
        return set()
    return set(
        db.session.scalars(
            select(CohortStaff.cohort_id).where(
                CohortStaff.user_id == user.id, CohortStaff.role == StaffRole.SUPERVISOR
            )
        )
    )


def acknowledge(
    actor: Actor,
    user: User,
    alert: RiskAlert,
    action: str,
    note: str | None,
    *,
    safety_plan_version_id: int | None = None,
) -> RiskAlert:
    allowed = acknowledgeable_cohorts(user)
    if allowed is not None and alert.cohort_id not in allowed:
        raise Forbidden("Only the cohort's supervisor or an admin can acknowledge an alert.")
    # Conditional: two supervisors acting at once cannot both record an action.
    claimed = db.session.execute(
        update(RiskAlert)
        .where(RiskAlert.id == alert.id, RiskAlert.acknowledged_at.is_(None))
        .values(
            acknowledged_at=utcnow(), acknowledged_by_id=user.id, action=action,
            action_note=note, safety_plan_version_id=safety_plan_version_id,
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    db.session.refresh(alert)
    if not claimed:
        raise Conflict("This alert was acknowledged already.", code="already_acknowledged")
    audit.record(actor, "risk_alert.acknowledge", "risk_alert", alert.id,
                 subject_id=alert.enrolment_id)  # fmt: skip
    return alert


def visible_alerts(user: User) -> Select[tuple[RiskAlert]]:
    cohorts = access.visible_cohorts(user).with_only_columns(Cohort.id)
    return select(RiskAlert).where(RiskAlert.cohort_id.in_(cohorts))


def list_alerts(
    user: User, *, open_only: bool, cohort_id: int | None = None, limit: int = 200
) -> list[RiskAlert]:
    stmt = visible_alerts(user)
    if open_only:
        stmt = stmt.where(RiskAlert.acknowledged_at.is_(None))
    if cohort_id is not None:
        stmt = stmt.where(RiskAlert.cohort_id == cohort_id)
    stmt = (
        stmt.options(
            selectinload(RiskAlert.enrolment).selectinload(Enrolment.cohort),
            selectinload(RiskAlert.assessment),
        )
        .order_by(RiskAlert.opened_at.desc(), RiskAlert.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def get_alert(user: User, alert_id: int) -> RiskAlert:
    alert = db.session.scalar(visible_alerts(user).where(RiskAlert.id == alert_id))
    if alert is None:
        raise NotFound()
    return alert
