"""Email: reminders through the organisation's SMTP server, with smtplib.

Email is the channel of last resort and is sent in small numbers, so this is
plain ``smtplib`` on a few threads (``CONNECTIONS``), each keeping one SMTP
connection open for as many messages of the batch as it takes: a TLS handshake
and a login per message would cost more than the message. Like the SMS
adapters it never touches the database: it takes ``EmailOutgoing`` and returns
one ``ChannelResult`` (the push vocabulary) per message.

``SMTP_URL`` is ``smtp://user:password@host:587`` (STARTTLS when the server
offers it; required before a login unless the server is this machine) or
``smtps://user:password@host:465`` (TLS from the first byte). The user and
password are percent-decoded, so a password may contain ``@`` as ``%40``.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ipt_groups.push.sms import ChannelResult, LazyPool
from ipt_groups.push.transport import REQUEST_TIMEOUT, OnResult, Outcome

if TYPE_CHECKING:
    from ipt_groups.channels_config import ChannelSettings

log = logging.getLogger(__name__)

CONNECTIONS = 4  # SMTP connections per batch; mail servers limit them per client
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class EmailOutgoing:
    notification_id: int
    to: str
    subject: str
    text: str
    html: str | None
    message_id: str  # ours, stored: "<...@host>", so a retry can be recognised


class _ConnectError(Exception):
    """Opening or logging in failed: every message this connection would carry
    gets the same answer."""

    def __init__(self, outcome: Outcome, error: str, status_code: int | None = None) -> None:
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.status_code = status_code


def _code_result(code: int) -> tuple[Outcome, str]:
    """An SMTP reply code refusing one message: 5xx is final, 4xx is "later"."""
    if 500 <= code < 600:
        return Outcome.REJECTED, "smtp_5xx"
    return Outcome.RETRY, "smtp_4xx"


class EmailTransport:
    """Send batches of email over a few reused SMTP connections."""

    name = "smtp"

    def __init__(
        self,
        settings: ChannelSettings,
        *,
        timeout: float = REQUEST_TIMEOUT,
        connections: int = CONNECTIONS,
    ) -> None:
        parts = urlsplit(settings.smtp_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username) if parts.username else ""
        self.password = unquote(parts.password) if parts.password else ""
        self.mail_from = settings.mail_from
        self.envelope_from = parseaddr(settings.mail_from)[1] or settings.mail_from
        self.timeout = timeout
        self.connections = connections
        self._tls = ssl.create_default_context()
        self._pool = LazyPool(self.connections, "smtp")

    # -- connections -----------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        try:
            smtp: smtplib.SMTP
            if self.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.scheme == "smtp":
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=self._tls)
                        smtp.ehlo()
                    elif self.username and self.host not in LOCAL_HOSTS:
                        # Never send the password in the clear over the network.
                        raise _ConnectError(Outcome.AUTH, "starttls_unavailable")
                if self.username:
                    smtp.login(self.username, self.password)
            except BaseException:
                _quietly_close(smtp)
                raise
        except _ConnectError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise _ConnectError(Outcome.AUTH, "smtp_auth", exc.smtp_code) from None
        except smtplib.SMTPNotSupportedError:  # no AUTH offered, or STARTTLS refused
            raise _ConnectError(Outcome.AUTH, "smtp_auth_unsupported") from None
        except smtplib.SMTPResponseException as exc:  # e.g. 421/554 as the greeting
            # About the server, not a message: always "later", never final.
            error = "smtp_5xx" if exc.smtp_code >= 500 else "smtp_4xx"
            raise _ConnectError(Outcome.RETRY, error, exc.smtp_code) from None
        except TimeoutError:
            raise _ConnectError(Outcome.RETRY, "timeout") from None
        except ssl.SSLError:
            raise _ConnectError(Outcome.RETRY, "tls") from None
        except OSError:  # refused, unreachable, DNS, SMTPServerDisconnected
            raise _ConnectError(Outcome.RETRY, "connection") from None
        return smtp

    # -- one message -----------------------------------------------------

    def build(self, message: EmailOutgoing) -> EmailMessage:
        """Plain text first, HTML as the alternative; no remote content."""
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message.message_id
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def _deliver(self, state: _Worker, message: EmailOutgoing) -> ChannelResult:
        started = time.perf_counter()

        def result(outcome: Outcome, **extra: Any) -> ChannelResult:
            return ChannelResult(
                message.notification_id,
                outcome,
                host=self.host,
                duration_ms=int((time.perf_counter() - started) * 1000),
                **extra,
            )

        if state.failure is not None:
            failure = state.failure
            return result(failure.outcome, error=failure.error, status_code=failure.status_code)
        try:
            email = self.build(message)
        except (ValueError, TypeError):  # a header with a newline, say: a bug upstream
            return result(Outcome.REJECTED, error="bad_message")
        for attempt in (1, 2):
            try:
                if state.smtp is None:
                    state.smtp = self._connect()
                state.smtp.send_message(email, self.envelope_from, [message.to])
            except _ConnectError as exc:
                state.failure = exc
                return result(exc.outcome, error=exc.error, status_code=exc.status_code)
            except smtplib.SMTPServerDisconnected:
                # An idle connection the server closed: once more on a new one.
                state.drop()
                if attempt == 2:
                    return result(Outcome.RETRY, error="connection")
                continue
            except smtplib.SMTPRecipientsRefused as exc:  # smtplib has sent RSET
                code = next(iter(exc.recipients.values()))[0]
                outcome, error = _code_result(code)
                return result(outcome, error=error, status_code=code)
            except smtplib.SMTPNotSupportedError:  # a non-ASCII address without SMTPUTF8
                return result(Outcome.REJECTED, error="smtp_utf8_unsupported")
            except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
                if exc.smtp_code == 421:  # the server is closing this connection
                    state.drop()
                outcome, error = _code_result(exc.smtp_code)
                return result(outcome, error=error, status_code=exc.smtp_code)
            except TimeoutError:  # the session is in an unknown state: start afresh
                state.drop()
                return result(Outcome.RETRY, error="timeout")
            except OSError:
                state.drop()
                return result(Outcome.RETRY, error="connection")
            return result(Outcome.SENT, provider_id=message.message_id, status_code=250)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- batches ---------------------------------------------------------

    def _drain(
        self,
        messages: Sequence[EmailOutgoing],
        queue: deque[int],
        results: list[ChannelResult | None],
        stop: threading.Event | None,
        on_result: OnResult | None = None,
    ) -> None:
        """One connection: take messages off the batch's queue until it is empty."""
        state = _Worker()
        try:
            while True:
                try:
                    index = queue.popleft()  # deque.popleft is atomic
                except IndexError:
                    return
                message = messages[index]
                if stop is not None and stop.is_set():
                    results[index] = ChannelResult(
                        message.notification_id, Outcome.SKIPPED, host=self.host
                    )
                    continue
                try:
                    results[index] = self._deliver(state, message)
                except Exception:  # a bug, not an answer: retried later, never lost
                    log.exception("email to notification %s failed", message.notification_id)
                    state.drop()
                    results[index] = ChannelResult(
                        message.notification_id, Outcome.RETRY, host=self.host, error="error"
                    )
                if on_result is not None:
                    on_result(results[index])
        finally:
            state.quit()

    def submit(
        self,
        messages: Sequence[EmailOutgoing],
        stop: threading.Event | None = None,
        on_result: OnResult | None = None,
    ) -> Future[list[ChannelResult]]:
        """Start sending; the future gives one result per message, in order.

        When ``stop`` is set, messages not yet started come back SKIPPED.
        """
        done: Future[list[ChannelResult]] = Future()
        if not messages:
            done.set_result([])
            return done
        queue = deque(range(len(messages)))
        results: list[ChannelResult | None] = [None] * len(messages)
        workers = min(self.connections, len(messages))
        remaining = [workers]
        lock = threading.Lock()

        def finished(_: Future[None]) -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
            for index, got in enumerate(results):  # cancelled by close(): hand back
                if got is None:
                    results[index] = ChannelResult(
                        messages[index].notification_id, Outcome.SKIPPED, host=self.host
                    )
            done.set_result(results)  # type: ignore[arg-type]

        pool = self._pool.get()
        for _ in range(workers):
            try:
                future = pool.submit(self._drain, messages, queue, results, stop, on_result)
            except RuntimeError:  # shut down meanwhile
                future = Future()
                future.set_result(None)
            future.add_done_callback(finished)
        return done

    def send_all(
        self, messages: Sequence[EmailOutgoing], stop: threading.Event | None = None
    ) -> list[ChannelResult]:
        return self.submit(messages, stop).result()

    def close(self) -> None:
        self._pool.close()


class _Worker:
    """One thread's SMTP connection, and why it could not be opened."""

    __slots__ = ("failure", "smtp")

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.failure: _ConnectError | None = None

    def drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            _quietly_close(smtp)

    def quit(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(smtp)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()


def make_email_transport(settings: ChannelSettings) -> EmailTransport | None:
    """The transport for SMTP_URL; None when email is not set up."""
    if not settings.smtp_url:
        return None
    return EmailTransport(settings)
