"""Faults: what happens when the parts around the app fail, with real parts.

- The database goes away: a real cut (PostgreSQL: a TCP forwarder between the
  app and the server, stopped and started; SQLite: the database's folder moved
  away and back). API requests get a JSON 503, the app heals itself.
- The push service fails for hours (503, 500, 429, timeouts, refused
  connections): reminders wait and then arrive, once each; the ones whose
  moment passed are marked expired and never sent.
- A clock process is SIGKILLed with sends on the wire: nothing is lost.
- A write fails part-way inside the database (a trigger that raises on the Nth
  insert): nothing of it is kept, and the same request succeeds once afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import func, make_url, or_, select, text

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.messaging.endpoints import DEFAULT_PUSH_HOSTS, policy
from ipt_groups.models import DeliveryAttempt, Notification
from ipt_groups.push import dispatcher
from ipt_groups.push.dispatcher import Dispatcher
from ipt_groups.push.transport import Transport
from ipt_groups.services import reminders
from tests.conftest import PASSWORD, TEST_SECRET, ApiClient, create_user, make_app
from tests.factories import (
    ROOT,
    cohort_body,
    create_cohort,
    due_test_pushes,
    enrol,
    member_body,
    start_clock,
    wait_until,
)

POSTGRES = os.environ.get("IPT_TEST_BACKEND") == "postgres"


def envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """The JSON error envelope, and nothing that looks like a traceback or a page."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    raw = response.get_data(as_text=True).lower()
    for leak in ("traceback", "<html", "sqlalchemy", "psycopg", "sqlite", "select ", "insert "):
        assert leak not in raw, (leak, raw)
    error = response.json["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert set(response.json) == {"error"} and error["message"]
    return error


# -- 1. the database goes away and comes back ---------------------------------


class Forwarder:
    """127.0.0.1:<port> -> the database: the network path a test can cut.

    ``stop`` closes the listening socket (new connections are refused) and cuts
    every open connection, as a database restart or a network failure does;
    ``start`` listens on the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
            listener.close()
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            src.close()


@dataclass
class Outage:
    app: Flask
    cut: Callable[[], None]
    mend: Callable[[], None]


@pytest.fixture
def outage(app: Flask, tmp_path: Path) -> Iterator[Outage]:
    """An app whose database the test can take away and give back."""
    if POSTGRES:
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        forwarder = Forwarder((url.host or "127.0.0.1", url.port or 5432))
        forwarder.start()
        proxied = url.set(host="127.0.0.1", port=forwarder.port)
        faulty = make_app(tmp_path, DATABASE_URL=proxied.render_as_string(hide_password=False))
        yield Outage(faulty, forwarder.stop, forwarder.start)
        with faulty.app_context():
            db.engine.dispose()
        forwarder.stop()
        return
    folder = tmp_path / "data"
    folder.mkdir()
    faulty = make_app(tmp_path, DATABASE_URL=f"sqlite:///{folder / 'faults.sqlite3'}")
    with faulty.app_context():
        flask_migrate.upgrade()

    def cut() -> None:
        folder.rename(tmp_path / "data-away")
        # An open SQLite handle keeps reading a moved file (the inode lives on),
        # so the outage shows on the next connection: as after a worker restart.
        with faulty.app_context():
            db.engine.dispose()

    def mend() -> None:
        (tmp_path / "data-away").rename(folder)

    yield Outage(faulty, cut, mend)
    if not folder.exists():
        mend()
    with faulty.app_context():
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def test_an_unreachable_database_is_a_json_503_and_the_app_heals(
    outage: Outage, frozen: datetime
) -> None:
    app = outage.app
    with app.app_context():
        create_user("facilitator", "facilitator@test.example")
    fac = ApiClient(app.test_client())
    assert fac.login("facilitator@test.example").status_code == 200
    made = create_cohort(fac)
    before = fac.get("/api/cohorts")
    assert before.status_code == 200 and [c["id"] for c in before.json] == [made["id"]]
    detail = fac.get(f"/api/cohorts/{made['id']}").json

    outage.cut()
    stranger = ApiClient(app.test_client())
    during = {
        "list": fac.get("/api/cohorts"),
        "detail": fac.get(f"/api/cohorts/{made['id']}"),
        "write": fac.post("/api/cohorts", json=cohort_body(name="Made during the outage")),
        "offline replay": fac.post(
            "/api/cohorts",
            json=cohort_body(name="Queued"),
            headers={"Idempotency-Key": "queued-0001"},
        ),
        "login": stranger.login("facilitator@test.example"),
        "me": fac.get("/api/me"),
    }
    for name, response in during.items():
        error = envelope(response, 503, "unavailable")
        assert "try again" in error["message"].lower(), name
        assert response.headers["Retry-After"].isdigit(), name
        assert response.headers["Cache-Control"] == "no-store", name
    # What needs no database still answers: the app shell (which then shows the
    # API's message) and the liveness probe, so the platform does not restart
    # healthy web processes.
    shell = fac.client.get("/")
    assert shell.status_code == 200 and shell.mimetype == "text/html"
    assert fac.client.get("/healthz").json == {"status": "ok"}

    outage.mend()
    after = fac.get("/api/cohorts")  # the same session cookie: no new login needed
    assert after.status_code == 200, after.json
    assert [c["id"] for c in after.json] == [made["id"]]  # the write during the outage: not kept
    assert fac.get(f"/api/cohorts/{made['id']}").json == detail
    again = fac.post("/api/cohorts", json=cohort_body(name="Made after the outage"))
    assert again.status_code == 201, again.json
    # The app's outbox sends its queued write again with the same key: applied now, once.
    queued = fac.post(
        "/api/cohorts", json=cohort_body(name="Queued"), headers={"Idempotency-Key": "queued-0001"}
    )
    assert queued.status_code == 201, queued.json
    assert "Idempotent-Replayed" not in queued.headers
    assert stranger.login("facilitator@test.example").status_code == 200


# -- 2. the push service fails for hours, then recovers -----------------------

SESSION_1 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # Tuesday; the cohort meets in London
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 10, tzinfo=UTC)
RECOVERED = MONDAY + timedelta(hours=17, minutes=30)
TICK = timedelta(minutes=5)  # a coarser clock than the real one (5 s): only delays sends


@dataclass
class Outbox:
    """A cohort of ten, each with a phone on a push service of its own (one the
    test can throttle, break, hang and switch off), and the real dispatcher."""

    app: Flask
    push: Any
    dispatcher: Dispatcher
    endpoints: dict[int, str]  # user id -> the phone's endpoint

    def tick(self) -> dispatcher.Report:
        """What the clock's plan and dispatch jobs do on one tick."""
        with self.app.app_context():
            reminders.plan()
            db.session.commit()
            report = self.dispatcher.drain()
            db.session.remove()
        return report

    def due_per_user(self) -> Counter[int]:
        now = timesource.utcnow()
        with self.app.app_context():
            rows = db.session.execute(
                select(Notification.user_id).where(
                    Notification.status == "pending",
                    Notification.due_at <= now,
                    or_(Notification.expires_at.is_(None), Notification.expires_at > now),
                )
            )
            return Counter(user_id for (user_id,) in rows)

    def run_until(
        self, end: datetime, answer: int | None = None, retry_after: str | None = None
    ) -> None:
        """Tick until ``end``. With ``answer``, the push service answers every
        request of each tick with that status (scripted just before the tick)."""
        while timesource.utcnow() < end:
            with self.app.app_context():
                next_due = db.session.scalar(
                    select(func.min(Notification.due_at)).where(Notification.status == "pending")
                )
            step = timesource.utcnow() + TICK
            at = min(end, max(step, next_due) if next_due is not None else end)
            timesource.advance(at - timesource.utcnow())
            if answer is not None:
                for user_id, due in self.due_per_user().items():
                    self.push.script(
                        self.endpoints[user_id], *[answer] * due, retry_after=retry_after
                    )
            self.tick()

    def rows(self) -> list[Notification]:
        with self.app.app_context():
            found = list(db.session.scalars(select(Notification).order_by(Notification.id)))
            db.session.expunge_all()
            return found


@pytest.fixture
def outbox(
    app: Flask, as_role: Any, frozen: datetime, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Outbox]:
    from tests.fake_push import FakePushService

    # A push service of this test's own: stopping it (refused connections) and
    # putting a silent listener on its port (timeouts) must not touch the
    # session's shared one.
    push = FakePushService(app.config["VAPID_KEYS"].public_key).start()
    monkeypatch.setitem(app.config, "PUSH_ALLOWED_HOSTS", (*DEFAULT_PUSH_HOSTS, push.origin))
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    endpoints = {}
    for i in range(10):
        member = enrol(fac, cohort["id"], f"Member {i}")
        phone = ApiClient(app.test_client())
        redeemed = phone.post(
            "/api/invites/redeem", json={"code": member["invite"]["code"], "pin": "482915"}
        )
        assert redeemed.status_code == 200, redeemed.json
        phone.csrf = redeemed.json["csrf_token"]
        sub = push.new_subscription()
        assert phone.post("/api/push/subscriptions", json=sub).status_code == 201
        endpoints[redeemed.json["user"]["id"]] = sub["endpoint"]
    # The real dispatcher and transport, with a short network timeout so a hung
    # push service costs this test a fraction of a second per tick, not ten.
    transport = Transport(
        app.config["VAPID_KEYS"], policy(app.config["PUSH_ALLOWED_HOSTS"]), timeout=0.3
    )
    sender = Dispatcher(transport, app.config["SECRET_KEY"].encode())
    yield Outbox(app, push, sender, endpoints)
    transport.close()
    push.stop()


@contextlib.contextmanager
def hung(push: Any) -> Iterator[None]:
    """The push service's address accepts connections and never answers."""
    push.stop()
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", push.port))
    silent.listen(1024)  # the kernel completes handshakes; nobody reads the requests
    try:
        yield
    finally:
        silent.close()
        push.start()


@contextlib.contextmanager
def switched_off(push: Any) -> Iterator[None]:
    """Nothing listens on the push service's address: connections are refused."""
    push.stop()
    try:
        yield
    finally:
        push.start()


def test_a_push_outage_of_hours_delays_reminders_and_loses_none(outbox: Outbox) -> None:
    push = outbox.push
    timesource.advance(MONDAY + timedelta(hours=10, minutes=30) - timesource.utcnow())
    outbox.tick()  # plans session 1's reminders: nothing is due yet
    planned = outbox.rows()
    kinds = Counter(r.kind for r in planned)
    assert kinds == {"checkin_due": 10, "session_24h": 10, "session_1h": 10}
    assert len({r.user_id for r in planned}) == 10
    ids = {kind: {r.id for r in planned if r.kind == kind} for kind in kinds}

    # Monday 11:00 to 17:30: the push service fails in every way it can. The
    # check-in nudges (due 11:00) and the day-before reminders (17:00) wait.
    outbox.run_until(MONDAY + timedelta(hours=12), answer=503, retry_after="600")
    outbox.run_until(MONDAY + timedelta(hours=13), answer=500)
    outbox.run_until(MONDAY + timedelta(hours=14), answer=429, retry_after="120")
    with hung(push):
        outbox.run_until(MONDAY + timedelta(hours=15))
    with switched_off(push):
        outbox.run_until(RECOVERED)
    assert push.received == []
    waiting = outbox.rows()
    assert {r.status for r in waiting if r.id not in ids["session_1h"]} == {"pending"}
    assert min(r.attempts for r in waiting if r.kind == "checkin_due") >= 10

    # It recovers: everything waiting arrives, once each, before the session.
    outbox.run_until(TUESDAY + timedelta(hours=15, minutes=30))
    delivered = Counter(m.json["id"] for m in push.received)
    assert set(delivered) == ids["checkin_due"] | ids["session_24h"]
    assert set(delivered.values()) == {1}

    # Tuesday 15:30 to 17:30 it is off again: the hour-before reminders' moment
    # (16:00, for a 17:00 session) passes. They are marked expired, never sent late.
    with switched_off(push):
        outbox.run_until(TUESDAY + timedelta(hours=17, minutes=30))
    outbox.run_until(TUESDAY + timedelta(hours=20))
    assert Counter(m.json["id"] for m in push.received) == delivered

    final = {r.id: r for r in outbox.rows()}
    assert len(final) == 30  # none lost, none made twice
    for row_id in ids["checkin_due"] | ids["session_24h"]:
        row = final[row_id]
        assert row.status == "sent" and row.sent_at >= RECOVERED
        assert row.claim_token is None and row.attempts >= 2
    for row_id in ids["session_1h"]:
        row = final[row_id]
        assert row.status == "expired" and row.sent_at is None and row.claim_token is None
    # Every attempt is on record, the failures with what went wrong.
    with outbox.app.app_context():
        attempts = db.session.execute(
            select(DeliveryAttempt.notification_id, DeliveryAttempt.outcome)
        ).all()
    per_row = Counter(n for n, _ in attempts)
    assert all(per_row[i] == final[i].attempts for i in final)
    assert {o for _, o in attempts} == {"sent", "throttled", "retry"}
    assert Counter(n for n, o in attempts if o == "sent") == delivered
    assert {a.status for a in push.attempts} >= {201, 429, 500, 503}
    with outbox.app.app_context():
        errors = set(db.session.scalars(select(DeliveryAttempt.error).distinct()))
    assert {"timeout", "ClientConnectorError"} <= errors  # hung, then switched off


# -- 3. a clock killed with sends on the wire ---------------------------------


def test_a_clock_killed_mid_batch_loses_nothing(
    app: Flask, as_role: Any, fake_push: Any, users: dict[str, int]
) -> None:
    """SIGKILL a real ``clock`` process while its sends are on the wire; a second
    dispatcher takes the batch over once the dead one's lease ends.

    At-least-once is the honest guarantee. A message on the wire when the process
    died may have reached the push service (here it did: the service answers
    after the sender is gone), but the process died before it could write that
    down, and nothing can tell "arrived" from "lost on the way". Sending it again
    is the only way never to lose one; so each notification is delivered at
    least once and recorded once (one ``sent`` row, one successful attempt).
    The copy is harmless: both carry the row's id and the same tag (the
    ``Topic`` header too), so the push service replaces an undelivered older one
    and the phone's service worker shows one notification for the tag, not two.
    """
    _, ids = due_test_pushes(app, as_role, fake_push, users["participant"], "killed")
    fake_push.latency = 1.5  # a slow push service: three sends at a time, 1.5 s each
    proc = start_clock(app, fake_push, PUSH_CONCURRENCY="3")
    try:
        assert wait_until(lambda: fake_push.peak_in_flight >= 3 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        proc.kill()  # SIGKILL: no handler runs, nothing is written on the way out
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert wait_until(lambda: fake_push.in_flight == 0)  # on the wire: it arrives anyway
    on_the_wire = {m.json["id"] for m in fake_push.received}
    assert on_the_wire and len(on_the_wire) < len(ids)

    with app.app_context():
        dead = {n.id: n.status for n in db.session.scalars(select(Notification))}
        assert set(dead.values()) == {"sending"}  # claimed, leased, never settled
        assert db.session.scalars(select(DeliveryAttempt)).all() == []
        fake_push.latency = 0.0
        successor = dispatcher.for_app(app)
        assert successor.drain().claimed == 0  # the lease protects a clock that may be alive
        with timesource.freeze(datetime.now(UTC) + dispatcher.LEASE + timedelta(seconds=1)):
            report = successor.drain()
        assert report.claimed == report.sent == len(ids)
        rows_after = list(db.session.scalars(select(Notification).order_by(Notification.id)))
        assert [(r.id, r.status, r.attempts, r.claim_token) for r in rows_after] == [
            (i, "sent", 1, None) for i in ids
        ]
        recorded = Counter(
            db.session.scalars(
                select(DeliveryAttempt.notification_id).where(DeliveryAttempt.outcome == "sent")
            )
        )
        assert recorded == Counter(ids)  # recorded once each

    got = Counter(m.json["id"] for m in fake_push.received)
    assert set(got) == set(ids)  # every one arrived
    twice = {i for i, n in got.items() if n > 1}
    assert twice == on_the_wire and set(got.values()) <= {1, 2}  # only those, and once more
    for row_id in twice:
        first, second = [m for m in fake_push.received if m.json["id"] == row_id]
        assert first.json == second.json and first.topic == second.topic  # one on the phone


def test_a_clock_killed_after_deliveries_resends_only_what_was_not_yet_recorded(
    app: Flask, as_role: Any, fake_push: Any, users: dict[str, int]
) -> None:
    """Deliveries are written down as they complete, not when the batch ends: a
    clock SIGKILLed half-way through a batch re-sends only the messages whose
    answer it had not yet recorded (those on the wire and the last moment's),
    never the ones already delivered. Before, one batch was recorded at its end,
    so a kill re-sent the whole batch: 129 of 255 reminders twice."""
    _, ids = due_test_pushes(app, as_role, fake_push, users["participant"], "half", count=60)
    fake_push.latency = 0.4  # three at a time: about 8 s for the batch
    proc = start_clock(app, fake_push, PUSH_CONCURRENCY="3", LOG_LEVEL="WARNING")

    def recorded() -> set[int]:
        with app.app_context():
            found = db.session.scalars(
                select(Notification.id).where(Notification.status == "sent")
            ).all()
            db.session.remove()
            return set(found)

    try:
        # Wait for the event (deliveries on record while the batch is on the wire).
        assert wait_until(lambda: len(recorded()) >= 9 or proc.poll() is not None, 120)
        assert proc.poll() is None, proc.communicate()[1]
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert wait_until(lambda: fake_push.in_flight == 0)
    before = recorded()
    arrived_before = Counter(m.json["id"] for m in fake_push.received)
    assert 9 <= len(before) < len(ids)  # killed half-way through one batch
    assert before <= set(arrived_before)

    fake_push.latency = 0.0
    with app.app_context():
        successor = dispatcher.for_app(app)
        with timesource.freeze(datetime.now(UTC) + dispatcher.LEASE + timedelta(seconds=1)):
            report = successor.drain()
        assert report.sent == len(ids) - len(before)
        final = {n.id: n.status for n in db.session.scalars(select(Notification))}
        assert set(final.values()) == {"sent"}
    got = Counter(m.json["id"] for m in fake_push.received)
    assert set(got) == set(ids) and set(got.values()) <= {1, 2}  # none lost
    twice = {i for i, n in got.items() if n > 1}
    assert not twice & before  # nothing on record was sent again
    assert twice == set(arrived_before) - before  # only what arrived unrecorded
    print(f"killed after {len(before)} recorded of {len(ids)}: {len(twice)} sent twice")


# -- 4. a write that fails part-way keeps nothing -----------------------------


@contextlib.contextmanager
def failing_insert(app: Flask, table: str, nth: int) -> Iterator[None]:
    """The ``nth`` insert into ``table`` fails inside the database.

    A trigger of the test's own (dropped afterwards) counts inserts in a table of
    its own, in the same transaction as the write, and raises on the ``nth``: a
    real error from the real database half-way through a real write.
    """
    if POSTGRES:
        create = [
            "CREATE TABLE fault_count (n INTEGER NOT NULL)",
            "INSERT INTO fault_count VALUES (0)",
            f"""CREATE FUNCTION fault_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE fault_count SET n = n + 1;
                IF (SELECT n FROM fault_count) >= {nth} THEN
                    RAISE EXCEPTION 'injected fault';
                END IF;
                RETURN NEW;
            END $$""",
            f"CREATE TRIGGER fault_on_insert BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fault_on_insert()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS fault_on_insert ON {table}",
            "DROP FUNCTION IF EXISTS fault_on_insert()",
            "DROP TABLE IF EXISTS fault_count",
        ]
    else:
        create = [
            "CREATE TABLE fault_count (n INTEGER NOT NULL)",
            "INSERT INTO fault_count VALUES (0)",
            f"""CREATE TRIGGER fault_on_insert BEFORE INSERT ON {table} BEGIN
                UPDATE fault_count SET n = n + 1;
                SELECT RAISE(ABORT, 'injected fault') WHERE (SELECT n FROM fault_count) >= {nth};
            END""",
        ]
        drop = ["DROP TRIGGER IF EXISTS fault_on_insert", "DROP TABLE IF EXISTS fault_count"]
    with app.app_context():
        for statement in create:
            db.session.execute(text(statement))
        db.session.commit()
    try:
        yield
    finally:
        with app.app_context():
            for statement in drop:
                db.session.execute(text(statement))
            db.session.commit()
            db.session.remove()


def counts(app: Flask, *tables: str) -> dict[str, int]:
    with app.app_context():
        found = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}
        db.session.remove()
        return found


@pytest.fixture
def production_errors(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer an unexpected exception the way production does (the 500 envelope)
    instead of re-raising it into the test, as the test app otherwise does."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@dataclass
class Group:
    fac: ApiClient
    cohort: dict[str, Any]
    session_id: int
    members: list[int]  # enrolment ids


@pytest.fixture
def group(app: Flask, as_role: Any, frozen: datetime) -> Group:
    """Six members; the clock at the start of session 1 (its register is open)."""
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    members = [enrol(fac, cohort["id"], f"Member {i}")["enrolment"]["id"] for i in range(6)]
    session = fac.get(f"/api/cohorts/{cohort['id']}/sessions").json[0]
    timesource.advance(SESSION_1 - timedelta(minutes=10) - timesource.utcnow())
    fac = ApiClient(app.test_client())  # a week on: a fresh login
    assert fac.login("facilitator@test.example").status_code == 200
    return Group(fac, cohort, session["id"], members)


ENROL_TABLES = ("users", "enrolments", "member_meetings", "invites", "audit_events")


@pytest.mark.parametrize(("table", "nth"), [("users", 1), ("member_meetings", 1), ("invites", 1)])
def test_an_enrolment_that_fails_part_way_keeps_nothing(
    app: Flask, as_role: Any, frozen: datetime, production_errors: None, table: str, nth: int
) -> None:
    fac = as_role("facilitator")
    cohort = create_cohort(fac)
    before = counts(app, *ENROL_TABLES)
    body = member_body("Member Z", contact_phone="+447400123458")
    with failing_insert(app, table, nth):
        failed = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=body)
    envelope(failed, 500, "internal_error")
    assert "nothing was saved" in failed.json["error"]["message"].lower()
    assert counts(app, *ENROL_TABLES) == before
    assert fac.get(f"/api/cohorts/{cohort['id']}/enrolments").json == []

    done = fac.post(f"/api/cohorts/{cohort['id']}/enrolments", json=body)
    assert done.status_code == 201, done.json
    after = counts(app, *ENROL_TABLES)
    meetings = len(done.json["enrolment"]["meetings"])
    grew = {t: after[t] - before[t] for t in ENROL_TABLES}
    assert grew["users"] == grew["enrolments"] == grew["invites"] == 1
    assert grew["member_meetings"] == meetings
    listed = fac.get(f"/api/cohorts/{cohort['id']}/enrolments").json
    assert [m["display_name"] for m in listed] == ["Member Z"]


ATTENDANCE_TABLES = ("attendance", "follow_ups", "idempotency_keys", "audit_events")


@pytest.mark.parametrize("key", ["header", "client_key"])
def test_an_attendance_register_that_fails_part_way_keeps_nothing(
    app: Flask, group: Group, production_errors: None, key: str
) -> None:
    """The tablet's write is retried with the same key after a failure: the key
    must have gone with the failed write, or the retry would be skipped as done."""
    marks = [{"enrolment_id": e, "status": "present"} for e in group.members]
    marks[-1]["status"] = "absent"  # a first absence also opens a follow-up
    body: dict[str, Any] = {"entries": marks}
    headers = {}
    if key == "header":
        headers["Idempotency-Key"] = "register-s1-0001"
    else:
        body["client_key"] = "register-s1-0001"
    url = f"/api/sessions/{group.session_id}/attendance"
    before = counts(app, *ATTENDANCE_TABLES)
    with failing_insert(app, "attendance", 4):
        failed = group.fac.put(url, json=body, headers=headers)
    envelope(failed, 500, "internal_error")
    assert counts(app, *ATTENDANCE_TABLES) == before
    assert {e["status"] for e in group.fac.get(url).json["entries"]} == {None}

    done = group.fac.put(url, json=body, headers=headers)
    assert done.status_code == 200, done.json
    assert done.headers.get("Idempotent-Replayed") is None  # applied now, not replayed
    register = {e["enrolment_id"]: e["status"] for e in group.fac.get(url).json["entries"]}
    assert register == {m["enrolment_id"]: m["status"] for m in marks}
    after = counts(app, *ATTENDANCE_TABLES)
    assert after["attendance"] - before["attendance"] == 6
    assert after["follow_ups"] - before["follow_ups"] == 1
    assert after["idempotency_keys"] - before["idempotency_keys"] == 1
    again = group.fac.put(url, json=body, headers=headers)  # the same write once more
    assert again.status_code == 200
    assert counts(app, "attendance", "follow_ups") == {
        "attendance": after["attendance"],
        "follow_ups": after["follow_ups"],
    }


def test_session_tasks_that_fail_part_way_keep_nothing(
    app: Flask, group: Group, production_errors: None
) -> None:
    url = f"/api/sessions/{group.session_id}/tasks"
    body = {"tasks": [{"enrolment_id": e, "text": f"Call my sister ({e})"} for e in group.members]}
    before = counts(app, "member_tasks", "audit_events")
    with failing_insert(app, "member_tasks", 3):
        failed = group.fac.put(url, json=body)
    envelope(failed, 500, "internal_error")
    assert counts(app, "member_tasks", "audit_events") == before

    done = group.fac.put(url, json=body)
    assert done.status_code == 200, done.json
    assert sorted(t["enrolment_id"] for t in done.json) == sorted(group.members)
    after = counts(app, "member_tasks", "audit_events")
    assert after["member_tasks"] - before["member_tasks"] == 6
    assert after["audit_events"] - before["audit_events"] == 6  # one task.set per member


def test_a_note_whose_audit_entry_fails_is_not_kept(
    app: Flask, group: Group, production_errors: None
) -> None:
    """A clinical note without the audit entry that says who wrote it must not exist."""
    url = f"/api/sessions/{group.session_id}/notes"
    body = {"body": "Good energy; two members spoke about role transitions."}
    before = counts(app, "session_notes", "audit_events")
    with failing_insert(app, "audit_events", 1):
        failed = group.fac.post(url, json=body)
    envelope(failed, 500, "internal_error")
    assert counts(app, "session_notes", "audit_events") == before

    done = group.fac.post(url, json=body)
    assert done.status_code == 201, done.json
    assert done.json["body"] == body["body"] and done.json["enrolment_id"] is None
    once = group.fac.post(url, json=body)  # notes are written once
    assert once.status_code == 409 and once.json["error"]["code"] == "note_exists"
    assert counts(app, "session_notes")["session_notes"] == before["session_notes"] + 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web(app: Flask) -> Iterator[str]:
    """The ``web`` process as deployed (gunicorn, gunicorn.conf.py) on the test
    database; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": app.instance_path,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{base}/healthz", timeout=2) as ok,
            ):
                if ok.status == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(
                f"gunicorn did not start: {proc.stderr.read() if proc.stderr else ''}"
            )
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _raw_request(base: str, head: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Send ``head`` and ``body``, then close our side: a client that went away
    before its body was all sent. Returns the status and JSON answer."""
    url = urllib.parse.urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())


