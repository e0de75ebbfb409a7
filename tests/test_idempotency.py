"""Idempotency-Key: a write replayed by an offline tablet is applied once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from ipt_groups import clock, timesource
from ipt_groups.extensions import db
from ipt_groups.models import Assessment, IdempotencyKey, RiskAlert, SessionNote
from tests.factories import ITEM_9, SESSION_1, member_id, supervised_group


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def session_in_progress(as_role: Any, users: dict[str, int]) -> tuple[Any, int]:
    """A facilitator logged in while session 1 of a one-member group runs."""
    fac = as_role("facilitator")
    s1 = supervised_group(fac, users, members=1)["sessions"][0]["id"]
    timesource.advance(SESSION_1)
    return as_role("facilitator"), s1


def test_a_replayed_note_is_written_once_and_answered_as_the_first_time(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac, s1 = session_in_progress(as_role, users)
    body = {"body": "We agreed the group's rules."}
    first = fac.post(f"/api/sessions/{s1}/notes", json=body, headers=_key("note-0001-abcd"))
    again = fac.post(f"/api/sessions/{s1}/notes", json=body, headers=_key("note-0001-abcd"))
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(app, SessionNote) == 1
    # Without the key the note's own rule answers: written once only.
    plain = fac.post(f"/api/sessions/{s1}/notes", json=body)
    assert plain.status_code == 409 and plain.json["error"]["code"] == "note_exists"


def test_a_failed_write_does_not_use_up_its_key(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=1)
    s1 = g["sessions"][0]["id"]
    body = {"body": "Written before the session began."}
    early = fac.post(f"/api/sessions/{s1}/notes", json=body, headers=_key("note-early-1"))
    assert early.status_code == 409 and early.json["error"]["code"] != "idempotency_key_reused"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    later = fac.post(f"/api/sessions/{s1}/notes", json=body, headers=_key("note-early-1"))
    assert later.status_code == 201 and later.json["body"] == body["body"]
    assert _count(app, SessionNote) == 1


def test_a_key_sent_with_a_different_request_is_refused(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac, s1 = session_in_progress(as_role, users)
    url = f"/api/sessions/{s1}/notes"
    assert fac.post(url, json={"body": "First"}, headers=_key("same-key-99")).status_code == 201
    other = fac.post(url, json={"body": "Second"}, headers=_key("same-key-99"))
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    bad = fac.post(url, json={"body": "Third"}, headers=_key("short"))
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json["error"]["fields"]
    with app.app_context():
        notes = db.session.scalars(select(SessionNote.body)).all()
    assert notes == ["First"]


def test_a_replayed_risk_answer_opens_one_alert_and_returns_the_crisis_text_again(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=1)
    a = member_id(g)
    body = {"instrument": "phq9", "answers": ITEM_9}
    url = f"/api/enrolments/{a}/assessments"
    first = fac.post(url, json=body, headers=_key("measure-0001"))
    again = fac.post(url, json=body, headers=_key("measure-0001"))
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and first.json["crisis_text"]
    assert _count(app, Assessment) == 1 and _count(app, RiskAlert) == 1
    # Keys are per person: another facilitator's identical key is their own.
    with app.app_context():
        rows = db.session.scalars(select(IdempotencyKey.key)).all()
    assert rows == [f"{users['facilitator']}:h:measure-0001"]


def test_old_keys_are_pruned(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = supervised_group(fac, users, members=1)
    fac.post(
        f"/api/enrolments/{member_id(g)}/assessments",
        json={"instrument": "phq9", "answers": ITEM_9},
        headers=_key("measure-0002"),
    )
    timesource.advance(timedelta(days=clock.IDEMPOTENCY_DAYS - 1))
    with app.app_context():
        clock.prune()
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
    timesource.advance(timedelta(days=2))
    with app.app_context():
        clock.prune()
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
