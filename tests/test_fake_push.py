"""The fake Web Push service, driven over real HTTP by pywebpush and requests."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from py_vapid.jwt import sign as jwt_sign
from pywebpush import WebPusher, WebPushException, webpush

from tests.fake_push import FakePushService, Received

REPO_ROOT = Path(__file__).resolve().parent.parent
SUB = "mailto:ops@example.org"


@dataclass
class Keys:
    vapid: Vapid
    private: str  # raw 32-byte scalar, base64url, no padding
    public: str  # uncompressed point, base64url, no padding


def make_keys() -> Keys:
    v = Vapid()
    v.generate_keys()
    private = (
        base64.urlsafe_b64encode(v.private_key.private_numbers().private_value.to_bytes(32, "big"))
        .rstrip(b"=")
        .decode()
    )
    public = (
        base64.urlsafe_b64encode(
            v.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        .rstrip(b"=")
        .decode()
    )
    return Keys(v, private, public)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture
def svc(keys: Keys) -> Iterator[FakePushService]:
    with FakePushService(vapid_public_key=keys.public) as service:
        yield service


def push(sub: dict, keys: Keys, data: str = '{"hello": "world"}', **kw: Any) -> requests.Response:
    """pywebpush's one-call API; a fresh claims dict each time (webpush mutates it)."""
    kw.setdefault("ttl", 60)
    return webpush(sub, data=data, vapid_private_key=keys.private, vapid_claims={"sub": SUB}, **kw)


def vapid_auth(keys: Keys, claims: dict, k: str | None = None) -> str:
    """A hand-made ``vapid t=..,k=..`` header (py_vapid.jwt.sign skips claim checks)."""
    token = jwt_sign(claims, keys.vapid.private_key)
    return f"vapid t={token},k={k or keys.public}"


def send_raw(sub: dict, headers: dict[str, str], data: bytes = b"hi", ttl: int = 60) -> Any:
    """Encrypt with pywebpush but send our own headers, without raising on errors."""
    return WebPusher(sub).send(data, dict(headers), ttl=ttl)


def encrypted_body(sub: dict, data: bytes = b"hi") -> bytes:
    return WebPusher(sub).encode(data, "aes128gcm")["body"]


def good_claims(svc: FakePushService, **over: Any) -> dict:
    claims = {"aud": svc.origin, "exp": int(time.time()) + 3600, "sub": SUB}
    claims.update(over)
    return claims


# ------------------------------------------------------------------ happy path


