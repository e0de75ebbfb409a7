"""The fake SMS providers, driven with plain requests (not our adapters), so
the fake's own behaviour is checked apart from the code it tests."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.fake_sms import (
    ERROR,
    INVALID_NUMBER,
    OK,
    OPTED_OUT,
    THROTTLED,
    TIMEOUT,
    CallbackRecorder,
    FakeSms,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SID = "AC" + "2e" * 16
TOKEN = "fake-token-abcdef0123456789"
AT_KEY = "atsk_" + "1" * 40
NUMBER = "+256772123456"


@pytest.fixture
def fake() -> Iterator[FakeSms]:
    with FakeSms(account_sid=SID, auth_token=TOKEN, at_username="clinic", at_api_key=AT_KEY) as f:
        yield f


def twilio_post(
    fake: FakeSms, to: str = NUMBER, auth: tuple[str, str] = (SID, TOKEN), **form: str
) -> requests.Response:
    data = {"To": to, "From": "+15005550006", "Body": "Hello", **form}
    url = f"{fake.origin}/2010-04-01/Accounts/{auth[0]}/Messages.json"
    return requests.post(url, data=data, auth=auth, timeout=10)


def at_post(
    fake: FakeSms, to: str = NUMBER, key: str = AT_KEY, timeout: float = 10
) -> requests.Response:
    return requests.post(
        f"{fake.origin}/version1/messaging",
        data={"username": "clinic", "to": to, "message": "Hello"},
        headers={"apiKey": key, "Accept": "application/json"},
        timeout=timeout,
    )


def test_twilio_accepts_and_records(fake: FakeSms) -> None:
    answer = twilio_post(fake, StatusCallback="http://127.0.0.1:9/cb")
    assert answer.status_code == 201
    body = answer.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["to"], body["from"], body["num_segments"]) == (
        "queued",
        NUMBER,
        "+15005550006",
        "1",
    )
    assert fake.wait_for(1, timeout=5)
    got = fake.received[0]
    assert (got.provider, got.to, got.body, got.provider_id, got.status_callback) == (
        "twilio",
        NUMBER,
        "Hello",
        body["sid"],
        "http://127.0.0.1:9/cb",
    )


def test_twilio_messaging_service(fake: FakeSms) -> None:
    service = "MG" + "0" * 32
    data = {"To": NUMBER, "MessagingServiceSid": service, "Body": "Hi"}
    url = f"{fake.origin}/2010-04-01/Accounts/{SID}/Messages.json"
    body = requests.post(url, data=data, auth=(SID, TOKEN), timeout=10).json()
    assert (body["status"], body["messaging_service_sid"], body["num_segments"]) == (
        "accepted",
        service,
        "0",
    )


def test_twilio_checks_credentials_and_fields(fake: FakeSms) -> None:
    answer = twilio_post(fake, auth=(SID, "wrong"))
    assert answer.status_code == 401 and answer.json()["code"] == 20003
    other = "AC" + "3" * 32
    assert twilio_post(fake, auth=(other, TOKEN)).status_code == 401
    assert twilio_post(fake, Body="").status_code == 400
    assert fake.received == []


def test_script_then_normal_and_per_number(fake: FakeSms) -> None:
    fake.script(INVALID_NUMBER, OPTED_OUT, THROTTLED, ERROR)
    answers = [twilio_post(fake) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 429, 500, 201]
    assert [answers[0].json()["code"], answers[1].json()["code"]] == [21211, 21610]
    assert answers[2].headers["Retry-After"] == "1"
    fake.for_number("+15550001111", OPTED_OUT)
    assert twilio_post(fake, to="+15550001111").status_code == 400
    assert twilio_post(fake, to="+15550001111").status_code == 400  # persistent
    assert twilio_post(fake).status_code == 201
    fake.for_number("+15550001111", OK)
    assert twilio_post(fake, to="+15550001111").status_code == 201
    assert len(fake.received) == 3
    assert [a.action for a in fake.attempts][:5] == [
        INVALID_NUMBER,
        OPTED_OUT,
        THROTTLED,
        ERROR,
        OK,
    ]
    with pytest.raises(ValueError):
        fake.script("nonsense")


def test_africastalking_recipients(fake: FakeSms) -> None:
    fake.for_number("+256700000403", INVALID_NUMBER)
    fake.for_number("+256700000406", OPTED_OUT)
    answer = at_post(fake, to=f"{NUMBER},+256700000403,+256700000406")
    assert answer.status_code == 201
    recipients = answer.json()["SMSMessageData"]["Recipients"]
    assert [(r["number"], r["statusCode"], r["status"]) for r in recipients] == [
        (NUMBER, 101, "Success"),
        ("+256700000403", 403, "InvalidPhoneNumber"),
        ("+256700000406", 406, "UserInBlacklist"),
    ]
    assert recipients[0]["messageId"].startswith("ATXid_")
    assert [m.to for m in fake.received] == [NUMBER]
    assert at_post(fake, key="wrong").status_code == 401
    fake.script(THROTTLED, ERROR)
    assert [at_post(fake).status_code for _ in range(3)] == [429, 500, 201]


def test_timeout_answers_nothing_and_stop_does_not_wait(fake: FakeSms) -> None:
    fake.script(TIMEOUT)
    with pytest.raises(requests.Timeout):
        at_post(fake, timeout=0.5)
    assert fake.received == []
    fake.stop()  # the handler still hanging is cut short (hang is 30 s)


def test_wait_for_across_threads(fake: FakeSms) -> None:
    fake.latency = 0.05
    assert not fake.wait_for(1, timeout=0.01)
    threads = [threading.Thread(target=twilio_post, args=(fake,)) for _ in range(6)]
    for t in threads:
        t.start()
    assert fake.wait_for(6)
    for t in threads:
        t.join()
    assert len({m.provider_id for m in fake.received}) == 6


def test_callbacks_are_signed_like_twilio(fake: FakeSms) -> None:
    twilio_post(fake)
    with CallbackRecorder() as app:
        url = f"{app.origin}/hooks/status"
        assert fake.send_status(fake.received[0], "delivered", url=url).status_code == 200
        fake.send_status(fake.received[0], "failed", url=url, error_code="30003", forge=True)
        fake.send_incoming("twilio", NUMBER, "STOP", f"{app.origin}/hooks/in")
        assert app.wait_for(3)
    genuine, forged, incoming = app.calls
    validator = RequestValidator(TOKEN)
    assert genuine.form["MessageStatus"] == "delivered"
    assert genuine.form["MessageSid"] == fake.received[0].provider_id
    assert validator.validate(url, genuine.form, genuine.headers["X-Twilio-Signature"])
    assert forged.form["ErrorCode"] == "30003"
    assert not validator.validate(url, forged.form, forged.headers["X-Twilio-Signature"])
    assert (incoming.form["From"], incoming.form["Body"], incoming.form["NumMedia"]) == (
        NUMBER,
        "STOP",
        "0",
    )
    assert validator.validate(incoming.url, incoming.form, incoming.headers["X-Twilio-Signature"])


def test_africastalking_callbacks(fake: FakeSms) -> None:
    at_post(fake)
    with CallbackRecorder() as app:
        url = f"{app.origin}/hooks/at/{'k' * 40}"
        fake.send_status(fake.received[0], "delivered", url=url)
        fake.send_incoming("africastalking", NUMBER, "Yes", url, to="12345")
        assert app.wait_for(2)
    status, incoming = app.calls
    assert status.url == url
    assert (status.form["id"], status.form["status"], status.form["phoneNumber"]) == (
        fake.received[0].provider_id,
        "Success",
        NUMBER,
    )
    assert set(incoming.form) == {"from", "to", "text", "date", "id", "linkId"}
    assert (incoming.form["from"], incoming.form["text"], incoming.form["to"]) == (
        NUMBER,
        "Yes",
        "12345",
    )


def test_standalone_prints_what_it_receives() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_sms", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first
        origin = match.group(1)
        answer = requests.post(
            f"{origin}/2010-04-01/Accounts/{SID}/Messages.json",
            data={"To": NUMBER, "From": "+15005550006", "Body": "Hello from make run"},
            auth=(SID, "any token at all"),
            timeout=10,
        )
        assert answer.status_code == 201
        line = proc.stdout.readline()
        assert "[twilio] to +256772123456" in line and "Hello from make run" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
