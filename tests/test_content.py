"""The psychoeducation library: sanitising, releases as the clock moves, the
member's feed (language fallback, only their cohort, conditional GET), versions,
withdrawal, sharing from the runner, and import/export that can be re-run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ipt_groups import timesource
from ipt_groups.clock import release_content
from ipt_groups.extensions import db
from ipt_groups.models import ContentItem, ContentVersion, Notification
from ipt_groups.services import content
from ipt_groups.services.audit import SYSTEM
from tests.conftest import ApiClient
from tests.factories import SESSION_1, create_cohort, enrol, phone, phone_login

START_ITEMS = {"what-is-depression", "how-the-group-works", "warning-signs"}
END_ITEMS = {
    "problem-area-grief", "problem-area-disputes", "problem-area-life-changes",
    "problem-area-loneliness", "mood-and-relationships",
}  # fmt: skip


@pytest.mark.parametrize(
    ("markdown_text", "forbidden"),
    [
        ("Hello <script>alert(1)</script>", "<script"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<p onclick="steal()">Tap</p>', "onclick"),
        ("[tap me](javascript:alert(1))", "javascript:"),
        ("[tap me](JaVaScRiPt:alert(1))", "javascript:"),
        ("[image](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
        ('<a href="data:text/html,hi">x</a>', "data:"),
        ("<iframe src='https://example.org'></iframe>", "<iframe"),
        ('<a href="https://example.org" target="_self" style="x">x</a>', "style="),
    ],
)
def test_rendering_strips_anything_that_could_run(markdown_text: str, forbidden: str) -> None:
    html = content.render(markdown_text)
    assert forbidden not in html.lower()


def test_rendering_keeps_plain_markdown_and_marks_links() -> None:
    html = content.render("## Steps\n\n- one\n- **two**\n\n[More](https://example.org/help)")
    assert "<h2>Steps</h2>" in html and "<strong>two</strong>" in html
    assert 'href="https://example.org/help"' in html
    assert 'rel="noopener noreferrer"' in html


@pytest.fixture
def library(app: Flask) -> None:
    with app.app_context():
        result = content.import_library(SYSTEM)
        db.session.commit()
        assert result.problems == [] and result.items_created == 14


def feed_keys(member: ApiClient) -> list[str]:
    response = member.get("/api/me/readings")
    assert response.status_code == 200, response.json
    return [i["key"] for i in response.json["items"]]


def active_group(fac: ApiClient, users: dict[str, int], name: str = "Group") -> dict[str, Any]:
    cohort = create_cohort(fac, name=name, supervisor_ids=[users["supervisor"]])
    assert (
        fac.post(f"/api/cohorts/{cohort['id']}/status", json={"status": "active"}).status_code
        == 200
    )
    en = enrol(fac, cohort["id"], f"{name} member")
    es = enrol(fac, cohort["id"], f"{name} miembro", language="es")
    return {"cohort": cohort, "en": en, "es": es}


def test_readings_are_released_at_session_1_start_and_end_in_each_language(
    app: Flask, library: None, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = active_group(fac, users)
    phone(app, g["en"]["invite"]["code"])
    phone(app, g["es"]["invite"]["code"])
    en_user, es_user = g["en"]["enrolment"]["username"], g["es"]["enrolment"]["username"]
    assert feed_keys(phone_login(app, en_user)) == []  # a week before session 1

    timesource.advance(SESSION_1)  # session 1 starts
    en, es = phone_login(app, en_user), phone_login(app, es_user)
    assert set(feed_keys(en)) == START_ITEMS
    titles = {
        i["key"]: (i["language"], i["title"]) for i in es.get("/api/me/readings").json["items"]
    }
    assert titles["what-is-depression"][0] == "es"
    assert titles["what-is-depression"][1] != en.get("/api/me/readings").json["items"][0]["title"]
    with app.app_context():
        release_content()  # the clock's job: one discreet message per member
        db.session.commit()
        texts = db.session.scalars(select(Notification.kind)).all()
    assert texts.count("content_released") == 2 * len(START_ITEMS)
    inbox = en.get("/api/me/notifications").json["items"]
    assert {n["text"] for n in inbox} == {"New reading from your group."}

    timesource.advance(timedelta(minutes=90))  # session 1 ends
    en = phone_login(app, en_user)
    assert set(feed_keys(en)) == START_ITEMS | END_ITEMS
    assert "saying-what-you-need" not in feed_keys(en)  # that one waits for session 2's end

    # Saved for offline reading by the app: the text comes, but it is not "opened".
    kept = en.get("/api/me/readings/what-is-depression?opened=false").json
    assert kept["body_html"] and kept["new"] is True
    # Opening a reading: the crisis text is inserted, and the "new" marker goes.
    opened = en.get("/api/me/readings/warning-signs").json
    assert "{{ crisis_text }}" not in opened["body_html"]
    assert "emergency" in opened["body_html"] and opened["new"] is False
    items = {i["key"]: i["new"] for i in en.get("/api/me/readings").json["items"]}
    assert items["warning-signs"] is False and items["what-is-depression"] is True
    # Staff see how many opened it, not who.
    fac = as_role("facilitator")
    releases = {
        r["item_key"]: r for r in fac.get(f"/api/cohorts/{g['cohort']['id']}/releases").json
    }
    assert (
        releases["warning-signs"]["opened"] == 1
        and releases["warning-signs"]["state"] == "released"
    )
    assert releases["saying-what-you-need"]["state"] == "scheduled"
    assert releases["what-is-depression"]["opened"] == 0  # only saved for offline
    assert "display_name" not in str(releases)


def test_english_is_the_fallback_and_a_new_version_replaces_the_old(
    app: Flask, library: None, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    admin = as_role("admin")
    created = admin.post("/api/content", json={
        "key": "breathing-space", "title": "A breathing space", "summary": "Two minutes.",
        "body": "Breathe in slowly.", "tags": {"phase": "initial", "release_session": 1},
    })  # fmt: skip
    assert created.status_code == 201 and created.json["languages"] == ["en"]
    fac = as_role("facilitator")
    g = active_group(fac, users)
    phone(app, g["es"]["invite"]["code"])
    timesource.advance(SESSION_1)
    es = phone_login(app, g["es"]["enrolment"]["username"])
    items = {i["key"]: i for i in es.get("/api/me/readings").json["items"]}
    assert items["breathing-space"]["language"] == "en"  # no Spanish yet: English
    assert items["what-is-depression"]["language"] == "es"
    admin = as_role("admin")  # the clock moved: a fresh login
    edit = {"title": "Un espacio para respirar", "summary": "Dos minutos.", "body": "Respire."}
    assert admin.put("/api/content/breathing-space/texts/es", json=edit).status_code == 200
    assert admin.put("/api/content/breathing-space/texts/es", json=edit).status_code == 200
    es = phone_login(app, es_user := g["es"]["enrolment"]["username"])
    item = es.get("/api/me/readings/breathing-space").json
    assert (item["language"], item["title"], item["version"]) == (
        "es", "Un espacio para respirar", 1,
    )  # fmt: skip
    edit["body"] = "Respire despacio."
    admin.put("/api/content/breathing-space/texts/es", json=edit)
    es = phone_login(app, es_user)
    assert es.get("/api/me/readings/breathing-space").json["version"] == 2
    versions = admin.get("/api/content/breathing-space/versions?language=es").json
    assert [v["version"] for v in versions] == [2, 1]


def test_a_member_sees_only_what_was_released_to_their_own_cohort(
    app: Flask, library: None, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    a = active_group(fac, users, "Group A")
    b = create_cohort(fac, name="Group B", start_date="2026-04-06")  # starts later
    b_member = enrol(fac, b["id"], "Group B member")
    phone(app, b_member["invite"]["code"])
    phone(app, a["en"]["invite"]["code"])
    shared = fac.post(f"/api/cohorts/{a['cohort']['id']}/releases", json={"item_key": "role-play"})
    assert {r["item_key"]: r["state"] for r in shared.json}["role-play"] == "released"
    a_user = phone_login(app, a["en"]["enrolment"]["username"])
    b_user = phone_login(app, b_member["enrolment"]["username"])
    assert feed_keys(a_user) == ["role-play"]
    assert feed_keys(b_user) == []
    assert b_user.get("/api/me/readings/role-play").status_code == 404
    assert a_user.get("/api/me/readings/building-support").status_code == 404  # not yet
    # Withdrawn: gone from the member's list.
    fac.delete(f"/api/cohorts/{a['cohort']['id']}/releases/role-play")
    assert feed_keys(a_user) == []
    # Scheduled for a moment: appears when it comes.
    later = (frozen + timedelta(days=2)).isoformat()
    fac.post(
        f"/api/cohorts/{a['cohort']['id']}/releases",
        json={"item_key": "building-support", "release_at": later},
    )
    assert feed_keys(a_user) == []
    timesource.advance(timedelta(days=2, minutes=1))
    assert feed_keys(phone_login(app, a["en"]["enrolment"]["username"])) == ["building-support"]
    other = as_role("participant")  # a participant without a group
    assert other.get("/api/me/readings").status_code == 404


def test_the_feed_answers_304_when_nothing_changed(
    app: Flask, library: None, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = active_group(fac, users)
    phone(app, g["en"]["invite"]["code"])
    timesource.advance(SESSION_1)
    member = phone_login(app, g["en"]["enrolment"]["username"])
    first = member.get("/api/me/readings")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    same = member.get("/api/me/readings", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b""
    since = member.get("/api/me/readings", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    fac = as_role("facilitator")
    fac.post(f"/api/cohorts/{g['cohort']['id']}/releases", json={"item_key": "role-play"})
    changed = member.get("/api/me/readings", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    one = member.get("/api/me/readings/role-play")
    again = member.get("/api/me/readings/role-play", headers={"If-None-Match": one.headers["ETag"]})
    assert again.status_code == 304
    # Other API answers are still never stored.
    assert member.get("/api/me").headers["Cache-Control"] == "no-store"


def test_reimporting_the_library_changes_nothing_and_an_edit_is_a_new_version(
    app: Flask, library: None, tmp_path: Path
) -> None:
    with app.app_context():
        before = db.session.scalar(select(func.count(ContentVersion.id)))
        again = content.import_library(SYSTEM)
        db.session.commit()
        assert (again.items_created, again.versions_added, again.unchanged) == (0, 0, 28)
        assert db.session.scalar(select(func.count(ContentVersion.id))) == before == 28
        # Export, edit one file, import the folder: one new version, nothing else.
        assert content.export_library(tmp_path) == 28
        path = tmp_path / "en" / "role-play.md"
        path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
        edited = content.import_library(SYSTEM, tmp_path)
        db.session.commit()
        assert (edited.versions_added, edited.unchanged, edited.problems) == (1, 27, [])
        role_play = db.session.scalar(select(ContentItem).where(ContentItem.key == "role-play"))
        assert content.latest(role_play, "en").version == 2


def test_the_library_is_edited_by_admins_only(
    app: Flask, library: None, as_role: Any, client: ApiClient
) -> None:
    body = {"key": "x-item", "title": "X", "body": "Text"}
    assert as_role("facilitator").post("/api/content", json=body).status_code == 403
    assert as_role("participant").get("/api/content").status_code == 403
    assert client.get("/api/content").status_code == 401
    listed = as_role("supervisor").get("/api/content").json
    assert len(listed) == 14 and all(i["languages"] == ["en", "es"] for i in listed)
    admin = as_role("admin")
    assert admin.post("/api/content/role-play/retire").json["retired_at"] is not None
    assert "role-play" not in [i["key"] for i in admin.get("/api/content").json]
    bad = admin.post("/api/content", json={**body, "tags": {"phase": "sometime"}})
    assert bad.status_code == 422
    scripted = admin.post("/api/content", json={**body, "body": "<script>x()</script>Hi"})
    assert "<script" not in scripted.json["translations"][0]["body_html"]


def test_sharing_a_reading_from_the_runner(
    app: Flask, library: None, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    fac = as_role("facilitator")
    g = active_group(fac, users)
    phone(app, g["en"]["invite"]["code"])
    timesource.advance(SESSION_1)
    fac = as_role("facilitator")
    s1 = fac.get(f"/api/cohorts/{g['cohort']['id']}/sessions").json[0]["id"]
    shared = fac.post(f"/api/sessions/{s1}/share", json={"item_key": "solving-a-problem"})
    assert {r["item_key"]: r["source"] for r in shared.json}["solving-a-problem"] == "live"
    member = phone_login(app, g["en"]["enrolment"]["username"])
    assert "solving-a-problem" in feed_keys(member)
    assert (
        as_role("supervisor")
        .post(f"/api/sessions/{s1}/share", json={"item_key": "role-play"})
        .status_code
        == 403
    )
