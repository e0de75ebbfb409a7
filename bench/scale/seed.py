"""Seed a programme-scale database fast: rows built in Python, loaded with COPY.

    python bench/scale/seed.py --scale 0.1 --database ipt_scale_0_1

The database is dropped and created, the schema comes from the real migrations
(``flask --app wsgi db upgrade``), the reading library from the app's own import,
and every other row is written here with explicit ids (sequences are moved past
them afterwards), then ANALYZE. At scale 1: 500 facilitators, 5,000 cohorts,
60,000 participants, about 600,000 attendance marks and 200,000 assessments, plus
what those imply (sessions and their agendas, individual meetings, notes, tasks,
follow-ups, apologies, risk alerts, released readings and reads).

Dates are relative to the real clock at seeding time (the server under load reads
the real clock too): half the cohorts have finished, 40% are running (their latest
session took place in the last week), 10% start in the coming weeks.

Writes ``bench/scale/out/<database>.json``: the logins and the ids the load run
needs. Every account's password is ``PASSWORD`` (one argon2 hash, reused).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "scale-bench-2026"  # noqa: S105 (a benchmark database on loopback only)
FULL = {"facilitators": 500, "cohorts": 5000, "participants": 60000}
MEMBERS_PER_COHORT = 12
ATTENDANCE_PER_COHORT = 120  # 600,000 at full size
ASSESSMENTS_PER_COHORT = 40  # 200,000 at full size
# Programmes whose group size allows twelve members, with their share of cohorts.
PROGRAMME_MIX = (("community-12", 0.6), ("uganda-16", 0.3), ("extended-20", 0.1))
ZONES = ("Africa/Kampala", "Europe/London", "America/Lima", "Asia/Kolkata", "UTC")
MARKS = (("present", 0.74), ("late", 0.08), ("excused", 0.08), ("absent", 0.10))
sys.path.insert(0, str(ROOT))


def server_url(database_url: str, database: str) -> str:
    base, _, _ = database_url.rpartition("/")
    return f"{base}/{database}"


def recreate(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    flask = Path(sys.executable).with_name("flask")
    subprocess.run(
        [str(flask), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def app_parts(url: str) -> dict[str, Any]:
    """What the app itself decides: the password hash, the programme snapshots,
    agenda templates and the readings plan (after importing the library)."""
    os.environ.update({"DATABASE_URL": url, "APP_ENV": "development"})
    from ipt_groups import create_app
    from ipt_groups.extensions import db
    from ipt_groups.protocol.agendas import AgendaKind, agenda_for
    from ipt_groups.protocol.programmes import TEMPLATES_BY_KEY, template_to_dict
    from ipt_groups.services import content
    from ipt_groups.services.audit import SYSTEM
    from ipt_groups.services.passwords import hash_password

    app = create_app()
    with app.app_context():
        content.import_library(SYSTEM)
        db.session.commit()
        items = {i.key: i.id for i in content.list_items()}
        programmes = {}
        for key, _ in PROGRAMME_MIX:
            template = TEMPLATES_BY_KEY[key]
            snapshot = template_to_dict(template)
            plan = [
                (items[r.item], r.session, r.at)
                for r in content.plan_for(snapshot)
                if r.item in items
            ]
            programmes[key] = {
                "template": template,
                "snapshot": json.dumps(snapshot),
                "plan": plan,
            }
        agendas = {
            k.value: [(i.title, i.guidance, i.minutes, i.kind.value) for i in agenda_for(k)]
            for k in AgendaKind
        }
        return {
            "hash": hash_password(PASSWORD),
            "programmes": programmes,
            "agendas": agendas,
        }


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


def pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def phq9_answers(rng: random.Random, level: float, risk: bool) -> dict[str, int]:
    answers = {f"phq9_{n}": max(0, min(3, round(rng.gauss(level, 0.7)))) for n in range(1, 9)}
    answers["phq9_9"] = rng.randint(1, 2) if risk else 0
    return answers


def band(total: int) -> str:
    for high, label in ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe")):
        if total <= high:
            return label
    return "severe"


def build(scale: float, parts: dict[str, Any], now: datetime) -> tuple[dict[str, list], dict]:
    from ipt_groups.protocol.recurrence import local_to_utc

    rng = random.Random(9)  # noqa: S311 (benchmark data, not secrets)
    ids = Ids()
    rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
    n_fac = max(2, round(FULL["facilitators"] * scale))
    n_sup = max(1, n_fac // 10)
    n_cohorts = max(1, round(FULL["cohorts"] * scale))
    pw = parts["hash"]

    def user(email: str | None, username: str | None, name: str, role: str, zone: str) -> int:
        uid = ids("users")
        rows["users"].append((uid, email, username, name, role, pw, "en", zone, None, now, now))
        return uid

    admin = user("admin@scale.example", None, "Scale Admin", "admin", "UTC")
    facilitators = [
        user(f"fac{n:04d}@scale.example", None, f"Facilitator {n:04d}", "facilitator", "UTC")
        for n in range(1, n_fac + 1)
    ]
    supervisors = [
        user(f"sup{n:03d}@scale.example", None, f"Supervisor {n:03d}", "supervisor", "UTC")
        for n in range(1, n_sup + 1)
    ]

    # Status of each cohort, and how many of its sessions have taken place: the
    # running cohorts share what is left of the attendance target.
    plan: list[tuple[str, str, int]] = []
    for i in range(n_cohorts):
        key = pick(rng, PROGRAMME_MIX)
        n = parts["programmes"][key]["template"].group_sessions
        status = "completed" if i % 10 < 5 else "active" if i % 10 < 9 else "planned"
        plan.append((key, status, n if status == "completed" else 0))
    target = ATTENDANCE_PER_COHORT * n_cohorts / MEMBERS_PER_COHORT / 0.985  # withdrawals
    left = target - sum(p[2] for p in plan)
    active = [i for i, p in enumerate(plan) if p[1] == "active"]
    for j, i in enumerate(active):
        key, status, _ = plan[i]
        n = parts["programmes"][key]["template"].group_sessions
        k = max(1, min(n - 1, round(left / (len(active) - j) + rng.uniform(-2, 2))))
        plan[i] = (key, status, k)
        left -= k

    today = now.date()
    login: dict[str, Any] = {"admin": "admin@scale.example", "facilitators": {}, "supervisors": {}}
    participants: list[str] = []
    mood_slots: list[tuple] = []  # (enrolment, cohort, session, starts_at, lead, self?)
    member_counter = 0
    for i, (key, status, past) in enumerate(plan):
        prog = parts["programmes"][key]
        template = prog["template"]
        n = template.group_sessions
        zone = ZONES[i % len(ZONES)]
        offset = rng.randint(1, 6)
        if status == "completed":
            first = today - timedelta(days=7 * (n - 1) + offset + 7 * rng.randint(1, 150))
        elif status == "active":
            first = today - timedelta(days=7 * (past - 1) + offset)
        else:
            first = today + timedelta(days=offset + 7 * rng.randint(0, 3))
        at = dtime(rng.choice((9, 10, 14, 17, 18)), 0)
        lead = facilitators[(2 * i) % n_fac]
        co = facilitators[(2 * i + 1) % n_fac]
        sup = supervisors[i % n_sup]
        cid = ids("cohorts")
        created = datetime.combine(first - timedelta(days=30), dtime(9), UTC)
        rows["cohorts"].append(
            (
                cid,
                f"Group {cid:05d} ({key})",
                key,
                prog["snapshot"],
                "en",
                zone,
                first.weekday(),
                at,
                first,
                template.session_minutes,
                "place",
                "Health centre",
                template.group_size_max,
                status,
                lead,
                created,
                created,
            )
        )
        rows["cohort_staff"] += [
            (cid, lead, "lead"),
            (cid, co, "co_facilitator"),
            (cid, sup, "supervisor"),
        ]

        sessions = []  # (id, number, starts_at, phase)
        for number in range(1, n + 1):
            sid = ids("group_sessions")
            starts = local_to_utc(first + timedelta(weeks=number - 1), at, zone)
            phase = template.phase_of(number).value
            rows["group_sessions"].append(
                (
                    sid,
                    cid,
                    "group",
                    number,
                    phase,
                    starts,
                    template.session_minutes,
                    "scheduled",
                    None,
                    None,
                    created,
                    created,
                )
            )
            held = number <= past
            for pos, (title, guidance, minutes, kind) in enumerate(parts["agendas"][phase]):
                done = starts + timedelta(minutes=5 * pos) if held else None
                rows["agenda_entries"].append(
                    (
                        ids("agenda_entries"),
                        sid,
                        pos,
                        title,
                        guidance,
                        minutes,
                        kind,
                        done,
                        lead if held else None,
                    )
                )
            sessions.append((sid, number, starts, phase))
            if held:
                rows["session_notes"].append(
                    (
                        ids("session_notes"),
                        sid,
                        None,
                        "Group worked on the week's tasks; good energy.",
                        lead,
                        starts + timedelta(hours=2),
                    )
                )
        held_sessions = sessions[:past]

        for item_id, number, at_ in prog["plan"]:
            s = sessions[number - 1]
            released = s[2] if number <= past else None
            rows["content_releases"].append(
                (
                    ids("content_releases"),
                    cid,
                    item_id,
                    "plan",
                    number,
                    at_,
                    None,
                    released,
                    None,
                    lead,
                    created,
                    created,
                )
            )
        released_items = [item for item, number, _ in prog["plan"] if number <= past]

        if status == "active":
            login["facilitators"].setdefault(
                f"fac{facilitators.index(lead) + 1:04d}@scale.example", []
            ).append({"cohort_id": cid, "session_id": held_sessions[-1][0]})
            login["supervisors"].setdefault(
                f"sup{supervisors.index(sup) + 1:03d}@scale.example", []
            ).append(cid)

        joined = datetime.combine(first - timedelta(days=14), dtime(10), UTC)
        mid, final = (n + 1) // 2, n
        alerts_open_left = 1 if status == "active" and rng.random() < 0.3 else 0
        for _ in range(MEMBERS_PER_COHORT):
            member_counter += 1
            uname = f"p{member_counter:06d}"
            uid = user(None, uname, f"Member {member_counter:06d}", "participant", zone)
            eid = ids("enrolments")
            withdraw_after = (
                rng.randint(1, max(1, past - 1)) if past >= 3 and rng.random() < 0.05 else None
            )
            withdrawn_at = (
                (held_sessions[withdraw_after - 1][2] + timedelta(days=2))
                if withdraw_after
                else None
            )
            rows["enrolments"].append(
                (
                    eid,
                    cid,
                    uid,
                    f"Member {member_counter:06d}",
                    None,
                    None,
                    json.dumps([rng.choice(["grief", "disputes", "life_changes", "loneliness"])]),
                    json.dumps({"suicide_plan_or_attempt": False, "needs_specialist_care": False}),
                    "Talk to one person each week",
                    None,
                    "v1",
                    joined,
                    lead,
                    "withdrawn" if withdrawn_at else "enrolled",
                    joined,
                    joined,
                    withdrawn_at,
                    "Moved away" if withdrawn_at else None,
                    None,
                    lead,
                    joined,
                    joined,
                )
            )
            if status == "active" and not withdrawn_at:
                participants.append(uname)
            meeting_ids = {}
            for spec in template.meetings:
                mtid = ids("member_meetings")
                if spec.after_session == 0:
                    starts = joined + timedelta(days=3)
                elif spec.after_session <= past:
                    starts = sessions[spec.after_session - 1][2] + timedelta(days=2)
                else:
                    starts = None
                rows["member_meetings"].append(
                    (
                        mtid,
                        eid,
                        spec.kind.value,
                        spec.label,
                        spec.after_session,
                        starts,
                        45,
                        "Health centre",
                        "scheduled",
                        joined,
                        joined,
                    )
                )
                meeting_ids.setdefault(spec.kind.value, (mtid, starts))
            level = rng.uniform(1.2, 2.4)  # the member's PHQ-9 item level at intake
            if status != "planned":
                mtid, starts = meeting_ids["pre_group"]
                rows["_phq9"].append((eid, cid, None, mtid, starts, lead, level, "staff"))
            followed_up = False
            for sid, number, starts, _phase in held_sessions:
                if withdraw_after and number > withdraw_after:
                    break
                mark = pick(rng, MARKS)
                rows["attendance"].append(
                    (ids("attendance"), sid, eid, mark, lead, starts + timedelta(minutes=10))
                )
                if mark == "excused":
                    rows["apologies"].append(
                        (ids("apologies"), sid, eid, "Working", starts - timedelta(days=1))
                    )
                if mark == "absent" and not followed_up:
                    rows["follow_ups"].append(
                        (
                            ids("follow_ups"),
                            cid,
                            eid,
                            sid,
                            "first_absence",
                            starts + timedelta(days=5),
                            starts + timedelta(days=3),
                            lead,
                            starts,
                        )
                    )
                    followed_up = True  # one first-absence follow-up per member
                if mark in ("present", "late"):
                    progress = number / n
                    if number in (mid, final):
                        rows["_phq9"].append(
                            (
                                eid,
                                cid,
                                sid,
                                None,
                                starts + timedelta(minutes=20),
                                lead,
                                level * (1 - 0.5 * progress),
                                "staff",
                            )
                        )
                    else:
                        mood_slots.append((eid, cid, sid, starts + timedelta(minutes=15), lead))
                    if 1 < number < n and rng.random() < 0.25:
                        rows["member_tasks"].append(
                            (
                                ids("member_tasks"),
                                sid,
                                eid,
                                "Call my sister on Sunday",
                                lead,
                                starts + timedelta(minutes=80),
                                None,
                                None,
                                None,
                                None,
                            )
                        )
                    if rng.random() < 0.04:
                        rows["session_notes"].append(
                            (
                                ids("session_notes"),
                                sid,
                                eid,
                                "Spoke about a hard week.",
                                lead,
                                starts + timedelta(hours=2),
                            )
                        )
            for item_id in released_items:
                if rng.random() < 0.5:
                    rows["content_reads"].append(
                        (
                            ids("content_reads"),
                            eid,
                            item_id,
                            now - timedelta(days=3),
                            now - timedelta(days=3),
                        )
                    )
        rows["_alerts_open"].append(alerts_open_left)

    # Assessments: every PHQ-9 above, then mood ratings on a share of the attended
    # sessions so the total meets the target.
    target = ASSESSMENTS_PER_COHORT * n_cohorts
    share = max(0.0, min(1.0, (target - len(rows["_phq9"])) / max(1, len(mood_slots))))
    open_budget = sum(rows["_alerts_open"])
    for eid, cid, sid, mtid, at_, lead, level, source in rows["_phq9"]:
        risk = rng.random() < 0.03
        answers = phq9_answers(rng, level, risk)
        total = sum(answers.values())
        aid = ids("assessments")
        rows["assessments"].append(
            (
                aid,
                eid,
                cid,
                sid,
                mtid,
                "phq9",
                "PHQ-9",
                json.dumps(answers),
                total,
                band(total),
                json.dumps(["phq9_9"] if risk else []),
                source,
                lead,
                at_,
                None,
            )
        )
        if risk:
            recent = at_ > now - timedelta(days=7)
            still_open = recent and open_budget > 0
            open_budget -= still_open
            rows["risk_alerts"].append(
                (
                    ids("risk_alerts"),
                    cid,
                    eid,
                    "risk_item",
                    aid,
                    sid,
                    lead,
                    at_,
                    None,
                    None if still_open else at_ + timedelta(hours=2),
                    None if still_open else at_ + timedelta(hours=1),
                    None if still_open else lead,
                    None if still_open else "contacted",
                    None,
                )
            )
    for eid, cid, sid, at_, lead in mood_slots:
        if rng.random() < share:
            value = rng.randint(2, 9)
            self_ = rng.random() < 0.5
            rows["assessments"].append(
                (
                    ids("assessments"),
                    eid,
                    cid,
                    sid,
                    None,
                    "mood",
                    "Mood rating",
                    json.dumps({"mood": value}),
                    value,
                    None,
                    "[]",
                    "self" if self_ else "staff",
                    None if self_ else lead,
                    at_,
                    None,
                )
            )
    del rows["_phq9"], rows["_alerts_open"]
    rng.shuffle(participants)
    login.update(participants=participants[:2000], password=PASSWORD, admin_id=admin)
    return rows, login


TABLES: dict[str, str] = {
    "users": "id, email, username, display_name, role, password_hash, language, time_zone, "
    "last_login_at, created_at, updated_at",
    "cohorts": "id, name, programme_key, programme, language, time_zone, weekday, local_time, "
    "start_date, session_minutes, location_kind, location, capacity, status, created_by_id, "
    "created_at, updated_at",
    "cohort_staff": "cohort_id, user_id, role",
    "group_sessions": "id, cohort_id, kind, number, phase, starts_at, duration_minutes, status, "
    "original_starts_at, cancel_reason, created_at, updated_at",
    "agenda_entries": "id, session_id, position, title, guidance, minutes, kind, done_at, "
    "done_by_id",
    "enrolments": "id, cohort_id, user_id, display_name, contact_phone, contact_email, "
    "problem_areas, screening, goal, referral_note, consent_version, consent_at, "
    "consent_taken_by_id, status, queued_at, joined_at, withdrawn_at, withdrawal_reason, "
    "moved_to_id, created_by_id, created_at, updated_at",
    "member_meetings": "id, enrolment_id, kind, label, after_session, starts_at, "
    "duration_minutes, location, status, created_at, updated_at",
    "attendance": "id, session_id, enrolment_id, status, recorded_by_id, recorded_at",
    "apologies": "id, session_id, enrolment_id, reason, created_at",
    "follow_ups": "id, cohort_id, enrolment_id, session_id, kind, due_at, done_at, done_by_id, "
    "created_at",
    "assessments": "id, enrolment_id, cohort_id, session_id, meeting_id, instrument, "
    "instrument_name, answers, total, band, risk_items, source, entered_by_id, completed_at, "
    "client_key",
    "risk_alerts": "id, cohort_id, enrolment_id, source, assessment_id, session_id, "
    "opened_by_id, opened_at, concern, escalated_at, acknowledged_at, acknowledged_by_id, "
    "action, action_note",
    "session_notes": "id, session_id, enrolment_id, body, author_id, created_at",
    "member_tasks": "id, session_id, enrolment_id, text, set_by_id, created_at, review, "
    "reviewed_at, reviewed_by_id, reviewed_session_id",
    "content_releases": "id, cohort_id, item_id, source, session_number, at, release_at, "
    "released_at, withdrawn_at, created_by_id, created_at, updated_at",
    "content_reads": "id, enrolment_id, item_id, first_opened_at, last_opened_at",
    "_phq9": "",
    "_alerts_open": "",
}


def load(url: str, rows: dict[str, Iterable[tuple]]) -> dict[str, int]:
    counts = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, cols in TABLES.items():
            if table not in rows:
                continue
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[arg-type]
                for row in rows[table]:
                    copy.write_row(row)
            counts[table] = len(rows[table])  # type: ignore[arg-type]
            if "id" in cols.split(", "):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--database", default="ipt_scale")
    ap.add_argument(
        "--server",
        default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a URL of the PostgreSQL server (its database part is ignored)",
    )
    args = ap.parse_args()
    url = server_url(args.server, args.database)
    timings = {}
    t0 = time.perf_counter()
    recreate(server_url(args.server, "postgres"), args.database)
    migrate(url)
    timings["migrate_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    parts = app_parts(url)
    rows, login = build(args.scale, parts, datetime.now(UTC))
    timings["build_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    counts = load(url, rows)
    timings["copy_analyze_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    OUT.mkdir(exist_ok=True)
    manifest = {
        "scale": args.scale,
        "database": args.database,
        "url": url,
        "counts": counts,
        "seed_timings": {k: round(v, 1) for k, v in timings.items()},
        "login": login,
    }
    (OUT / f"{args.database}.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps({k: v for k, v in manifest.items() if k != "login"}, indent=1))


if __name__ == "__main__":
    main()