def test_message_is_received_and_decrypted(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    assert sub["endpoint"].startswith(svc.origin + "/push/")
    message = {"title": "Session tomorrow", "body": "18:00, room 2", "n": 1}
    data = json.dumps(message)

    resp = push(sub, keys, data=data, headers={"Urgency": "normal", "Topic": "abc"})

    assert resp.status_code == 201
    assert resp.headers["Location"].startswith(svc.origin + "/message/")
    assert svc.wait_for(1, timeout=5)
    [got] = svc.received
    assert isinstance(got, Received)
    assert got.endpoint == sub["endpoint"]
    assert got.subscription_id == sub["endpoint"].rsplit("/", 1)[1]
    assert got.payload == data.encode()
    assert got.json == message
    assert (got.ttl, got.urgency, got.topic) == (60, "normal", "abc")
    assert got.claims["aud"] == svc.origin
    assert got.claims["sub"] == SUB
    assert got.claims["exp"] > time.time()
    assert svc.count_ok == 1
    assert svc.count_rejected == 0
    assert svc.attempts == [(got.subscription_id, 201, "created")]


def test_vapid_object_session_keepalive_and_non_json(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    with requests.Session() as session:
        for i in range(3):
            resp = webpush(
                sub,
                data=f"plain text {i}",
                vapid_private_key=keys.vapid,
                vapid_claims={"sub": "https://example.org"},
                ttl=0,
                requests_session=session,
            )
            assert resp.status_code == 201
    assert [r.payload for r in svc.received] == [b"plain text 0", b"plain text 1", b"plain text 2"]
    assert all(r.json is None and r.ttl == 0 and r.urgency is None for r in svc.received)
    assert svc.count_connections == 1  # HTTP/1.1 keep-alive: one connection reused


def test_space_after_comma_in_authorization_is_accepted(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    auth = vapid_auth(keys, good_claims(svc)).replace(",k=", ", k=")
    assert send_raw(sub, {"Authorization": auth}).status_code == 201
    assert svc.received[0].payload == b"hi"


def test_same_token_is_reused_from_cache_but_exp_is_rechecked(keys: Keys) -> None:
    clock = [time.time()]
    with FakePushService(vapid_public_key=keys.public, now=lambda: clock[0]) as svc:
        sub = svc.new_subscription()
        auth = vapid_auth(keys, good_claims(svc, exp=int(clock[0]) + 600))
        assert send_raw(sub, {"Authorization": auth}).status_code == 201
        assert send_raw(sub, {"Authorization": auth}).status_code == 201
        clock[0] += 601
        resp = send_raw(sub, {"Authorization": auth})
        assert resp.status_code == 403
        assert "expired" in resp.text
        assert svc.count_ok == 2


# ------------------------------------------------------------------------ VAPID


def test_wrong_vapid_key_pair_is_403(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    with pytest.raises(WebPushException) as err:
        push(sub, make_keys())
    assert err.value.status_code == 403
    assert svc.received == []
    assert svc.attempts[-1].status == 403


def test_signature_by_another_key_claiming_ours_is_403(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    forged = vapid_auth(make_keys(), good_claims(svc), k=keys.public)
    resp = send_raw(sub, {"Authorization": forged})
    assert resp.status_code == 403
    assert "signature" in resp.text
    assert svc.received == []


@pytest.mark.parametrize(
    "override",
    [
        {"aud": "https://fcm.googleapis.com"},
        {"aud": "ORIGIN/"},
        {"exp": int(time.time()) - 10},
        {"exp": int(time.time()) + 25 * 3600},
        {"exp": "9999999999"},
        {"sub": "foo"},
        {"sub": None},
    ],
    ids=["other-aud", "aud-slash", "expired", "exp-too-far", "exp-string", "sub-foo", "no-sub"],
)
def test_bad_claims_are_403(svc: FakePushService, keys: Keys, override: dict) -> None:
    sub = svc.new_subscription()
    claims = good_claims(svc)
    for name, value in override.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value.replace("ORIGIN", svc.origin) if name == "aud" else value
    resp = send_raw(sub, {"Authorization": vapid_auth(keys, claims)})
    assert resp.status_code == 403, resp.text
    assert svc.received == []
    assert svc.count_rejected == 1


def test_expired_exp_through_pywebpush_is_403(svc: FakePushService, keys: Keys) -> None:
    # pywebpush replaces an exp already in the past, so sign the expired token ourselves
    # with py_vapid's normal API and hand pywebpush the ready header.
    sub = svc.new_subscription()
    headers = keys.vapid.sign(good_claims(svc, exp=int(time.time()) - 1))
    with pytest.raises(WebPushException) as err:
        webpush(sub, data="x", headers=headers, ttl=60)
    assert err.value.status_code == 403


@pytest.mark.parametrize(
    "auth",
    [None, "", "WebPush abc.def.ghi", "vapid t=abc", "vapid k=KEY", "Bearer t=x,k=KEY"],
)
def test_missing_or_malformed_authorization_is_401(
    svc: FakePushService, keys: Keys, auth: str | None
) -> None:
    sub = svc.new_subscription()
    headers = {"TTL": "60", "Content-Encoding": "aes128gcm"}
    if auth is not None:
        headers["Authorization"] = auth.replace("KEY", keys.public)
    resp = requests.post(sub["endpoint"], data=encrypted_body(sub), headers=headers, timeout=5)
    assert resp.status_code == 401
    assert svc.received == []


def test_garbage_jwt_and_wrong_alg_are_403(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    for token in ("not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."):
        resp = send_raw(sub, {"Authorization": f"vapid t={token},k={keys.public}"})
        assert resp.status_code == 403, token
    assert svc.count_rejected == 3


def test_no_configured_key_skips_signature_but_checks_claims() -> None:
    stranger = make_keys()
    with FakePushService(vapid_public_key=None) as svc:
        sub = svc.new_subscription()
        assert push(sub, stranger).status_code == 201
        bad = vapid_auth(stranger, good_claims(svc, aud="https://elsewhere.example.org"))
        assert send_raw(sub, {"Authorization": bad}).status_code == 403
        assert svc.count_ok == 1


# ------------------------------------------------------------- headers and body


def _headers(keys: Keys, svc: FakePushService, **over: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "Authorization": vapid_auth(keys, good_claims(svc)),
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
    }
    headers.update(over)
    return {k: v for k, v in headers.items() if v is not None}


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"TTL": None}, 400),
        ({"TTL": "-1"}, 400),
        ({"TTL": "soon"}, 400),
        ({"Content-Encoding": "aesgcm"}, 415),
        ({"Content-Encoding": None}, 415),
        ({"Topic": "x" * 33}, 400),
        ({"Topic": "not/base64"}, 400),
        ({"Urgency": "urgent"}, 400),
        ({"Topic": "A-b_9" * 6, "Urgency": "very-low"}, 201),
    ],
    ids=[
        "no-ttl",
        "negative-ttl",
        "word-ttl",
        "aesgcm",
        "no-encoding",
        "long-topic",
        "topic-alphabet",
        "bad-urgency",
        "ok",
    ],
)
def test_header_checks(
    svc: FakePushService, keys: Keys, over: dict[str, str | None], status: int
) -> None:
    sub = svc.new_subscription()
    resp = requests.post(
        sub["endpoint"], data=encrypted_body(sub), headers=_headers(keys, svc, **over), timeout=5
    )
    assert resp.status_code == status, resp.text
    assert len(svc.received) == (1 if status == 201 else 0)


def test_body_over_4096_bytes_is_413(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    resp = requests.post(
        sub["endpoint"], data=os.urandom(4097), headers=_headers(keys, svc), timeout=5
    )
    assert resp.status_code == 413


def test_undecryptable_bodies_are_400(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    other = svc.new_subscription()
    for body in (b"", os.urandom(200), encrypted_body(other)):
        resp = requests.post(sub["endpoint"], data=body, headers=_headers(keys, svc), timeout=5)
        assert resp.status_code == 400, body[:10]
        assert "decrypt" in resp.text
    assert svc.received == []


# ------------------------------------------------------- 404, scripts and gone


def test_unknown_subscription_is_404(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    sub["endpoint"] = svc.origin + "/push/nobody-here"
    with pytest.raises(WebPushException) as err:
        push(sub, keys)
    assert err.value.status_code == 404
    assert svc.attempts == [("nobody-here", 404, "no such subscription")]


def test_scripted_429_with_retry_after_then_201(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    svc.script(sub["endpoint"], 429, 201, retry_after="7")

    with pytest.raises(WebPushException) as err:
        push(sub, keys, data="first")
    assert err.value.status_code == 429
    assert err.value.retry_after == "7"
    assert svc.received == []

    assert push(sub, keys, data="second").status_code == 201  # the scripted 201
    assert push(sub, keys, data="third").status_code == 201  # queue empty: normal
    assert [r.payload for r in svc.received] == [b"second", b"third"]
    assert [a.status for a in svc.attempts] == [429, 201, 201]
    assert (svc.count_ok, svc.count_rejected) == (2, 1)


def test_scripted_410_once_then_normal(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    svc.script(sub["endpoint"], 410)
    with pytest.raises(WebPushException) as err:
        push(sub, keys)
    assert err.value.status_code == 410
    assert err.value.retry_after is None
    assert push(sub, keys).status_code == 201


def test_gone_is_410_every_time(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    keep = svc.new_subscription()
    svc.gone(sub["endpoint"])
    for _ in range(3):
        with pytest.raises(WebPushException) as err:
            push(sub, keys)
        assert err.value.status_code == 410
    assert push(keep, keys).status_code == 201
    assert [a.status for a in svc.attempts] == [410, 410, 410, 201]


def test_clear_forgets_records_but_keeps_subscriptions(svc: FakePushService, keys: Keys) -> None:
    sub = svc.new_subscription()
    push(sub, keys)
    svc.clear()
    assert (svc.received, svc.attempts, svc.count_ok, svc.count_rejected) == ([], [], 0, 0)
    assert push(sub, keys).status_code == 201
    assert svc.wait_for(1, timeout=5)


def test_not_recording_payloads_still_counts(keys: Keys) -> None:
    with FakePushService(vapid_public_key=keys.public, record_payloads=False) as svc:
        sub = svc.new_subscription()
        for _ in range(2):
            assert push(sub, keys).status_code == 201
        assert svc.wait_for(2, timeout=5)
        assert svc.received == []
        assert svc.count_ok == 2
        assert not svc.wait_for(3, timeout=0.05)


# ---------------------------------------------------------------- concurrency


def test_latency_does_not_serialise_requests(keys: Keys) -> None:
    with FakePushService(vapid_public_key=keys.public, latency=0.3) as svc:
        subs = [svc.new_subscription() for _ in range(2)]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def send(sub: dict) -> None:
            barrier.wait()
            statuses.append(push(sub, keys).status_code)

        threads = [threading.Thread(target=send, args=(s,)) for s in subs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert statuses == [201, 201]
        assert svc.peak_in_flight == 2
        assert svc.in_flight == 0


# ------------------------------------------------------------------ standalone


def test_standalone_process(tmp_path: Path, keys: Keys) -> None:
    out = tmp_path / "subs.json"
    cmd = [
        sys.executable,
        "-m",
        "tests.fake_push",
        "--public-key",
        keys.public,
        "--latency",
        "0",
        "--subscriptions",
        "3",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not out.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "fake push service did not start"
            time.sleep(0.05)
        info = json.loads(out.read_text())
        assert len(info["subscriptions"]) == 3
        assert info["subscriptions"][1]["endpoint"].startswith(info["origin"] + "/push/")

        assert push(info["subscriptions"][1], keys).status_code == 201
        stats = requests.get(info["origin"] + "/_stats", timeout=5).json()
        assert stats == {"ok": 1, "rejected": 0, "attempts": 1}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
