"""The SMS adapters against the fake providers over real HTTP, segment counting,
and SmsTransport's concurrency and stopping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.messaging.sms import StatusReport, segments
from ipt_groups.push.sms import (
    ChannelResult,
    SmsOutgoing,
    SmsTransport,
    make_sms_transport,
)
from ipt_groups.push.sms_africastalking import AfricasTalkingSms
from ipt_groups.push.sms_twilio import TwilioSms
from ipt_groups.push.transport import Outcome
from tests.fake_sms import (
    CLOSE,
    ERROR,
    INVALID_NUMBER,
    OPTED_OUT,
    THROTTLED,
    TIMEOUT,
    CallbackRecorder,
    FakeSms,
)

SID = "AC" + "1f" * 16
TOKEN = "twilio-auth-token-0123456789abcdef"
AT_USER = "ipt-clinic"
AT_KEY = "atsk_" + "9" * 40
NUMBER = "+256772123456"
OTHER = "+256772999888"
SERVICE = "MG" + "ab" * 16


@pytest.fixture
def fake() -> Iterator[FakeSms]:
    with FakeSms(
        account_sid=SID, auth_token=TOKEN, at_username=AT_USER, at_api_key=AT_KEY, hang=30
    ) as svc:
        yield svc


def twilio_settings(fake: FakeSms, **overrides: object) -> ChannelSettings:
    base = ChannelSettings(
        sms_provider="twilio",
        sms_concurrency=8,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from="+15005550006",
        twilio_base_url=fake.origin,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def at_settings(fake: FakeSms, **overrides: object) -> ChannelSettings:
    base = ChannelSettings(
        sms_provider="africastalking",
        sms_concurrency=8,
        at_username=AT_USER,
        at_api_key=AT_KEY,
        at_sender_id="IPTCLINIC",
        at_base_url=fake.origin,
        at_callback_key="k" * 40,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def msg(n: int = 1, to: str = NUMBER, body: str = "See you on Tuesday at 10.") -> SmsOutgoing:
    return SmsOutgoing(n, to, body, status_callback="http://127.0.0.1:9/sms/status")


# -- segments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", "gsm7", 0, 1),
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€", "gsm7", 2, 1),
        ("€" * 80, "gsm7", 160, 1),
        ("€" * 80 + "a", "gsm7", 161, 2),
        ("é" * 160, "gsm7", 160, 1),  # é is in GSM-7's basic table
        ("á", "ucs2", 1, 1),  # á is not
        ("á" * 70, "ucs2", 70, 1),
        ("á" * 71, "ucs2", 71, 2),
        ("á" * 134, "ucs2", 134, 2),
        ("á" * 135, "ucs2", 135, 3),
        ("🙂", "ucs2", 2, 1),  # a surrogate pair: two UTF-16 units
        ("🙂" * 35, "ucs2", 70, 1),
        ("🙂" * 35 + "a", "ucs2", 71, 2),
    ],
)
def test_segments(text: str, encoding: str, units: int, parts: int) -> None:
    got = segments(text)
    assert (got.encoding, got.units, got.parts) == (encoding, units, parts)


# -- Twilio ---------------------------------------------------------------


def test_twilio_sends_and_records_the_sid(fake: FakeSms) -> None:
    adapter = TwilioSms(twilio_settings(fake))
    fake.num_segments = 3  # what Twilio says wins over our own count
    result = adapter.send_one(msg(7))
    assert result.outcome is Outcome.SENT, result
    assert fake.wait_for(1)
    got = fake.received[0]
    assert (got.provider, got.to, got.body, got.sender) == (
        "twilio",
        NUMBER,
        "See you on Tuesday at 10.",
        "+15005550006",
    )
    assert got.status_callback == "http://127.0.0.1:9/sms/status"
    assert result.notification_id == 7
    assert result.provider_id == got.provider_id
    assert got.provider_id.startswith("SM") and len(got.provider_id) == 34
    assert result.segments == 3
    assert result.host == "127.0.0.1"
    adapter.close()


def test_twilio_messaging_service_and_own_segment_count(fake: FakeSms) -> None:
    adapter = TwilioSms(twilio_settings(fake, twilio_from=SERVICE))
    result = adapter.send_one(msg(body="a" * 161))
    assert result.outcome is Outcome.SENT
    assert fake.received[0].sender == SERVICE  # sent as MessagingServiceSid
    assert result.segments == 2  # Twilio said 0 (no sender yet): counted here


def test_twilio_base_url_default_is_twilio() -> None:
    settings = ChannelSettings(
        sms_provider="twilio",
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from="+15005550006",
    )
    assert TwilioSms(settings).host == "api.twilio.com"


@pytest.mark.parametrize(
    ("action", "outcome", "error", "status", "opted_out"),
    [
        (INVALID_NUMBER, Outcome.REJECTED, "invalid_number", 400, False),
        (OPTED_OUT, Outcome.REJECTED, "opted_out", 400, True),
        (ERROR, Outcome.RETRY, "http_500", 500, False),
        (CLOSE, Outcome.RETRY, "connection", None, False),
    ],
)
def test_twilio_failures(
    fake: FakeSms,
    action: str,
    outcome: Outcome,
    error: str,
    status: int | None,
    opted_out: bool,
) -> None:
    fake.for_number(OTHER, action)
    adapter = TwilioSms(twilio_settings(fake))
    result = adapter.send_one(msg(to=OTHER))
    assert (result.outcome, result.error, result.status_code, result.opted_out) == (
        outcome,
        error,
        status,
        opted_out,
    )
    assert result.provider_id is None
    assert fake.received == []
    # Other numbers are unaffected.
    assert adapter.send_one(msg(to=NUMBER)).outcome is Outcome.SENT


def test_twilio_throttled_with_retry_after(fake: FakeSms) -> None:
    fake.retry_after = "7"
    fake.script(THROTTLED)
    adapter = TwilioSms(twilio_settings(fake))
    result = adapter.send_one(msg())
    assert (result.outcome, result.status_code, result.retry_after) == (
        Outcome.THROTTLED,
        429,
        7.0,
    )
    assert adapter.send_one(msg()).outcome is Outcome.SENT  # the script was one answer


def test_twilio_timeout(fake: FakeSms) -> None:
    fake.script(TIMEOUT)
    adapter = TwilioSms(twilio_settings(fake), timeout=0.5)
    result = adapter.send_one(msg())
    assert (result.outcome, result.error) == (Outcome.RETRY, "timeout")


def test_twilio_wrong_token_is_auth(fake: FakeSms) -> None:
    adapter = TwilioSms(twilio_settings(fake, twilio_auth_token="wrong"))
    result = adapter.send_one(msg())
    assert (result.outcome, result.status_code) == (Outcome.AUTH, 401)
    assert fake.received == []


def test_twilio_server_down_is_retry(fake: FakeSms) -> None:
    settings = twilio_settings(fake)
    fake.stop()
    result = TwilioSms(settings).send_one(msg())
    assert (result.outcome, result.error) == (Outcome.RETRY, "connection")


def test_twilio_signature_genuine_and_forged(fake: FakeSms) -> None:
    adapter = TwilioSms(twilio_settings(fake))
    with CallbackRecorder() as app:
        url = f"{app.origin}/sms/twilio/status?x=1"
        assert adapter.send_one(replace(msg(), status_callback=url)).outcome is Outcome.SENT
        sent = fake.received[0]
        assert fake.send_status(sent, "delivered").status_code == 200
        assert fake.send_status(sent, "delivered", forge=True).status_code == 200
        assert app.wait_for(2)
        genuine, forged = app.calls
    assert genuine.url == url
    assert adapter.verify(genuine.url, genuine.form, genuine.headers["X-Twilio-Signature"])
    assert not adapter.verify(forged.url, forged.form, forged.headers["X-Twilio-Signature"])
    assert not adapter.verify(genuine.url, genuine.form, "")
    tampered = {**genuine.form, "MessageStatus": "failed"}
    assert not adapter.verify(genuine.url, tampered, genuine.headers["X-Twilio-Signature"])
    other_url = url.replace("x=1", "x=2")
    assert not adapter.verify(other_url, genuine.form, genuine.headers["X-Twilio-Signature"])
    assert adapter.parse_status(genuine.form) == StatusReport(sent.provider_id, "delivered")


def test_twilio_parse_status() -> None:
    adapter = TwilioSms(
        ChannelSettings(twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_from="+1500")
    )
    sid = "SM" + "0" * 32
    for status, state in [
        ("accepted", "queued"),
        ("queued", "queued"),
        ("sending", "queued"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
    ]:
        assert adapter.parse_status({"MessageSid": sid, "MessageStatus": status}).state == state
    failed = adapter.parse_status(
        {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    )
    assert failed == StatusReport(sid, "failed", "opted_out")
    lost = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert adapter.parse_status(lost) == StatusReport(sid, "undelivered", "twilio_30003")
    assert adapter.parse_status({"MessageSid": sid, "MessageStatus": "bogus"}) is None
    assert adapter.parse_status({"MessageStatus": "sent"}) is None


def test_twilio_parse_incoming(fake: FakeSms) -> None:
    adapter = TwilioSms(twilio_settings(fake))
    with CallbackRecorder() as app:
        url = f"{app.origin}/sms/twilio/incoming"
        fake.send_incoming("twilio", NUMBER, "STOP", url)
        assert app.wait_for(1)
        call = app.calls[0]
    assert adapter.verify(call.url, call.form, call.headers["X-Twilio-Signature"])
    incoming = adapter.parse_incoming(call.form)
    assert (incoming.sender, incoming.text) == (NUMBER, "STOP")
    assert incoming.provider_id == call.form["MessageSid"]
    with pytest.raises(ValueError):
        adapter.parse_incoming({"Body": "hi"})


# -- Africa's Talking -----------------------------------------------------


def test_at_sends_and_records_the_message_id(fake: FakeSms) -> None:
    adapter = AfricasTalkingSms(at_settings(fake))
    result = adapter.send_one(msg(3, body="á" * 71))
    assert result.outcome is Outcome.SENT, result
    got = fake.received[0]
    assert (got.provider, got.to, got.body, got.sender) == (
        "africastalking",
        NUMBER,
        "á" * 71,
        "IPTCLINIC",
    )
    assert result.provider_id == got.provider_id and got.provider_id.startswith("ATXid_")
    assert result.segments == 2  # UCS-2, counted here: AT does not say
    assert result.host == "127.0.0.1"


def test_at_without_sender_id_sends_no_from(fake: FakeSms) -> None:
    adapter = AfricasTalkingSms(at_settings(fake, at_sender_id=""))
    assert adapter.send_one(msg()).outcome is Outcome.SENT
    assert fake.received[0].sender is None


def test_at_base_url_default() -> None:
    adapter = AfricasTalkingSms(ChannelSettings(at_username="u", at_api_key="k"))
    assert adapter.url == "https://api.africastalking.com/version1/messaging"
    sandbox = AfricasTalkingSms(
        ChannelSettings(at_base_url="https://api.sandbox.africastalking.com")
    )
    assert sandbox.host == "api.sandbox.africastalking.com"


@pytest.mark.parametrize(
    ("action", "outcome", "error", "opted_out"),
    [
        (INVALID_NUMBER, Outcome.REJECTED, "invalid_number", False),
        (OPTED_OUT, Outcome.REJECTED, "opted_out", True),
        (ERROR, Outcome.RETRY, "http_500", False),
        (THROTTLED, Outcome.THROTTLED, "http_429", False),
        (CLOSE, Outcome.RETRY, "connection", False),
    ],
)
def test_at_failures(
    fake: FakeSms, action: str, outcome: Outcome, error: str, opted_out: bool
) -> None:
    fake.retry_after = "5"
    fake.for_number(OTHER, action)
    adapter = AfricasTalkingSms(at_settings(fake))
    result = adapter.send_one(msg(to=OTHER))
    assert (result.outcome, result.error, result.opted_out) == (outcome, error, opted_out)
    assert result.provider_id is None
    if outcome is Outcome.THROTTLED:
        assert result.retry_after == 5.0
    assert fake.received == []
    assert adapter.send_one(msg(to=NUMBER)).outcome is Outcome.SENT


def test_at_timeout(fake: FakeSms) -> None:
    fake.script(TIMEOUT)
    result = AfricasTalkingSms(at_settings(fake), timeout=0.5).send_one(msg())
    assert (result.outcome, result.error) == (Outcome.RETRY, "timeout")


def test_at_wrong_key_is_auth(fake: FakeSms) -> None:
    result = AfricasTalkingSms(at_settings(fake, at_api_key="wrong")).send_one(msg())
    assert (result.outcome, result.status_code) == (Outcome.AUTH, 401)


def test_at_parse_status_and_incoming(fake: FakeSms) -> None:
    adapter = AfricasTalkingSms(at_settings(fake))
    assert adapter.send_one(msg()).outcome is Outcome.SENT
    sent = fake.received[0]
    with CallbackRecorder() as app:
        url = f"{app.origin}/sms/africastalking/{'k' * 40}/status"
        fake.send_status(sent, "delivered", url=url)
        fake.send_status(sent, "failed", url=url, error_code="UserInBlacklist")
        fake.send_incoming("africastalking", NUMBER, "Yes", url, to="12345")
        assert app.wait_for(3)
        delivered, blacklisted, incoming = app.calls
    assert delivered.url == url
    assert adapter.parse_status(delivered.form) == StatusReport(sent.provider_id, "delivered")
    assert adapter.parse_status(blacklisted.form) == StatusReport(
        sent.provider_id, "failed", "opted_out"
    )
    got = adapter.parse_incoming(incoming.form)
    assert (got.sender, got.text, got.provider_id) == (NUMBER, "Yes", incoming.form["id"])
    assert got.received_at is not None and got.received_at.tzinfo is not None
    for status, state in [
        ("Success", "delivered"),
        ("Sent", "sent"),
        ("Buffered", "sent"),
        ("Submitted", "sent"),
        ("Failed", "failed"),
        ("Rejected", "failed"),
    ]:
        assert adapter.parse_status({"id": "ATXid_1", "status": status}).state == state
    assert adapter.parse_status({"id": "ATXid_1", "status": "Nope"}) is None
    assert adapter.parse_status({"status": "Success"}) is None
    with_date = adapter.parse_incoming(
        {"id": "1", "from": NUMBER, "text": "x", "date": "2024-05-01 09:30:00"}
    )
    assert with_date.received_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        adapter.parse_incoming({"text": "x"})


# -- SmsTransport ---------------------------------------------------------


class StubAdapter:
    """An adapter whose sends block until told, to watch the pool from outside."""

    name = "stub"
    host = "stub.example"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.calls: list[int] = []
        self.lock = threading.Lock()
        self.fail_on: set[int] = set()

    def send_one(self, m: SmsOutgoing) -> ChannelResult:
        with self.lock:
            self.calls.append(m.notification_id)
        self.started.release()
        if not self.release.wait(60):
            raise AssertionError("never released")
        if m.notification_id in self.fail_on:
            raise RuntimeError("adapter bug")
        return ChannelResult(m.notification_id, Outcome.SENT, host=self.host, provider_id="x")

    def close(self) -> None:
        pass


def test_transport_runs_concurrently_one_result_each() -> None:
    stub = StubAdapter()
    transport = SmsTransport(ChannelSettings(sms_concurrency=4), adapter=stub)
    future = transport.submit([msg(n) for n in range(20)])
    for _ in range(4):  # four sends are in flight at once before any may finish
        assert stub.started.acquire(timeout=60)
    assert not future.done()
    stub.release.set()
    results = future.result(timeout=60)
    assert sorted(r.notification_id for r in results) == list(range(20))
    assert all(r.outcome is Outcome.SENT for r in results)
    transport.close()


def test_transport_skips_what_has_not_started_after_stop() -> None:
    stub = StubAdapter()
    transport = SmsTransport(ChannelSettings(sms_concurrency=2), adapter=stub)
    stop = threading.Event()
    future = transport.submit([msg(n) for n in range(10)], stop)
    for _ in range(2):
        assert stub.started.acquire(timeout=60)
    stop.set()
    stub.release.set()
    results = {r.notification_id: r.outcome for r in future.result(timeout=60)}
    assert len(results) == 10
    assert sorted(n for n, o in results.items() if o is Outcome.SENT) == sorted(stub.calls)
    assert len(stub.calls) == 2
    assert [o for o in results.values()].count(Outcome.SKIPPED) == 8
    transport.close()


def test_transport_turns_an_adapter_bug_into_retry() -> None:
    stub = StubAdapter()
    stub.release.set()
    stub.fail_on = {2}
    transport = SmsTransport(ChannelSettings(sms_concurrency=2), adapter=stub)
    results = transport.send_all([msg(1), msg(2), msg(3)])
    assert [(r.notification_id, r.outcome, r.error) for r in results] == [
        (1, Outcome.SENT, None),
        (2, Outcome.RETRY, "error"),
        (3, Outcome.SENT, None),
    ]
    assert transport.send_all([]) == []
    transport.close()
    # A send after close starts a new pool rather than failing.
    assert transport.send_all([msg(4)])[0].outcome is Outcome.SENT
    transport.close()


def test_transport_against_the_fake_twilio(fake: FakeSms) -> None:
    transport = make_sms_transport(twilio_settings(fake))
    assert transport is not None and (transport.name, transport.host) == ("twilio", "127.0.0.1")
    fake.for_number(OTHER, OPTED_OUT)
    batch = [msg(n, to=OTHER if n % 10 == 0 else NUMBER) for n in range(1, 41)]
    first = transport.submit(batch[:20])
    second = transport.submit(batch[20:])  # pipelined: both in flight together
    results = first.result(timeout=60) + second.result(timeout=60)
    assert [r.notification_id for r in results] == list(range(1, 41))  # in order
    sent = [r for r in results if r.outcome is Outcome.SENT]
    assert len(sent) == 36
    assert {r.notification_id for r in results if r.opted_out} == {10, 20, 30, 40}
    assert fake.wait_for(36)
    assert {r.provider_id for r in sent} == {m.provider_id for m in fake.received}
    transport.close()


def test_make_sms_transport() -> None:
    assert make_sms_transport(ChannelSettings()) is None
    at = make_sms_transport(
        ChannelSettings(sms_provider="africastalking", at_username="u", at_api_key="k")
    )
    assert at is not None and at.name == "africastalking"
    assert at.host == "api.africastalking.com"
    at.close()
