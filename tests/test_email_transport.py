"""The email transport against a real SMTP server (aiosmtpd) over smtplib."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.push.email import EmailOutgoing, EmailTransport, make_email_transport
from ipt_groups.push.transport import Outcome
from tests.fake_smtp import FakeSmtp, free_port

USER = "mailer@example.org"
PASSWORD = "p@ss:w/rd"  # needs percent-encoding in the URL
FROM = "IPT reminders <reminders@example.org>"
# The fake requires AUTH over plain TCP on loopback, on purpose; aiosmtpd warns.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp(
        user=USER,
        password=PASSWORD,
        reject={"gone@example.org"},
        defer={"busy@example.org"},
    ) as server:
        yield server


def transport(url: str, **kwargs: object) -> EmailTransport:
    return EmailTransport(ChannelSettings(smtp_url=url, mail_from=FROM), **kwargs)  # type: ignore[arg-type]


def mail(n: int, to: str = "ama@example.org", html: str | None = "<p>See you</p>") -> EmailOutgoing:
    return EmailOutgoing(
        notification_id=n,
        to=to,
        subject="A reminder",
        text="See you on Tuesday at 10.",
        html=html,
        message_id=f"<n{n}.abc@ipt.example.org>",
    )


def test_sends_text_and_html(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, PASSWORD))
    [result] = sender.send_all([mail(1)])
    assert result.outcome is Outcome.SENT, result
    assert result.provider_id == "<n1.abc@ipt.example.org>"
    assert result.host == "127.0.0.1"
    assert smtp.wait_for(1)
    got = smtp.messages[0]
    assert got.mail_from == "reminders@example.org"
    assert got.rcpt_tos == ("ama@example.org",)
    message = got.message
    assert message["From"] == FROM
    assert message["To"] == "ama@example.org"
    assert message["Subject"] == "A reminder"
    assert message["Message-ID"] == "<n1.abc@ipt.example.org>"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and plain.get_content().strip() == "See you on Tuesday at 10."
    assert html is not None and html.get_content().strip() == "<p>See you</p>"
    assert smtp.logins == [USER]
    sender.close()


def test_text_only(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, PASSWORD))
    assert sender.send_all([mail(1, html=None)])[0].outcome is Outcome.SENT
    assert smtp.messages[0].message.get_content_type() == "text/plain"
    sender.close()


def test_a_batch_reuses_connections(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, PASSWORD), connections=2)
    results = sender.send_all([mail(n, to=f"p{n}@example.org") for n in range(12)])
    assert [r.notification_id for r in results] == list(range(12))
    assert all(r.outcome is Outcome.SENT for r in results)
    assert smtp.wait_for(12)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(
        f"p{n}@example.org" for n in range(12)
    )
    assert len(smtp.logins) <= 2  # one login per connection, not per message
    sender.close()


def test_550_is_rejected_and_451_is_retry(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, PASSWORD), connections=1)
    results = sender.send_all(
        [mail(1, to="gone@example.org"), mail(2, to="busy@example.org"), mail(3)]
    )
    assert [(r.outcome, r.error, r.status_code) for r in results] == [
        (Outcome.REJECTED, "smtp_5xx", 550),
        (Outcome.RETRY, "smtp_4xx", 451),
        (Outcome.SENT, None, 250),  # the same connection goes on after a refusal
    ]
    assert smtp.wait_for(1)
    assert [m.rcpt_tos for m in smtp.messages] == [("ama@example.org",)]
    sender.close()


def test_wrong_password_is_auth(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, "wrong"))
    results = sender.send_all([mail(1), mail(2)])
    assert [(r.outcome, r.error, r.status_code) for r in results] == [
        (Outcome.AUTH, "smtp_auth", 535),
        (Outcome.AUTH, "smtp_auth", 535),
    ]
    assert smtp.messages == []
    sender.close()


def test_server_down_is_retry_connection() -> None:
    sender = transport(f"smtp://127.0.0.1:{free_port()}")
    results = sender.send_all([mail(1), mail(2)])
    assert [(r.outcome, r.error) for r in results] == [
        (Outcome.RETRY, "connection"),
        (Outcome.RETRY, "connection"),
    ]
    sender.close()


def test_no_starttls_means_no_password_to_another_host() -> None:
    # 127.0.0.2 is loopback but not one of the names that may skip STARTTLS:
    # to the transport it is another machine, and it offers no STARTTLS.
    with FakeSmtp(user=USER, password=PASSWORD, host="127.0.0.2") as server:
        sender = transport(server.url(USER, PASSWORD))
        results = sender.send_all([mail(1), mail(2)])
        assert [(r.outcome, r.error) for r in results] == [
            (Outcome.AUTH, "starttls_unavailable"),
            (Outcome.AUTH, "starttls_unavailable"),
        ]
        assert server.logins == []
        assert server.messages == []
        sender.close()


def test_stop_skips_what_has_not_started(smtp: FakeSmtp) -> None:
    stop = threading.Event()
    stop.set()
    sender = transport(smtp.url(USER, PASSWORD))
    results = sender.send_all([mail(1), mail(2)], stop)
    assert [r.outcome for r in results] == [Outcome.SKIPPED, Outcome.SKIPPED]
    assert smtp.messages == []
    sender.close()


def test_header_injection_is_refused(smtp: FakeSmtp) -> None:
    sender = transport(smtp.url(USER, PASSWORD))
    bad = EmailOutgoing(1, "ama@example.org", "Hi\r\nBcc: x@example.org", "t", None, "<m@x>")
    [result] = sender.send_all([bad])
    assert (result.outcome, result.error) == (Outcome.REJECTED, "bad_message")
    assert smtp.messages == []
    sender.close()


def test_make_email_transport() -> None:
    assert make_email_transport(ChannelSettings()) is None
    made = make_email_transport(
        ChannelSettings(smtp_url="smtps://u:p%40x@mail.example.org", mail_from=FROM)
    )
    assert made is not None
    assert (made.scheme, made.host, made.port, made.username, made.password) == (
        "smtps",
        "mail.example.org",
        465,
        "u",
        "p@x",
    )
