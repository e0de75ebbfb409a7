"""A member's safety plan: the six Stanley-Brown sections, saved as versions.

Every save makes a new version (who, when) on top of the version the writer
last saw; a save based on an older version is refused with 409, so two staff
editing at once never overwrite each other without knowing. Reads and saves
are audited like every clinical record. The plan is never sent in any
notification: the member reads it in the app only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import SAFETY_PLAN_SECTIONS, Enrolment, RiskAlert, SafetyPlanVersion, User
from ipt_groups.services import audit, clinic, versioning
from ipt_groups.services.audit import Actor

Sections = dict[str, list[Any]]


def member_language(member: Enrolment) -> str:
    return member.user.language if member.user is not None else "en"


def empty_sections() -> Sections:
    return {name: [] for name in SAFETY_PLAN_SECTIONS}


def prefilled(member: Enrolment) -> Sections:
    """A first plan: section 5 starts with the clinic's own crisis instructions
    (local numbers) in the member's language, which staff may then add to."""
    crisis = clinic.current().crisis_text_for(member_language(member))
    return {**empty_sections(), "professionals": [crisis]}


def current(member: Enrolment) -> SafetyPlanVersion | None:
    return db.session.scalar(
        select(SafetyPlanVersion)
        .where(SafetyPlanVersion.enrolment_id == member.id)
        .order_by(SafetyPlanVersion.version.desc())
        .limit(1)
    )


def history(member: Enrolment) -> list[SafetyPlanVersion]:
    return list(
        db.session.scalars(
            select(SafetyPlanVersion)
            .where(SafetyPlanVersion.enrolment_id == member.id)
            .order_by(SafetyPlanVersion.version.desc())
        )
    )


def _stale(latest: int) -> Conflict:
    return Conflict(
        f"Someone saved this plan since you opened it (now version {latest}). "
        "Open it again and make your changes on the newest version.",
        code="stale_safety_plan",
    )


def save(
    actor: Actor, user: User, member: Enrolment, base_version: int, sections: Mapping[str, Any]
) -> SafetyPlanVersion:
    """Save a new version on top of ``base_version`` (0 for the first plan)."""
    versioning.refuse_erased(member, "This member's data has been erased.", "member_erased")
    full = {**empty_sections(), **{k: list(v) for k, v in sections.items()}}
    if not any(full.values()):
        raise Invalid(fields={"sections": ["Write at least one item in the plan."]})
    latest = current(member)
    latest_number = latest.version if latest is not None else 0
    versioning.check_base(base_version, latest_number, _stale)
    made = SafetyPlanVersion(
        enrolment_id=member.id, version=latest_number + 1, sections=full, author_id=user.id
    )
    versioning.insert(actor, member, made, "safety_plan.save", "safety_plan_version", _stale)
    return made


def audit_read(actor: Actor, member: Enrolment, action: str = "safety_plan.read") -> None:
    audit.record(actor, action, "enrolment", member.id, subject_id=member.id)


def version_of(member_id: int, version_id: int) -> SafetyPlanVersion:
    """A version of this member's plan (for linking an alert to it), or 422."""
    found = db.session.get(SafetyPlanVersion, version_id)
    if found is None or found.enrolment_id != member_id:
        raise Invalid(fields={"safety_plan_version_id": ["Not a version of this member's plan."]})
    return found


def for_member_user(user: User) -> tuple[Enrolment, SafetyPlanVersion] | None:
    """The participant's newest plan, across their enrolments (a member moved
    to another group keeps the plan made in the first one until a new one)."""
    row = db.session.execute(
        select(Enrolment, SafetyPlanVersion)
        .join(SafetyPlanVersion, SafetyPlanVersion.enrolment_id == Enrolment.id)
        .where(Enrolment.user_id == user.id)
        .order_by(SafetyPlanVersion.created_at.desc(), SafetyPlanVersion.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def link_for_acknowledgement(alert: RiskAlert, action: str, version_id: int | None) -> int | None:
    """The plan version an acknowledgement links to: the one given (only with the
    action safety_plan, and only this member's), else the member's newest."""
    if action != "safety_plan":
        if version_id is not None:
            raise Invalid(fields={"safety_plan_version_id": ["Only with the action safety_plan."]})
        return None
    if version_id is not None:
        return version_of(alert.enrolment_id, version_id).id
    newest = db.session.scalar(
        select(SafetyPlanVersion.id)
        .where(SafetyPlanVersion.enrolment_id == alert.enrolment_id)
        .order_by(SafetyPlanVersion.version.desc())
        .limit(1)
    )
    return newest
