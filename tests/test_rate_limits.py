"""Abuse limits: login, PIN and password checks (with a growing lockout), invite
redemption, the test push and writes in general.

Every limit answers 429 with ``Retry-After`` and the error envelope. Counters
live where every process sees them: most tests run twice, on the database store
and on Redis (``TEST_REDIS_URL``, e.g. ``redis://127.0.0.1:6379/15``; ``.ci/run``
sets it). Time moves with the frozen clock, never by sleeping.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ipt_groups import timesource
from ipt_groups.config import ConfigError, load_settings
from ipt_groups.extensions import db
from ipt_groups.models import RateCounter
from ipt_groups.services import throttle
from ipt_groups.services.invites import ALPHABET
from tests.conftest import PASSWORD, ApiClient, create_user, make_app
from tests.factories import create_cohort, enrol

FACILITATOR = "facilitator@test.example"


def new_app(app: Flask, **extra: Any) -> Flask:
    """Another app instance on the same database (another web process)."""
    return make_app(Path(app.instance_path).parent, **extra)


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (.ci/run sets redis://127.0.0.1:6379/15)")
    return url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys (and only those) are deleted after."""
    import redis

    url = redis_url()
    prefix = f"ipt-test-{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, app: Flask) -> dict[str, str]:
    """App config for one counter store: {} (the database) or Redis."""
    if request.param == "database":
        return {}
    prefix = request.getfixturevalue("redis_prefix")
    return {"RATELIMIT_STORAGE_URI": redis_url(), "RATELIMIT_KEY_PREFIX": prefix}


@pytest.fixture
def web(app: Flask, store: dict[str, str]) -> Flask:
    """The app with that store (a fresh instance, like one more web process)."""
    return new_app(app, **store) if store else app


def client_of(app: Flask) -> ApiClient:
    return ApiClient(app.test_client())


def logged_in(app: Flask, email: str | None = None, **kw: Any) -> ApiClient:
    c = client_of(app)
    response = c.login(email, **kw)
    assert response.status_code == 200, response.json
    return c


def assert_429(response: Any, retry_after: int) -> None:
    assert response.status_code == 429, response.json
    assert response.json == {
        "error": {
            "status": 429,
            "code": "too_many_requests",
            "message": "Too many requests. Try again later.",
        }
    }
    assert response.headers["Retry-After"] == str(retry_after)


