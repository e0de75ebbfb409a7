"""Twilio: send one SMS through Twilio's own client, and read its callbacks.

We use the ``twilio`` package rather than hand-writing the Messages API so the
request (form fields, auth, error body) and the webhook signature check are the
provider's own. Two things the package does not do for us:

* point at another host: tests and a newcomer's ``make run`` talk to
  ``tests/fake_sms.py`` on 127.0.0.1. ``_RebasingHttpClient`` rewrites the
  scheme and host of every URL the client builds (``https://api.twilio.com/...``)
  to ``TWILIO_BASE_URL``, keeping the path, so every Twilio domain the client
  might use goes there;
* tell us ``Retry-After`` on a 429: ``TwilioRestException`` carries no headers,
  so the HTTP client keeps the last response's headers per thread.

The adapter is called from many threads at once (``sms.SmsTransport``); the one
``requests.Session`` inside is shared, with a connection pool as large as the
concurrency so connections are kept rather than discarded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests import Session
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.messaging.sms import Incoming, StatusReport, segments
from ipt_groups.push.sms import (
    ChannelResult,
    Result,
    SmsOutgoing,
    as_int,
    http_failure,
    timed_result,
)
from ipt_groups.push.transport import REQUEST_TIMEOUT, Outcome

DEFAULT_BASE_URL = "https://api.twilio.com"

# Twilio error codes that end SMS for this message: the number cannot take an SMS.
# 21211 invalid 'To', 21614 not a mobile number, 21217 not a valid phone number.
INVALID_NUMBER_CODES = frozenset({21211, 21614, 21217})
OPTED_OUT_CODE = 21610  # the recipient replied STOP; Twilio refuses until START

# MessageStatus values (Twilio's state machine) in our STATE_RANK vocabulary.
_STATES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",  # WhatsApp/RCS; past delivered
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


# twilio's HTTP client logs every request and response at INFO (URL, headers):
# a few lines per SMS. Its own child logger at WARNING keeps errors only.
_http_log = logging.getLogger(__name__ + ".http")
_http_log.setLevel(logging.WARNING)


class _RebasingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends to ``base_url`` and remembers response headers."""

    def __init__(self, base_url: str | None, *, timeout: float, pool_size: int) -> None:
        super().__init__(pool_connections=True, timeout=timeout, logger=_http_log)
        self._base = urlsplit(base_url) if base_url else None
        self._local = threading.local()
        # One pool big enough for every sending thread, for http:// too (the fake).
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        session = self.session or Session()  # always a Session: pool_connections=True
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                (self._base.scheme, self._base.netloc, parts.path, parts.query, parts.fragment)
            )
        self._local.headers = None
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_headers(self) -> Mapping[str, str]:
        return getattr(self._local, "headers", None) or {}


class TwilioSms:
    """Send through Twilio's Messages API; verify and parse Twilio's webhooks."""

    name = "twilio"

    def __init__(
        self,
        settings: ChannelSettings,
        *,
        timeout: float = REQUEST_TIMEOUT,
        pool_size: int | None = None,
    ) -> None:
        self.settings = settings
        base = settings.twilio_base_url or DEFAULT_BASE_URL
        self.host = urlsplit(base).hostname or ""
        self.http_client = _RebasingHttpClient(
            settings.twilio_base_url or None,
            timeout=timeout,
            pool_size=pool_size or settings.sms_concurrency,
        )
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=self.http_client,
        )
        self.validator = RequestValidator(settings.twilio_auth_token)
        sender = settings.twilio_from
        # A Messaging Service SID (MG...) picks the sender itself; otherwise a number.
        self._sender = (
            {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        )

    # -- sending ---------------------------------------------------------

    def send_one(self, msg: SmsOutgoing) -> ChannelResult:
        result = timed_result(msg, self.host)

        extra: dict[str, Any] = {}
        if msg.status_callback:
            extra["status_callback"] = msg.status_callback
        try:
            message = self.client.messages.create(to=msg.to, body=msg.body, **self._sender, **extra)
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._failure(exc, result)
        except requests.Timeout:  # before ConnectionError: ConnectTimeout is both
            return result(Outcome.RETRY, error="timeout")
        except requests.ConnectionError:
            return result(Outcome.RETRY, error="connection")
        parts = as_int(message.num_segments)  # "0" until a Messaging Service picks a sender
        return result(
            Outcome.SENT,
            provider_id=message.sid,
            status_code=201,
            segments=parts if parts > 0 else segments(msg.body).parts,
        )

    def _failure(
        self, exc: TwilioRestException | TwilioServiceException, result: Result
    ) -> ChannelResult:
        status = int(exc.status)
        code = as_int(exc.code)
        if code in INVALID_NUMBER_CODES:
            return result(Outcome.REJECTED, status_code=status, error="invalid_number")
        if code == OPTED_OUT_CODE:
            return result(Outcome.REJECTED, status_code=status, error="opted_out", opted_out=True)
        failed = http_failure(result, status, self.http_client.last_headers().get("Retry-After"))
        if failed is not None:
            return failed
        # Our request is wrong in some other way; the code (not the message, which
        # may quote the number) says which.
        return result(
            Outcome.REJECTED,
            status_code=status,
            error=f"twilio_{code}" if code else f"http_{status}",
        )

    def close(self) -> None:
        if self.http_client.session is not None:
            self.http_client.session.close()

    # -- callbacks -------------------------------------------------------

    def verify(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        """Whether ``X-Twilio-Signature`` matches: ``url`` must be the public URL
        Twilio called (built from PUBLIC_URL, not from the request behind a proxy)."""
        if not signature:
            return False
        return bool(self.validator.validate(url, params, signature))

    def parse_status(self, form: Mapping[str, str]) -> StatusReport | None:
        """A status callback as a report; None when it is not one we can use."""
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
        state = _STATES.get((form.get("MessageStatus") or form.get("SmsStatus") or "").strip())
        if not sid or state is None:
            return None
        code = as_int(form.get("ErrorCode"))
        error = None
        if code == OPTED_OUT_CODE:
            error = "opted_out"
        elif code in INVALID_NUMBER_CODES:
            error = "invalid_number"
        elif code:
            error = f"twilio_{code}"
        return StatusReport(sid, state, error)

    def parse_incoming(self, form: Mapping[str, str]) -> Incoming:
        """An incoming message; ValueError when the form lacks its SID or sender."""
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
        sender = (form.get("From") or "").strip()
        if not sid or not sender:
            raise ValueError("incoming message without MessageSid or From")
        return Incoming(sid, sender, form.get("Body") or "")
