"""Demo data for trying the app locally. Never in production."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ipt_groups.extensions import db
from ipt_groups.models import Role, User
from ipt_groups.services.passwords import hash_password

DEMO_PASSWORD = "ipt-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    display_name: str
    role: Role


DEMO_STAFF: tuple[DemoLogin, ...] = (
    DemoLogin("admin@example.org", "Demo Admin", Role.ADMIN),
    DemoLogin("supervisor@example.org", "Demo Supervisor", Role.SUPERVISOR),
    DemoLogin("facilitator@example.org", "Demo Facilitator", Role.FACILITATOR),
)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


def seed_demo() -> list[str]:
    """Create whatever demo records are missing; returns what was created.

    Idempotent: existing records (and any password a tester changed) are kept.
    """
    created: list[str] = []
    for login in DEMO_STAFF:
        if db.session.scalar(select(User.id).where(User.email == login.email)) is None:
            db.session.add(
                User(
                    email=login.email,
                    display_name=login.display_name,
                    role=login.role,
                    password_hash=hash_password(DEMO_PASSWORD),
                    language="en",
                    time_zone="Europe/London",
                )
            )
            created.append(f"user {login.email}")
    db.session.flush()
    return created