def test_a_body_cut_short_of_its_content_length_is_400_and_writes_nothing(
    app: Flask, web: str, users: dict[str, int]
) -> None:
    login = json.dumps({"email": "facilitator@test.example", "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{web}/api/auth/login", data=login, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        csrf = json.loads(answer.read())["csrf_token"]
        # The session cookie (a login also sets the device cookie).
        cookie = next(
            c.split(";", 1)[0]
            for c in answer.headers.get_all("Set-Cookie")
            if c.startswith("ipt_session=")
        )
    start = (
        (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    )  # web runs on the wall clock
    body = json.dumps(cohort_body(start_date=start)).encode()
    head = (
        "POST /api/cohorts HTTP/1.1\r\n"
        f"Host: {urllib.parse.urlsplit(web).netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: {cookie}\r\n"
        f"X-CSRF-Token: {csrf}\r\n"
        "Connection: close\r\n\r\n"
    )
    before = counts(app, "cohorts", "group_sessions", "audit_events")
    for cut in (len(body) // 2, len(body) - 1):
        status, answer = _raw_request(web, head, body[:cut])
        assert status == 400, answer
        assert answer["error"]["code"] == "bad_request"
    assert counts(app, "cohorts", "group_sessions", "audit_events") == before
    status, answer = _raw_request(web, head, body)
    assert status == 201, answer
    assert counts(app, "cohorts")["cohorts"] == before["cohorts"] + 1
