"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the email transport's tests.

The transport talks to it with smtplib over a real socket, so EHLO, AUTH, the
envelope, DATA and the reply codes are the protocol's, not a mock's. It records
each accepted message (envelope sender and recipients, and the message parsed
with ``email``), and can be told to:

* require AUTH with one user and password (over plain TCP: ``auth_require_tls``
  is off here, which a real server must never do);
* refuse chosen recipients with 550 (final) or 451 (try later).

Use::

    with FakeSmtp(user="mailer", password="s3cret", reject={"x@example.org"}) as smtp:
        url = smtp.url("mailer", "s3cret")  # smtp://mailer:s3cret@127.0.0.1:PORT
        ...
        assert smtp.wait_for(1)
        smtp.messages[0].message["Subject"]
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["FakeSmtp", "Mail"]


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


def free_port(host: str = "127.0.0.1") -> int:
    # aiosmtpd's Controller connects to its own port to check it is up, so it
    # needs the number before it listens: ask the kernel for a free one.
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.fake.reject:
            return "550 5.1.1 No such user here"
        if address in self.fake.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.fake._record(Mail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK: queued"


class FakeSmtp:
    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        reject: set[str] | None = None,
        defer: set[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.user = user
        self.password = password
        self.reject = set(reject or ())
        self.defer = set(defer or ())
        self.messages: list[Mail] = []
        self.logins: list[str] = []  # every AUTH attempt's user name
        self.port = free_port(host)
        self._cond = threading.Condition()
        kwargs: dict[str, Any] = {}
        if user is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=False,  # tests only: no TLS on loopback
            )
        self._controller = Controller(_Handler(self), hostname=host, port=self.port, **kwargs)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        with self._cond:
            self.logins.append(login)
        ok = login == self.user and auth_data.password.decode("utf-8", "replace") == self.password
        return AuthResult(success=ok, handled=False)

    def _record(self, mail: Mail) -> None:
        with self._cond:
            self.messages.append(mail)
            self._cond.notify_all()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """``smtp://`` URL to this server, with credentials percent-encoded."""
        auth = ""
        if user is not None:
            auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
        return f"smtp://{auth}{self.host}:{self.port}"

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= count, timeout)

    def start(self) -> FakeSmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
