"""Demo data for trying the app locally. Never in production.

Staff logins, and a WHO 8-session cohort starting next week led by the demo
facilitator and supervised by the demo supervisor, with three members: one who
has joined (username ``demo-participant``, PIN ``246810``), one who has not yet
redeemed an invite, and one more enrolled member. A second cohort's session 1
began at the top of the hour the demo was seeded, with six members, so a
session can be run at once. Names are invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

from sqlalchemy import func, select

from ipt_groups.extensions import db
from ipt_groups.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, Role, User
from ipt_groups.protocol.recurrence import utc_to_local
from ipt_groups.services import cohorts, content, enrolments, invites
from ipt_groups.services.audit import SYSTEM, Actor
from ipt_groups.services.passwords import hash_password
from ipt_groups.timesource import utcnow

DEMO_PASSWORD = "ipt-demo-2026"  # noqa: S105 (printed by `make run`; demo data is refused in production)
DEMO_PARTICIPANT = "demo-participant"
DEMO_PIN = "246810"
DEMO_COHORT_NAME = "Demo group (Tuesdays)"
DEMO_ZONE = "Europe/London"
PENDING_MEMBER = "Demo Member Three"
RUNNING_COHORT_NAME = "Demo group (running today)"
# Two of its members can log in (PIN as above): one reads English, one Spanish.
RUNNING_LOGINS = {"Ana Demo": ("demo-ana", "en"), "Cara Demo": ("demo-cara", "es")}
# Invented names; the WHO programme's minimum group size is six.
RUNNING_MEMBERS = (
    ("Ana Demo", ["grief"], "Talk about my mother with my sister"),
    ("Ben Demo", ["disputes"], "Agree the chores with my partner without shouting"),
    ("Cara Demo", ["life_changes"], "Encontrar a una persona con quien hablar en el trabajo"),
    ("Dev Demo", ["loneliness"], "Meet a neighbour once a week"),
    ("Eli Demo", ["life_changes", "loneliness"], "Join the Saturday market group"),
    ("Fay Demo", ["grief"], "Visit the grave with my brother"),
)


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


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    invite_code: str | None = None
    invite_url: str | None = None


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _staff(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise RuntimeError(f"demo staff {email} missing")
    return user


def _seed_cohort(result: DemoResult) -> Cohort:
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == DEMO_COHORT_NAME))
    if cohort is not None:
        return cohort
    facilitator = _staff("facilitator@example.org")
    supervisor = _staff("supervisor@example.org")
    actor = Actor(facilitator.id)
    cohort = cohorts.create_cohort(
        actor,
        facilitator,
        {
            "name": DEMO_COHORT_NAME,
            "programme_key": "who-8",
            "language": "en",
            "time_zone": DEMO_ZONE,
            "weekday": 1,  # Tuesdays
            "local_time": time(17, 0),
            "start_date": _next_monday(utc_to_local(utcnow(), DEMO_ZONE).date()),
            "location": "Community hall, room 2",
            "supervisor_ids": [supervisor.id],
        },
    )
    cohorts.change_status(actor, cohort, CohortStatus.ACTIVE)
    screening = {"suicide_plan_or_attempt": False, "needs_specialist_care": False}
    consent = {"version": "demo-1"}
    members = (
        ("Demo Participant", ["life_changes"]),
        ("Demo Member Two", ["grief"]),
        (PENDING_MEMBER, ["loneliness"]),
    )
    for name, areas in members:
        enrolments.enrol(
            actor,
            cohort,
            {
                "display_name": name,
                "problem_areas": areas,
                "screening": screening,
                "consent": consent,
            },
        )
    joined = db.session.scalar(
        select(Enrolment).where(Enrolment.display_name == "Demo Participant")
    )
    if joined is None or joined.user is None:
        raise RuntimeError("the demo participant was not created")
    joined.user.username = DEMO_PARTICIPANT
    joined.user.password_hash = hash_password(DEMO_PIN)
    result.created.append(f"cohort {DEMO_COHORT_NAME!r} with 3 members")
    return cohort


def _seed_running_cohort(result: DemoResult) -> Cohort | None:
    """A second cohort whose session 1 began at the top of this hour, so a tester
    can run a session straight away (attendance, measures, notes, an alert)."""
    if db.session.scalar(select(Cohort.id).where(Cohort.name == RUNNING_COHORT_NAME)):
        return None
    facilitator = _staff("facilitator@example.org")
    supervisor = _staff("supervisor@example.org")
    actor = Actor(facilitator.id)
    now_local = utc_to_local(utcnow(), DEMO_ZONE)
    cohort = cohorts.create_cohort(
        actor,
        facilitator,
        {
            "name": RUNNING_COHORT_NAME,
            "programme_key": "who-8",
            "language": "en",
            "time_zone": DEMO_ZONE,
            "weekday": now_local.weekday(),
            "local_time": time(now_local.hour, 0),
            "start_date": now_local.date(),
            "location": "Health centre, meeting room",
            "supervisor_ids": [supervisor.id],
        },
    )
    cohorts.change_status(actor, cohort, CohortStatus.ACTIVE)
    for name, areas, goal in RUNNING_MEMBERS:
        username, language = RUNNING_LOGINS.get(name, (None, "en"))
        member = enrolments.enrol(
            actor,
            cohort,
            {
                "display_name": name,
                "problem_areas": areas,
                "goal": goal,
                "language": language,
                "screening": {"suicide_plan_or_attempt": False, "needs_specialist_care": False},
                "consent": {"version": "demo-1"},
            },
        )
        if username and member.user is not None:
            member.user.username = username
            member.user.password_hash = hash_password(DEMO_PIN)
    result.created.append(f"cohort {RUNNING_COHORT_NAME!r} (session 1 today) with 6 members")
    return cohort


def _fresh_invite(result: DemoResult, cohort: Cohort, base_url: str, ttl: timedelta) -> None:
    """Each run prints a new code for the member who has not joined yet."""
    pending = db.session.scalar(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort.id,
            Enrolment.display_name == PENDING_MEMBER,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
    )
    if pending is None or pending.user is None or pending.user.password_hash:
        return
    issued = invites.issue(Actor(cohort.lead_id), pending, ttl=ttl, base_url=base_url)
    result.invite_code, result.invite_url = issued.code, issued.url


def seed_demo(
    base_url: str = "http://127.0.0.1:5000", ttl: timedelta = timedelta(days=14)
) -> DemoResult:
    """Create whatever demo records are missing; returns what was created.

    Idempotent: existing records (and any password a tester changed) are kept.
    """
    result = DemoResult()
    for login in DEMO_STAFF:
        if db.session.scalar(select(User.id).where(User.email == login.email)) is None:
            db.session.add(
                User(
                    email=login.email,
                    display_name=login.display_name,
                    role=login.role,
                    password_hash=hash_password(DEMO_PASSWORD),
                    language="en",
                    time_zone=DEMO_ZONE,
                )
            )
            result.created.append(f"user {login.email}")
    db.session.flush()
    library = content.import_library(SYSTEM)
    if library.items_created:
        result.created.append(f"library of {library.items_created} readings")
    cohort = _seed_cohort(result)
    _seed_running_cohort(result)
    _fresh_invite(result, cohort, base_url, ttl)
    db.session.flush()
    return result
