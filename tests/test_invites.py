"""Invites: a member gets from a code on paper to a login on their phone.

Issue (with enrolment or again later), check, redeem with a PIN, and everything
that makes a code stop working: use, expiry, revocation, re-issue, withdrawal.
Guessing is rate limited per address.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from ipt_groups import timesource
from ipt_groups.extensions import db
from ipt_groups.models import AuditEvent
from tests.conftest import ApiClient, create_user
from tests.factories import create_cohort, enrol

CODE_RE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PIN = "246810"


def new_member(as_role: Any, name: str = "Member A", **cohort: Any) -> dict[str, Any]:
    """A cohort led by the facilitator persona, one member; returns the enrolment response."""
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator, **cohort)["id"]
    return enrol(facilitator, cohort_id, name)


def anonymous(app: Flask) -> ApiClient:
    return ApiClient(app.test_client())


def redeem(c: ApiClient, code: str, pin: str = PIN) -> Any:
    response = c.post("/api/invites/redeem", json={"code": code, "pin": pin})
    if response.status_code == 200:
        c.csrf = response.json["csrf_token"]
        c.user_id = response.json["user"]["id"]
    return response


def wrong_code(code: str) -> str:
    """A well-formed code that differs from ``code`` in its last character."""
    last = code[-1]
    return code[:-1] + ALPHABET[(ALPHABET.index(last) + 1) % len(ALPHABET)]


def attempt(app: Flask, path: str, code: str, **kw: Any) -> Any:
    """An anonymous check or redeem of ``code``."""
    body = {"code": code, **({"pin": PIN} if path.endswith("redeem") else {})}
    return anonymous(app).post(path, json=body, **kw)


def assert_gone(response: Any, code: str) -> None:
    assert response.status_code == 410, response.json
    assert response.json["error"]["code"] == code


# --- issue -------------------------------------------------------------------


def test_enrolling_a_member_issues_a_pending_invite(as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    invite = created["invite"]
    assert CODE_RE.match(invite["code"]), invite["code"]
    assert invite["url"].endswith(f"/#/join/{invite['code']}")
    assert invite["state"] == "pending"
    assert invite["enrolment_id"] == created["enrolment"]["id"]
    assert datetime.fromisoformat(invite["expires_at"]) == frozen + timedelta(days=14)
    assert invite["used_at"] is None and invite["revoked_at"] is None


def test_invite_qr_code_is_an_inline_svg_without_network_references(
    as_role: Any, frozen: datetime
) -> None:
    svg = new_member(as_role)["invite"]["qr_svg"]
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    # The only URL in it is the SVG namespace: nothing to fetch, no script.
    refs = set(re.findall(r"https?://[^\s\"'<>]+", svg))
    assert refs <= {"http://www.w3.org/2000/svg"}, refs
    assert "<script" not in svg.lower() and "href" not in svg.lower()


def test_codes_differ_between_members(as_role: Any, frozen: datetime) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator)["id"]
    codes = {enrol(facilitator, cohort_id, f"Member {x}")["invite"]["code"] for x in "ABCD"}
    assert len(codes) == 4


# --- check and redeem --------------------------------------------------------


def test_check_names_the_member_and_their_username(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    response = anonymous(app).post("/api/invites/check", json={"code": created["invite"]["code"]})
    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "Member A"
    assert response.json["username"] == created["enrolment"]["username"]
    assert response.json["username"]  # a generated, neutral username
    assert "Member" not in response.json["username"]
    # Checking does not use the invite up.
    assert redeem(anonymous(app), created["invite"]["code"]).status_code == 200


def test_redeem_sets_the_pin_and_logs_the_member_in(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    username = created["enrolment"]["username"]
    phone = anonymous(app)
    response = redeem(phone, created["invite"]["code"])
    assert response.status_code == 200, response.json
    assert response.json["user"]["username"] == username
    assert response.json["user"]["role"] == "participant"
    assert response.json["csrf_token"]
    assert "pin" not in response.json and "password_hash" not in response.json["user"]

    me = phone.get("/api/me")
    assert me.status_code == 200
    assert (me.json["username"], me.json["role"]) == (username, "participant")
    # The token from the redeem response works for writes.
    assert phone.patch("/api/me", json={"language": "es"}).status_code == 200

    later = anonymous(app)
    login = later.login(username=username, password=PIN)
    assert login.status_code == 200, login.json
    assert later.get("/api/me").json["username"] == username
    assert anonymous(app).login(username=username, password="135792").status_code == 401


def test_staff_see_that_the_member_has_logged_in(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    enrolment_id = created["enrolment"]["id"]
    assert created["enrolment"]["has_logged_in"] is False
    redeem(anonymous(app), created["invite"]["code"])
    facilitator: ApiClient = as_role("facilitator")
    listed = facilitator.get(f"/api/enrolments/{enrolment_id}/invites").json
    assert [i["state"] for i in listed] == ["used"]
    assert listed[0]["used_at"] is not None
    assert facilitator.get(f"/api/enrolments/{enrolment_id}").json["has_logged_in"] is True


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower().replace("-", ""),
        lambda code: f"  {code[:4]} {code[5:]}  ".lower(),
        lambda code: code[:2] + "-" + code[2:4] + code[5:],
    ],
    ids=["lower-no-dash", "spaces", "dash-elsewhere"],
)
def test_code_is_case_insensitive_and_separators_are_optional(
    app: Flask, as_role: Any, frozen: datetime, typed: Any
) -> None:
    created = new_member(as_role)
    code = typed(created["invite"]["code"])
    assert anonymous(app).post("/api/invites/check", json={"code": code}).status_code == 200
    response = redeem(anonymous(app), code)
    assert response.status_code == 200, response.json
    assert response.json["user"]["username"] == created["enrolment"]["username"]


def test_a_passphrase_works_instead_of_a_pin(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    assert (
        redeem(anonymous(app), created["invite"]["code"], "river stones and tea").status_code == 200
    )
    username = created["enrolment"]["username"]
    assert (
        anonymous(app).login(username=username, password="river stones and tea").status_code == 200
    )


# --- codes that stop working -------------------------------------------------


def test_an_invite_works_only_once(app: Flask, as_role: Any, frozen: datetime) -> None:
    code = new_member(as_role)["invite"]["code"]
    assert redeem(anonymous(app), code).status_code == 200
    second = redeem(anonymous(app), code, "975318")
    assert_gone(second, "invite_used")
    assert second.json["error"]["message"]
    assert_gone(anonymous(app).post("/api/invites/check", json={"code": code}), "invite_used")


def test_a_used_invite_keeps_the_first_pin(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    code, username = created["invite"]["code"], created["enrolment"]["username"]
    redeem(anonymous(app), code)
    redeem(anonymous(app), code, "975318")
    assert anonymous(app).login(username=username, password="975318").status_code == 401
    assert anonymous(app).login(username=username, password=PIN).status_code == 200


def test_an_invite_works_until_just_before_it_expires(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    code = new_member(as_role)["invite"]["code"]
    timesource.advance(timedelta(days=14) - timedelta(minutes=1))
    assert redeem(anonymous(app), code).status_code == 200


def test_an_expired_invite_is_refused(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    code = created["invite"]["code"]
    timesource.advance(timedelta(days=14, minutes=1))
    assert_gone(anonymous(app).post("/api/invites/check", json={"code": code}), "invite_expired")
    assert_gone(redeem(anonymous(app), code), "invite_expired")
    facilitator: ApiClient = as_role("facilitator")  # logged in after the wait
    listed = facilitator.get(f"/api/enrolments/{created['enrolment']['id']}/invites").json
    assert [i["state"] for i in listed] == ["expired"]


def test_a_revoked_invite_is_refused(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    facilitator: ApiClient = as_role("facilitator")
    revoked = facilitator.post(f"/api/invites/{created['invite']['id']}/revoke")
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["state"] == "revoked" and revoked.json["revoked_at"] is not None
    assert "code" not in revoked.json
    assert_gone(redeem(anonymous(app), created["invite"]["code"]), "invite_revoked")


def test_a_used_invite_cannot_be_revoked(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    redeem(anonymous(app), created["invite"]["code"])
    response = as_role("facilitator").post(f"/api/invites/{created['invite']['id']}/revoke")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invite_used"


def test_reissuing_replaces_the_old_code(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    enrolment_id, old = created["enrolment"]["id"], created["invite"]
    timesource.advance(timedelta(days=3))
    facilitator: ApiClient = as_role("facilitator")  # a new session, days later
    response = facilitator.post(f"/api/enrolments/{enrolment_id}/invites")
    assert response.status_code == 201, response.json
    new = response.json
    assert CODE_RE.match(new["code"]) and new["code"] != old["code"]
    assert new["id"] != old["id"] and new["state"] == "pending"
    assert new["qr_svg"].startswith("<svg") and new["url"].endswith(f"/#/join/{new['code']}")
    assert datetime.fromisoformat(new["expires_at"]) == frozen + timedelta(days=17)

    assert_gone(redeem(anonymous(app), old["code"]), "invite_revoked")
    assert redeem(anonymous(app), new["code"]).status_code == 200


def test_invite_list_shows_states_and_never_a_code(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    enrolment_id = created["enrolment"]["id"]
    facilitator: ApiClient = as_role("facilitator")
    second = facilitator.post(f"/api/enrolments/{enrolment_id}/invites").json
    third = facilitator.post(f"/api/enrolments/{enrolment_id}/invites").json
    redeem(anonymous(app), third["code"])

    response = facilitator.get(f"/api/enrolments/{enrolment_id}/invites")
    assert response.status_code == 200
    listed = response.json
    assert [i["id"] for i in listed] == [third["id"], second["id"], created["invite"]["id"]]
    assert [i["state"] for i in listed] == ["used", "revoked", "revoked"]
    for item in listed:
        assert {"code", "url", "qr_svg"}.isdisjoint(item), item
        assert item["enrolment_id"] == enrolment_id
    for code in (created["invite"]["code"], second["code"], third["code"]):
        assert code not in response.get_data(as_text=True)


def test_unknown_code_is_not_found(app: Flask, as_role: Any, frozen: datetime) -> None:
    code = new_member(as_role)["invite"]["code"]
    for guess in (wrong_code(code), "not a code", "0000-1111"):
        for path in ("/api/invites/check", "/api/invites/redeem"):
            response = attempt(app, path, guess)
            assert response.status_code == 404, (path, guess, response.json)
            assert response.json["error"]["code"] == "invite_not_found"
    assert redeem(anonymous(app), code).status_code == 200


@pytest.mark.parametrize("weak", ["123456", "111111", "12345", "987654", "short"])
def test_weak_pin_is_refused_and_the_invite_stays_usable(
    app: Flask, as_role: Any, frozen: datetime, weak: str
) -> None:
    created = new_member(as_role)
    code = created["invite"]["code"]
    phone = anonymous(app)
    response = redeem(phone, code, weak)
    assert response.status_code == 422, response.json
    assert list(response.json["error"]["fields"]) == ["pin"]
    assert phone.get("/api/me").status_code == 401
    assert (
        anonymous(app).login(username=created["enrolment"]["username"], password=weak).status_code
        == 401
    )
    assert redeem(phone, code).status_code == 200


def test_redeem_needs_a_code_and_a_pin(app: Flask, as_role: Any, frozen: datetime) -> None:
    code = new_member(as_role)["invite"]["code"]
    response = anonymous(app).post("/api/invites/redeem", json={"code": code})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"pin"}
    assert redeem(anonymous(app), code).status_code == 200


def guesses(code: str, count: int) -> list[str]:
    """``count`` different well-formed codes, none of them ``code``."""
    found = []
    n = 0
    while len(found) < count:
        n += 1
        guess = f"{code[:4]}{ALPHABET[n // 30 % 30]}{ALPHABET[n % 30]}{code[-2:]}"
        if guess.replace("-", "") != code.replace("-", "") and guess not in found:
            found.append(guess)
    return found


def test_guessing_codes_is_rate_limited_per_address(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    code = new_member(as_role)["invite"]["code"]
    # 50 wrong guesses (the address's limit of misses), one every 15 seconds:
    # the last at 12:15 into the window.
    for n, guess in enumerate(guesses(code, 50)):
        if n:
            timesource.advance(timedelta(seconds=15))
        path = "/api/invites/check" if n % 2 else "/api/invites/redeem"
        response = attempt(app, path, guess)
        assert response.status_code == 404, (n, response.json)

    blocked = attempt(app, "/api/invites/check", wrong_code(code))
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "too_many_requests"
    assert blocked.headers["Retry-After"] == str(15 * 60 - (12 * 60 + 15))

    # Even the right code is refused while the window lasts (a guess that
    # happens to land must not be told so).
    timesource.advance(timedelta(minutes=2))
    right = redeem(anonymous(app), code)
    assert right.status_code == 429
    assert right.headers["Retry-After"] == "45"
    assert anonymous(app).post("/api/invites/check", json={"code": code}).status_code == 429

    timesource.advance(timedelta(seconds=45))  # 15 minutes after the first guess
    assert redeem(anonymous(app), code).status_code == 200


def test_right_codes_cost_an_address_nothing(app: Flask, as_role: Any, frozen: datetime) -> None:
    code = new_member(as_role)["invite"]["code"]
    for _ in range(19):  # checked again and again (the per-code limit is 20)
        assert attempt(app, "/api/invites/check", code).status_code == 200
    for guess in guesses(code, 49):  # and 49 misses: still under the address's 50
        assert attempt(app, "/api/invites/check", guess).status_code == 404
    assert redeem(anonymous(app), code).status_code == 200


def test_rate_limit_is_per_address(app: Flask, as_role: Any, frozen: datetime) -> None:
    code = new_member(as_role)["invite"]["code"]
    for guess in guesses(code, 50):
        anonymous(app).post(
            "/api/invites/check", json={"code": guess}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
        )
    blocked = anonymous(app).post(
        "/api/invites/check", json={"code": code}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    )
    assert blocked.status_code == 429
    elsewhere = anonymous(app).post(
        "/api/invites/redeem",
        json={"code": code, "pin": PIN},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert elsewhere.status_code == 200, elsewhere.json


def test_a_withdrawn_members_invite_no_longer_works(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    facilitator: ApiClient = as_role("facilitator")
    enrolment_id = created["enrolment"]["id"]
    response = facilitator.post(
        f"/api/enrolments/{enrolment_id}/withdraw", json={"reason": "Moved away"}
    )
    assert response.status_code == 200, response.json
    response = redeem(anonymous(app), created["invite"]["code"])
    assert response.status_code == 410
    assert response.json["error"]["code"] == "invite_revoked"
    assert_gone(
        anonymous(app).post("/api/invites/check", json={"code": created["invite"]["code"]}),
        "invite_revoked",
    )
    # And no new invite for someone who holds no place.
    reissue = facilitator.post(f"/api/enrolments/{enrolment_id}/invites")
    assert reissue.status_code == 409
    assert reissue.json["error"]["code"] == "not_current"


def test_a_waitlisted_member_can_redeem(app: Flask, as_role: Any, frozen: datetime) -> None:
    facilitator: ApiClient = as_role("facilitator")
    cohort_id = create_cohort(facilitator, capacity=1)["id"]
    enrol(facilitator, cohort_id, "Member A")
    waiting = enrol(facilitator, cohort_id, "Member B")
    assert waiting["enrolment"]["status"] == "waitlisted"
    assert redeem(anonymous(app), waiting["invite"]["code"]).status_code == 200


# --- who may manage invites --------------------------------------------------


def other_facilitator(app: Flask) -> ApiClient:
    with app.app_context():
        create_user("facilitator", "other.facilitator@test.example")
    c = ApiClient(app.test_client())
    assert c.login("other.facilitator@test.example").status_code == 200
    return c


def test_facilitator_of_another_cohort_cannot_see_or_manage_invites(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    enrolment_id, invite_id = created["enrolment"]["id"], created["invite"]["id"]
    outsider = other_facilitator(app)
    for response in (
        outsider.get(f"/api/enrolments/{enrolment_id}/invites"),
        outsider.post(f"/api/enrolments/{enrolment_id}/invites"),
        outsider.post(f"/api/invites/{invite_id}/revoke"),
    ):
        assert response.status_code == 404, response.request.path
        assert response.json["error"]["code"] == "not_found"
    # Nothing changed: the original code still works.
    assert redeem(anonymous(app), created["invite"]["code"]).status_code == 200


def test_supervisor_reads_invites_but_cannot_issue_or_revoke(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    created = new_member(as_role, supervisor_ids=[users["supervisor"]])
    enrolment_id, invite_id = created["enrolment"]["id"], created["invite"]["id"]
    supervisor: ApiClient = as_role("supervisor")
    listed = supervisor.get(f"/api/enrolments/{enrolment_id}/invites")
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json] == [invite_id]
    for response in (
        supervisor.post(f"/api/enrolments/{enrolment_id}/invites"),
        supervisor.post(f"/api/invites/{invite_id}/revoke"),
    ):
        assert response.status_code == 403, response.request.path
        assert response.json["error"]["code"] == "forbidden"
    assert redeem(anonymous(app), created["invite"]["code"]).status_code == 200


def test_participants_and_anonymous_cannot_manage_invites(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    enrolment_id, invite_id = created["enrolment"]["id"], created["invite"]["id"]
    member = anonymous(app)
    redeem(member, created["invite"]["code"])
    for response in (
        member.get(f"/api/enrolments/{enrolment_id}/invites"),
        member.post(f"/api/enrolments/{enrolment_id}/invites"),
        member.post(f"/api/invites/{invite_id}/revoke"),
    ):
        assert response.status_code == 403, response.request.path
    nobody = anonymous(app)
    for response in (
        nobody.get(f"/api/enrolments/{enrolment_id}/invites"),
        nobody.post(f"/api/enrolments/{enrolment_id}/invites"),
        nobody.post(f"/api/invites/{invite_id}/revoke"),
    ):
        assert response.status_code == 401, response.request.path


# --- audit ---------------------------------------------------------------------


def test_issue_revoke_and_redeem_are_audited(app: Flask, as_role: Any, frozen: datetime) -> None:
    created = new_member(as_role)
    facilitator: ApiClient = as_role("facilitator")
    first_id = created["invite"]["id"]
    facilitator.post(f"/api/invites/{first_id}/revoke")
    second = facilitator.post(f"/api/enrolments/{created['enrolment']['id']}/invites").json
    member = anonymous(app)
    redeem(member, second["code"])
    with app.app_context():
        events = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action.like("invite.%")).order_by(AuditEvent.id)
        ).all()
        rows = [(e.action, e.target_type, e.target_id, e.actor_id) for e in events]
    assert rows == [
        ("invite.issue", "invite", first_id, facilitator.user_id),
        ("invite.revoke", "invite", first_id, facilitator.user_id),
        ("invite.issue", "invite", second["id"], facilitator.user_id),
        ("invite.redeem", "invite", second["id"], member.user_id),
    ]


def test_redeeming_a_reissued_invite_ends_the_members_other_sessions(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    lost_phone = anonymous(app)
    redeem(lost_phone, created["invite"]["code"])
    reissued = (
        as_role("facilitator").post(f"/api/enrolments/{created['enrolment']['id']}/invites").json
    )
    new_phone = anonymous(app)
    assert redeem(new_phone, reissued["code"], "864209").status_code == 200
    assert new_phone.get("/api/me").status_code == 200
    assert lost_phone.get("/api/me").status_code == 401  # the lost phone is logged out
    username = created["enrolment"]["username"]
    assert anonymous(app).login(username=username, password=PIN).status_code == 401
    assert anonymous(app).login(username=username, password="864209").status_code == 200


def test_invite_state_after_a_move_matches_what_redeem_does(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    created = new_member(as_role)
    facilitator: ApiClient = as_role("facilitator")
    other_cohort = create_cohort(facilitator, name="Another group")["id"]
    enrolment_id = created["enrolment"]["id"]
    moved = facilitator.post(
        f"/api/enrolments/{enrolment_id}/move", json={"cohort_id": other_cohort}
    )
    assert moved.status_code == 200, moved.json
    listed = facilitator.get(f"/api/enrolments/{enrolment_id}/invites").json
    response = redeem(anonymous(app), created["invite"]["code"])
    # Staff must not be told a code is usable when the member will be refused.
    assert (listed[0]["state"] == "pending") == (response.status_code == 200), (
        listed[0]["state"],
        response.json,
    )