def login(app: Flask, name: str, password: str, address: str = "192.0.2.10") -> Any:
    key = "email" if "@" in name else "username"
    return client_of(app).client.post(
        "/api/auth/login",
        json={key: name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail_logins(app: Flask, name: str, times: int) -> None:
    for _ in range(times):
        response = login(app, name, "not the password")
        assert response.status_code == 401, response.json
        assert response.json["error"]["code"] == "login_failed"


# -- login: the growing lockout -------------------------------------------------


def test_lockout_doubles_up_to_a_day() -> None:
    minutes = [throttle.lockout_for(n).total_seconds() / 60 for n in (1, 9, 10, 11, 12, 13, 20)]
    assert minutes == [0, 0, 1, 2, 4, 8, 1024]
    assert throttle.lockout_for(21) == timedelta(hours=24)  # 2048 min, capped
    assert throttle.lockout_for(500) == timedelta(hours=24)


def test_login_lockout_grows_and_a_success_resets_it(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    # Nine failures, then a new per-name window (the lockout remembers longer).
    fail_logins(web, FACILITATOR, 9)
    timesource.advance(timedelta(minutes=16))
    fail_logins(web, FACILITATOR, 1)  # the tenth in a row: locked for a minute
    # Even the right password is refused now, and not checked.
    assert_429(login(web, FACILITATOR, PASSWORD), 60)
    timesource.advance(timedelta(seconds=59))
    assert_429(login(web, FACILITATOR, PASSWORD), 1)
    timesource.advance(timedelta(seconds=1))
    fail_logins(web, FACILITATOR, 1)  # the eleventh: two minutes
    assert_429(login(web, FACILITATOR, PASSWORD, address="198.51.100.1"), 120)
    timesource.advance(timedelta(minutes=2))
    fail_logins(web, FACILITATOR, 1)  # the twelfth: four minutes
    assert_429(login(web, FACILITATOR, PASSWORD), 240)
    # Other accounts are not affected.
    assert login(web, "supervisor@test.example", PASSWORD).status_code == 200

    timesource.advance(timedelta(minutes=4))
    ok = login(web, FACILITATOR, PASSWORD)
    assert ok.status_code == 200 and ok.json["user"]["id"] == users["facilitator"]
    # The success reset the count: nine more failures lock nothing.
    timesource.advance(timedelta(minutes=16))  # a fresh per-name window
    fail_logins(web, FACILITATOR, 9)
    assert login(web, FACILITATOR, PASSWORD).status_code == 200


def test_failures_are_forgotten_two_days_after_the_last(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    fail_logins(web, FACILITATOR, 9)
    timesource.advance(timedelta(hours=47, minutes=59))
    fail_logins(web, FACILITATOR, 1)  # still counted: the tenth
    assert_429(login(web, FACILITATOR, PASSWORD), 60)
    timesource.advance(timedelta(hours=48))
    fail_logins(web, FACILITATOR, 9)  # counting from one again
    assert login(web, FACILITATOR, PASSWORD).status_code == 200


def test_a_locked_unknown_name_looks_exactly_like_a_real_account(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    names = (FACILITATOR, "nobody-here@test.example")
    seen: dict[str, list[tuple[int, Any, str | None]]] = {name: [] for name in names}

    def attempt(password: str) -> None:
        for name in names:
            r = login(web, name, password)
            seen[name].append((r.status_code, r.json, r.headers.get("Retry-After")))

    for _ in range(9):
        attempt("not the password")
    timesource.advance(timedelta(minutes=16))
    attempt("not the password")
    attempt(PASSWORD)  # locked, both
    timesource.advance(timedelta(seconds=60))
    attempt("still wrong")
    attempt(PASSWORD)

    real, unknown = seen[FACILITATOR], seen["nobody-here@test.example"]
    assert real == unknown
    assert [status for status, _, _ in real] == [401] * 10 + [429, 401, 429]
    assert [after for _, _, after in real][-3:] == ["60", None, "120"]


def test_login_limits_per_name_and_per_address_still_apply(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    # Per address: 50 attempts in 15 minutes, whatever the names.
    for n in range(50):
        assert login(web, f"someone-{n}@test.example", "guess").status_code == 401
    assert_429(login(web, FACILITATOR, PASSWORD), 15 * 60)
    assert login(web, FACILITATOR, PASSWORD, address="198.51.100.2").status_code == 200
    # Per name: the eleventh attempt on one name in 15 minutes, from anywhere.
    for n in range(10):
        login(web, "supervisor@test.example", "guess", address=f"203.0.113.{n}")
    timesource.advance(timedelta(minutes=5))
    assert_429(login(web, "supervisor@test.example", PASSWORD, address="203.0.113.99"), 600)


# -- checking the current PIN or password --------------------------------------


def test_pin_change_shares_the_lockout_with_login(web: Flask, frozen: datetime) -> None:
    with web.app_context():
        member = create_user("participant", username="member-two", password="482915")
        member_id = member.id
    phone = logged_in(web, username="member-two", password="482915")

    def change(current: str, new: str = "907153") -> Any:
        return phone.post(
            "/api/me/password", json={"current_password": current, "new_password": new}
        )

    for _ in range(10):  # someone holding the unlocked phone guesses the PIN
        wrong = change("111222")
        assert wrong.status_code == 422
        assert list(wrong.json["error"]["fields"]) == ["current_password"]
    assert_429(change("482915"), 60)  # locked: the right PIN is not even checked
    assert_429(login(web, "member-two", "482915"), 60)  # and logging in is locked too

    timesource.advance(timedelta(minutes=1))
    assert change("482915").status_code == 204
    # The success reset the count; the new PIN logs in.
    again = login(web, "member-two", "907153")
    assert again.status_code == 200 and again.json["user"]["id"] == member_id


def test_a_reissued_invite_lifts_a_members_lockout(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    created = enrol(fac, create_cohort(fac)["id"])
    joined = client_of(app).post(
        "/api/invites/redeem", json={"code": created["invite"]["code"], "pin": "482915"}
    )
    assert joined.status_code == 200
    username = created["enrolment"]["username"]
    # Ten wrong PINs from ten addresses within one window: the per-name limit
    # and the lockout both hold the name.
    for n in range(10):
        assert login(app, username, "000111", address=f"192.0.2.{n}").status_code == 401
    timesource.advance(timedelta(seconds=1))
    assert_429(login(app, username, "482915"), 15 * 60 - 1)

    reissued = fac.post(f"/api/enrolments/{created['enrolment']['id']}/invites")
    assert reissued.status_code == 201
    redeemed = client_of(app).post(
        "/api/invites/redeem", json={"code": reissued.json["code"], "pin": "731864"}
    )
    assert redeemed.status_code == 200, redeemed.json
    # A normal login, from a device that has never logged in (no device cookie):
    # the redemption lifted the name's lockout and its per-name count.
    assert login(app, username, "731864").status_code == 200


# -- device cookies: the member's own phone is not locked out by strangers ------


def device_of(response: Any) -> str:
    """The device cookie a login or redemption set."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ipt_device=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0].split(";", 1)[0].split("=", 1)[1]


def login_with(
    app: Flask, name: str, password: str, device: str | None, address: str = "192.0.2.10"
) -> Any:
    c = client_of(app)
    if device is not None:
        c.client.set_cookie("ipt_device", device, path="/api/auth")
    return c.client.post(
        "/api/auth/login",
        json={"username": name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def lock_from_elsewhere(app: Flask, name: str) -> None:
    for n in range(10):  # ten addresses, one wrong PIN each (later ones may meet the lock)
        assert login(app, name, "000000", address=f"203.0.113.{n}").status_code in (401, 429)
    assert login(app, name, "482915", address="203.0.113.99").status_code == 429


def test_the_members_own_phone_logs_in_while_strangers_lock_the_name(
    web: Flask, frozen: datetime
) -> None:
    with web.app_context():
        create_user("participant", username="slate-3022", password="482915")
    first = login(web, "slate-3022", "482915", address="198.51.100.7")
    assert first.status_code == 200
    cookie = next(c for c in first.headers.getlist("Set-Cookie") if c.startswith("ipt_device="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/api/auth" in cookie
    assert "Max-Age=31536000" in cookie  # a year
    phone = device_of(first)

    for _ in range(3):  # repeated every 15 minutes, indefinitely
        timesource.advance(timedelta(minutes=15))
        lock_from_elsewhere(web, "slate-3022")
        # Without the cookie the name stays held back...
        assert login(web, "slate-3022", "482915", address="198.51.100.7").status_code == 429
        # ...but the member's phone, with its cookie, logs in with the right PIN.
        ok = login_with(web, "slate-3022", "482915", phone, address="198.51.100.7")
        assert ok.status_code == 200, ok.json
        phone = device_of(ok)  # a fresh nonce with every success


def test_a_known_devices_failures_count_against_that_device_only(
    web: Flask, frozen: datetime
) -> None:
    with web.app_context():
        create_user("participant", username="slate-3022", password="482915")
    phone = device_of(login(web, "slate-3022", "482915"))
    for _ in range(10):  # someone with the phone guesses
        assert login_with(web, "slate-3022", "111111", phone).status_code == 401
    assert_429(login_with(web, "slate-3022", "482915", phone), 15 * 60)
    # The name is not locked for everyone else (another device of the member's).
    assert login(web, "slate-3022", "482915", address="198.51.100.8").status_code == 200
    # The phone's own lockout still grows like the name's would.
    timesource.advance(timedelta(minutes=15))
    assert login_with(web, "slate-3022", "111111", phone).status_code == 401  # 11th in a row
    assert_429(login_with(web, "slate-3022", "482915", phone), 120)


def test_a_forged_or_another_accounts_device_cookie_does_not_bypass(
    web: Flask, frozen: datetime
) -> None:
    with web.app_context():
        create_user("participant", username="slate-3022", password="482915")
        create_user("participant", username="river-1187", password="604213")
    mine = device_of(login(web, "slate-3022", "482915"))
    other = device_of(login(web, "river-1187", "604213"))
    lock_from_elsewhere(web, "slate-3022")
    from itsdangerous import URLSafeSerializer

    forged = [
        other,  # a real device cookie, for another account
        mine[:-2] + ("AA" if mine[-2:] != "AA" else "BB"),  # altered signature
        URLSafeSerializer("not-our-key", salt="ipt-device-cookie").dumps([["x", "y", 0]]),
        "garbage",
    ]
    for cookie in forged:
        assert_429(login_with(web, "slate-3022", "482915", cookie), 15 * 60)
    with web.app_context():  # signed with our key but naming slate-3022 in the clear
        plain = URLSafeSerializer(web.config["SECRET_KEY"], salt="x").dumps([["slate-3022"]])
    assert_429(login_with(web, "slate-3022", "482915", plain), 15 * 60)
    # The real one still works; a year later it has expired.
    assert login_with(web, "slate-3022", "482915", mine).status_code == 200
    timesource.advance(timedelta(days=366))
    lock_from_elsewhere(web, "slate-3022")
    assert_429(login_with(web, "slate-3022", "482915", mine), 15 * 60)


def test_redeeming_an_invite_makes_the_phone_a_known_device(
    app: Flask, as_role: Any, frozen: datetime
) -> None:
    fac: ApiClient = as_role("facilitator")
    created = enrol(fac, create_cohort(fac)["id"])
    joined = client_of(app).client.post(
        "/api/invites/redeem", json={"code": created["invite"]["code"], "pin": "482915"}
    )
    assert joined.status_code == 200
    username = created["enrolment"]["username"]
    lock_from_elsewhere(app, username)
    assert login_with(app, username, "482915", device_of(joined)).status_code == 200


# -- invites ---------------------------------------------------------------------


def code_number(n: int) -> str:
    """The n-th well-formed code (none of them issued: issued codes are random)."""
    chars = []
    for _ in range(8):
        n, digit = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def check(app: Flask, code: str, address: str) -> Any:
    return client_of(app).client.post(
        "/api/invites/check", json={"code": code}, environ_base={"REMOTE_ADDR": address}
    )


def test_invite_attempts_are_limited_per_code(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    code = code_number(7)
    for n in range(20):  # twenty addresses try the same code
        assert check(web, code, f"192.0.2.{n}").json["error"]["code"] == "invite_not_found"
    timesource.advance(timedelta(minutes=3))
    assert_429(check(web, code, "198.51.100.50"), 12 * 60)
    # The same address may still try another code.
    other = check(web, code_number(8), "198.51.100.50")
    assert other.status_code == 404


def mistype(code: str) -> str:
    """The code with one character changed (as a person might misread it)."""
    wrong = ALPHABET[(ALPHABET.index(code[-1]) + 1) % len(ALPHABET)]
    return code[:-1] + wrong


def test_a_clinic_room_behind_one_address_enrols_a_whole_group(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    fac = logged_in(web, FACILITATOR)
    cohort = create_cohort(fac)["id"]
    codes = [enrol(fac, cohort, f"Member {n}")["invite"]["code"] for n in range(14)]
    room = "192.0.2.200"  # the clinic's one NAT address
    for code in codes:
        typo = check(web, mistype(code.replace("-", "")), room)
        assert typo.status_code == 404, typo.json
        assert check(web, code, room).status_code == 200
        joined = client_of(web).client.post(
            "/api/invites/redeem",
            json={"code": code, "pin": "482915"},
            environ_base={"REMOTE_ADDR": room},
        )
        assert joined.status_code == 200, joined.json


def test_guessing_codes_from_one_address_is_still_refused(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    fac = logged_in(web, FACILITATOR)
    created = enrol(fac, create_cohort(fac)["id"])
    for n in range(50):  # fifty wrong codes in a window...
        assert check(web, code_number(n), "203.0.113.7").status_code == 404
    timesource.advance(timedelta(minutes=1))
    assert_429(check(web, code_number(50), "203.0.113.7"), 14 * 60)
    # ...and then even a right code is refused from there (no oracle for a guesser),
    assert_429(check(web, created["invite"]["code"], "203.0.113.7"), 14 * 60)
    # while other addresses are served as usual.
    assert check(web, created["invite"]["code"], "198.51.100.3").status_code == 200
    timesource.advance(timedelta(minutes=14))
    assert check(web, code_number(51), "203.0.113.7").status_code == 404


def test_a_spread_out_guesser_cannot_lock_real_members_out(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    fac = logged_in(web, FACILITATOR)
    created = enrol(fac, create_cohort(fac)["id"])
    # Ten addresses, twenty misses each: the clinic-wide alarm (200 misses) goes off.
    n = 0
    for host in range(10):
        for _ in range(20):
            n += 1
            assert check(web, code_number(n), f"203.0.113.{host}").status_code == 404
    assert_429(check(web, code_number(0), "203.0.113.0"), 15 * 60)  # its own limit
    timesource.advance(timedelta(minutes=5))

    # Under the alarm, an address that has missed is refused until its window ends...
    assert_429(check(web, code_number(999), "203.0.113.5"), 10 * 60)
    # ...and a new address gets one miss, not twenty.
    assert check(web, code_number(1000), "198.51.100.9").status_code == 404
    timesource.advance(timedelta(seconds=30))
    assert_429(check(web, code_number(1001), "198.51.100.9"), 15 * 60 - 30)

    # A member typing the code from paper, from an address with no miss, gets in.
    member = client_of(web).client.post(
        "/api/invites/redeem",
        json={"code": created["invite"]["code"], "pin": "482915"},
        environ_base={"REMOTE_ADDR": "198.51.100.77"},
    )
    assert member.status_code == 200, member.json
    assert member.json["user"]["username"] == created["enrolment"]["username"]


# -- the test push -------------------------------------------------------------


def assert_no_device(response: Any) -> None:
    # Got past the limit: the send itself answers (these accounts have no device).
    assert response.status_code == 409, response.json
    assert response.json["error"]["message"] == (
        "This account has no device set up for notifications."
    )


def test_push_test_is_limited_per_user(web: Flask, users: dict[str, int], frozen: datetime) -> None:
    fac = logged_in(web, FACILITATOR)
    for _ in range(5):  # every call counts, even one that finds no device
        assert_no_device(fac.post("/api/push/test"))
    timesource.advance(timedelta(minutes=4))
    assert_429(fac.post("/api/push/test"), 6 * 60)
    # Another user has their own budget.
    assert_no_device(logged_in(web, "admin@test.example").post("/api/push/test"))
    timesource.advance(timedelta(minutes=6))
    assert_no_device(fac.post("/api/push/test"))


def test_counters_are_shared_by_two_app_instances(
    app: Flask, store: dict[str, str], users: dict[str, int], frozen: datetime
) -> None:
    one, two = new_app(app, **store), new_app(app, **store)
    on_one, on_two = logged_in(one, FACILITATOR), logged_in(two, FACILITATOR)
    for c in (on_one, on_two, on_one, on_two, on_one):
        assert_no_device(c.post("/api/push/test"))
    assert_429(on_two.post("/api/push/test"), 600)
    assert_429(on_one.post("/api/push/test"), 600)
    # The lockout: failures through either instance add up to ten in a row.
    for instance in (one, two, one, two, one, two, one, two, one):
        assert login(instance, "admin@test.example", "wrong").status_code == 401
    timesource.advance(timedelta(minutes=16))  # past the per-name window
    assert login(two, "admin@test.example", "wrong").status_code == 401
    assert_429(login(one, "admin@test.example", PASSWORD), 60)


# -- writes in general ---------------------------------------------------------


def small_limits(app: Flask, store: dict[str, str]) -> Flask:
    return new_app(
        app,
        RATELIMIT_WRITES_PER_USER=5,
        RATELIMIT_WRITES_PER_ADDRESS=4,
        RATELIMIT_WRITES_WINDOW_SECONDS=60,
        **store,
    )


def test_writes_are_limited_per_user(
    app: Flask, store: dict[str, str], users: dict[str, int], frozen: datetime
) -> None:
    web = small_limits(app, store)
    fac = logged_in(web, FACILITATOR)
    for n in range(5):
        renamed = fac.patch("/api/me", json={"display_name": f"Fac {n}"})
        assert renamed.status_code == 200 and renamed.json["display_name"] == f"Fac {n}"
    timesource.advance(timedelta(seconds=20))
    assert_429(fac.patch("/api/me", json={"display_name": "Too many"}), 40)
    assert fac.get("/api/me").json["display_name"] == "Fac 4"  # reads go on; nothing written
    other = logged_in(web, "supervisor@test.example")  # has a budget of their own
    assert other.patch("/api/me", json={"display_name": "Sup"}).status_code == 200
    timesource.advance(timedelta(seconds=40))
    assert fac.patch("/api/me", json={"display_name": "Later"}).status_code == 200


def test_a_write_refused_by_the_limit_keeps_its_idempotency_key_usable(
    app: Flask, store: dict[str, str], users: dict[str, int], frozen: datetime
) -> None:
    web = small_limits(app, store)
    fac = logged_in(web, FACILITATOR)
    for n in range(5):
        assert fac.patch("/api/me", json={"display_name": f"Fac {n}"}).status_code == 200
    queued = {"json": {"display_name": "From the outbox"}, "headers": {"Idempotency-Key": "k" * 16}}
    assert_429(fac.patch("/api/me", **queued), 60)
    timesource.advance(timedelta(minutes=1))
    applied = fac.patch("/api/me", **queued)  # applied now, not a replayed 429
    assert applied.status_code == 200 and "Idempotent-Replayed" not in applied.headers
    assert applied.json["display_name"] == "From the outbox"


def test_anonymous_writes_are_limited_per_address(
    app: Flask, store: dict[str, str], frozen: datetime
) -> None:
    web = small_limits(app, store)

    def logout(address: str) -> Any:
        return client_of(web).client.post("/api/auth/logout", environ_base={"REMOTE_ADDR": address})

    for _ in range(4):
        assert logout("192.0.2.77").status_code == 204
    assert_429(logout("192.0.2.77"), 60)
    assert logout("192.0.2.78").status_code == 204


def test_the_default_write_limit_lets_an_outbox_of_a_hundred_through(
    web: Flask, users: dict[str, int], frozen: datetime
) -> None:
    fac = logged_in(web, FACILITATOR)
    for n in range(120):
        response = fac.patch(
            "/api/me",
            json={"display_name": f"Offline write {n}"},
            headers={"Idempotency-Key": f"outbox-{n:04d}"},
        )
        assert response.status_code == 200, (n, response.json)
    assert web.config["RATELIMIT_WRITES_PER_USER"] == 600
    assert web.config["RATELIMIT_WRITES_WINDOW_SECONDS"] == 300


def test_write_limits_must_be_positive(app: Flask) -> None:
    with pytest.raises(ConfigError, match="RATELIMIT_WRITES_PER_USER"):
        new_app(app, RATELIMIT_WRITES_PER_USER=0)
    with pytest.raises(ConfigError, match="RATELIMIT_WRITES_WINDOW_SECONDS"):
        new_app(app, RATELIMIT_WRITES_WINDOW_SECONDS=7 * 24 * 3600)


# -- the stores ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "http://127.0.0.1:6379/0",
        "memcached://cache:11211",
        "unix:///run/redis.sock",
        "redis:/127.0.0.1",
        "redis:/:s3cret-pass@cache/0",
        "redis://:s3cret-pass@/0",
        "redis://:s3cret-pass@cache:notaport/0",
        "redis://cache:6379/zero",
    ],
)
def test_storage_uri_is_parsed_strictly_and_never_echoes_a_password(
    raw: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI") as err:
        load_settings({"APP_ENV": "test", "RATELIMIT_STORAGE_URI": raw}, tmp_path)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("  ", None),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("REDISS://:pw@cache.example:6380", "rediss://:pw@cache.example:6380"),
    ],
)
def test_storage_uri_accepts_redis_urls_or_nothing(
    raw: str, expected: str | None, tmp_path: Path
) -> None:
    settings = load_settings({"APP_ENV": "test", "RATELIMIT_STORAGE_URI": raw}, tmp_path)
    assert settings.flask_config()["RATELIMIT_STORAGE_URI"] == expected


def test_redis_keeps_the_counters_and_only_hashes_of_subjects(
    app: Flask, redis_prefix: str, users: dict[str, int], frozen: datetime
) -> None:
    import redis

    web = new_app(app, RATELIMIT_STORAGE_URI=redis_url(), RATELIMIT_KEY_PREFIX=redis_prefix)
    fail_logins(web, FACILITATOR, 3)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RateCounter)) == 0
    client = redis.Redis.from_url(redis_url())
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{redis_prefix}*"))
    client.close()
    names = sorted(k.removeprefix(redis_prefix).rsplit(":", 1)[0] for k in keys)
    assert names == ["lockout", "login:addr", "login:name", "writes:addr"]
    assert not any("facilitator" in k or "192.0.2" in k for k in keys)


def test_redis_counts_every_concurrent_hit_exactly_once(
    app: Flask, redis_prefix: str, frozen: datetime
) -> None:
    web = new_app(app, RATELIMIT_STORAGE_URI=redis_url(), RATELIMIT_KEY_PREFIX=redis_prefix)
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with web.app_context():
            for _ in range(50):
                hits = throttle.store().incr(
                    "race", timedelta(minutes=1), timesource.utcnow(), restart=False
                )
                with lock:
                    seen.append(hits.hits)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 401))


def test_an_unreachable_redis_answers_503_not_a_traceback(
    app: Flask, users: dict[str, int]
) -> None:
    web = new_app(app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    response = login(web, FACILITATOR, PASSWORD)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "30"


def test_prune_deletes_only_counters_no_window_still_needs(app: Flask, frozen: datetime) -> None:
    with app.app_context():
        db.session.add_all(
            [
                RateCounter(key="old", window_start=frozen - timedelta(hours=49), hits=3),
                RateCounter(
                    key="lockout:recent", window_start=frozen - timedelta(hours=47), hits=12
                ),
            ]
        )
        db.session.commit()
        assert throttle.prune(timesource.utcnow()) == 1
        db.session.commit()
        assert db.session.scalars(select(RateCounter.key)).all() == ["lockout:recent"]


def test_the_clock_prunes_counters_no_window_can_need(
    app: Flask, users: dict[str, int], frozen: datetime
) -> None:
    """The database store's rows are pruned by the clock (Redis expires its own)."""
    from ipt_groups.clock import prune

    web = app
    fail_logins(web, FACILITATOR, 3)
    with web.app_context():
        kept = db.session.scalar(select(func.count()).select_from(RateCounter))
        assert kept > 0
        prune()  # everything is minutes old: nothing goes
        assert db.session.scalar(select(func.count()).select_from(RateCounter)) == kept
    timesource.advance(timedelta(days=2, minutes=1))
    with web.app_context():
        prune()
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(RateCounter)) == 0
