"""Versioned clinical records (the inventory, the safety plan): the shared rules.

A record is a row per version of one member's record, numbered 1, 2, ...
A save names the version it was made on (``base_version``, 0 for the first);
if the newest stored version is another, the save is refused with the
record's own 409 (``stale``) instead of silently replacing someone's work.
Two saves from the same base race for the same number under the table's
unique key: the loser gets the same 409. Every save is audited.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from ipt_groups.domain import Conflict
from ipt_groups.extensions import db
from ipt_groups.models import Enrolment, InventoryVersion, SafetyPlanVersion
from ipt_groups.services import audit
from ipt_groups.services.audit import Actor

Stale = Callable[[int], Conflict]


def refuse_erased(member: Enrolment, message: str, code: str) -> None:
    """No new version of an erased member's record (409 ``code``)."""
    if member.erased_at is not None:
        raise Conflict(message, code=code)


def check_base(base_version: int, newest: int, stale: Stale) -> None:
    """The save was made on the newest version, else the record's 409."""
    if base_version != newest:
        raise stale(newest)


def insert(
    actor: Actor,
    member: Enrolment,
    version: InventoryVersion | SafetyPlanVersion,
    action: str,
    kind: str,
    stale: Stale,
) -> None:
    """Add the next version, numbered ``version.version``, and audit the save.
    Another save that took this number between our read and our insert wins;
    this one gets the 409."""
    try:
        with db.session.begin_nested():
            db.session.add(version)
    except IntegrityError:
        raise stale(version.version) from None
    audit.record(actor, action, kind, version.id, subject_id=member.id)
