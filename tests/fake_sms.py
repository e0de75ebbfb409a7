"""A real HTTP fake of the two SMS providers' APIs, for tests, benchmarks and ``make run``.

It listens on 127.0.0.1 and speaks enough of each provider for our adapters,
which talk to it with the providers' own clients over real HTTP/1.1:

* Twilio's Messages API: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``
  with HTTP basic auth (AccountSid, AuthToken) and the form fields ``To``,
  ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``; answers 201
  with Twilio's JSON (``sid`` "SM" + 32 hex, ``status`` "queued", ``num_segments``)
  or Twilio's error JSON (``code`` 21211 invalid number, 21610 unsubscribed,
  20003 authentication, 20429, 20500).
* Africa's Talking's SMS API: ``POST /version1/messaging`` with the ``apiKey``
  header and the form fields ``username``, ``to``, ``message``, ``from``; answers
  201 with ``SMSMessageData.Recipients`` (statusCode 101, or 403 invalid phone
  number, 406 user in blacklist).

It records every accepted message, can be scripted to fail (per number, or the
next N requests), and sends the providers' callbacks to the app: delivery
reports (Twilio's signed with ``X-Twilio-Signature`` by twilio's own
``RequestValidator``; Africa's Talking's unsigned, to a URL carrying the key)
and incoming messages. Library use::

    with FakeSms(account_sid=SID, auth_token=TOKEN) as fake:
        settings = ChannelSettings(..., twilio_base_url=fake.origin)
        ...  # send
        assert fake.wait_for(1)
        fake.send_status(fake.received[0], "delivered")

Standalone, for a newcomer running ``make run`` with
``TWILIO_BASE_URL=http://127.0.0.1:8025`` or ``AT_BASE_URL=http://127.0.0.1:8025``::

    python -m tests.fake_sms --port 8025 [--latency 0.1] [--auth-token TOKEN --deliver]

accepts any credentials and prints each message it receives; with
``--auth-token`` (the app's TWILIO_AUTH_TOKEN) and ``--deliver`` it reports
each Twilio message "sent" then "delivered" to its StatusCallback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests
from twilio.request_validator import RequestValidator

from tests.fake_http import FakeServer, LocalServer, TrackedHandler

__all__ = [
    "CLOSE",
    "ERROR",
    "INVALID_NUMBER",
    "OK",
    "OPTED_OUT",
    "THROTTLED",
    "TIMEOUT",
    "Callback",
    "CallbackRecorder",
    "FakeSms",
    "Received",
]

# Scripted answers.
OK = "ok"
INVALID_NUMBER = "invalid_number"  # Twilio 400 code 21211 / AT recipient 403
OPTED_OUT = "opted_out"  # Twilio 400 code 21610 / AT recipient 406
THROTTLED = "throttled"  # HTTP 429 with Retry-After
ERROR = "error"  # HTTP 500
TIMEOUT = "timeout"  # no answer until the client gives up, then the connection closes
CLOSE = "close"  # the connection is closed without an answer
ACTIONS = frozenset({OK, INVALID_NUMBER, OPTED_OUT, THROTTLED, ERROR, TIMEOUT, CLOSE})

TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9A-Za-z]+)/Messages\.json$")
AT_PATH = "/version1/messaging"
MAX_BODY = 64 * 1024

# Our delivery states in Africa's Talking's words (its own words pass through).
_AT_STATES = {
    "queued": "Submitted",
    "sent": "Sent",
    "delivered": "Success",
    "undelivered": "Rejected",
    "failed": "Failed",
}


@dataclass(frozen=True)
class Received:
    """One message the fake accepted."""

    provider: str  # "twilio" | "africastalking"
    to: str
    body: str
    sender: str | None  # From / MessagingServiceSid / AT "from"
    provider_id: str  # Twilio sid "SM..." / AT messageId "ATXid_..."
    status_callback: str | None
    received_at: float


@dataclass(frozen=True)
class Attempt:
    """Every send request seen, whatever the answer."""

    provider: str
    to: str
    action: str


class _Server(LocalServer):
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], fake: FakeSms) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(TrackedHandler):
    server_version = "FakeSms/1.0"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"message": "too large"})
            return
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
        fake = self.server.fake
        match = TWILIO_PATH.match(self.path)
        if match:
            fake._twilio(self, match.group(1), form)
        elif self.path == AT_PATH:
            fake._africastalking(self, form)
        else:
            self._reply(404, {"message": "not found"})

    def _reply(
        self,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        """Close the connection without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class FakeSms(FakeServer):
    """Fake Twilio and Africa's Talking on one port.

    Credentials left as None are not checked (the standalone mode; with
    ``account_sid`` None, ``auth_token`` only signs callbacks). ``hang`` is
    how long a TIMEOUT answer waits before closing: longer than the client's
    timeout, and cut short by ``stop()``.
    """

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        at_username: str | None = None,
        at_api_key: str | None = None,
        latency: float = 0.0,
        hang: float = 30.0,
        retry_after: str = "1",
        host: str = "127.0.0.1",
        port: int = 0,
        on_receive: Callable[[Received], None] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.at_username = at_username
        self.at_api_key = at_api_key
        self.latency = latency
        self.hang = hang
        self.retry_after = retry_after
        self.num_segments: int | None = None  # force Twilio's num_segments answer
        self.host = host
        self.port = port
        self.on_receive = on_receive
        self.received: list[Received] = []
        self.attempts: list[Attempt] = []
        self._cond = threading.Condition()
        self._script: deque[str] = deque()
        self._numbers: dict[str, str] = {}
        self._stopping = threading.Event()
        self._http = requests.Session()  # for callbacks to the app

    # -- life cycle --------------------------------------------------------

    thread_name = "fake-sms"

    def _make_server(self) -> _Server:
        return _Server((self.host, self.port), self)

    def start(self) -> FakeSms:
        if self._server is None:
            self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # hanging TIMEOUT answers give up
        super().stop()
        self._http.close()

    # -- scripting and waiting ---------------------------------------------

    def script(self, *actions: str) -> None:
        """Answer the next ``len(actions)`` send requests so, whatever the number."""
        for action in actions:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r}")
        with self._cond:
            self._script.extend(actions)

    def for_number(self, number: str, action: str) -> None:
        """Answer every request to ``number`` so (OK puts it back to normal).

        The next-N script, when not empty, comes first."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        with self._cond:
            if action == OK:
                self._numbers.pop(number, None)
            else:
                self._numbers[number] = action

    def clear(self) -> None:
        with self._cond:
            self.received.clear()
            self.attempts.clear()
            self._script.clear()
            self._numbers.clear()

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until at least ``count`` messages were accepted."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.received) >= count, timeout)

    def _action(self, provider: str, to: str, consume: bool = True) -> str:
        with self._cond:
            if self._script and consume:
                action = self._script.popleft()
            else:
                action = self._numbers.get(to, OK)
            self.attempts.append(Attempt(provider, to, action))
            return action

    def _record(self, received: Received) -> None:
        with self._cond:
            self.received.append(received)
            self._cond.notify_all()
        if self.on_receive is not None:
            self.on_receive(received)

    def _pause(self, action: str) -> bool:
        """Latency, and for TIMEOUT the hang; False when the answer is to be dropped."""
        if self.latency:
            self._stopping.wait(self.latency)
        if action == TIMEOUT:
            self._stopping.wait(self.hang)
            return False
        return action != CLOSE

    # -- Twilio --------------------------------------------------------------

    def _twilio(self, handler: _Handler, account_sid: str, form: dict[str, str]) -> None:
        if not self._twilio_auth(handler.headers.get("Authorization"), account_sid):
            handler._reply(
                401,
                _twilio_error(20003, "Authenticate", 401),
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
            return
        to = form.get("To", "")
        body = form.get("Body", "")
        service = form.get("MessagingServiceSid")
        if not to or not body or not (form.get("From") or service):
            handler._reply(400, _twilio_error(21604, "A 'To', 'Body' and 'From' are required", 400))
            return
        action = self._action("twilio", to)
        if not self._pause(action):
            handler._drop()
            return
        if action == INVALID_NUMBER:
            message = f"The 'To' number {to} is not a valid phone number."
            handler._reply(400, _twilio_error(21211, message, 400))
        elif action == OPTED_OUT:
            handler._reply(
                400, _twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
            )
        elif action == THROTTLED:
            handler._reply(
                429,
                _twilio_error(20429, "Too Many Requests", 429),
                headers={"Retry-After": self.retry_after},
            )
        elif action == ERROR:
            handler._reply(500, _twilio_error(20500, "Internal Server Error", 500))
        else:
            sid = "SM" + secrets.token_hex(16)
            received = Received(
                "twilio",
                to,
                body,
                form.get("From") or service,
                sid,
                form.get("StatusCallback"),
                time.time(),
            )
            self._record(received)
            handler._reply(201, self._twilio_message(account_sid, received, service))

    def _twilio_auth(self, header: str | None, account_sid: str) -> bool:
        if self.account_sid is None:  # standalone: any credentials (the token only signs)
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (
            secrets.compare_digest(user, self.account_sid or "")
            and secrets.compare_digest(password, self.auth_token or "")
            and account_sid == user
        )

    def _twilio_message(
        self, account_sid: str, received: Received, service: str | None
    ) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        if self.num_segments is not None:
            parts = self.num_segments
        elif service:
            parts = 0  # Twilio: 0 until the Messaging Service picks a sender
        else:
            parts = _gsm_parts(received.body)
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{received.provider_id}"
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": received.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if service else received.sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(parts),
            "price": None,
            "price_unit": "USD",
            "sid": received.provider_id,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": received.to,
            "uri": f"{uri}.json",
        }

    # -- Africa's Talking ----------------------------------------------------

    def _africastalking(self, handler: _Handler, form: dict[str, str]) -> None:
        key_ok = self.at_api_key is None or secrets.compare_digest(
            handler.headers.get("apiKey") or "", self.at_api_key
        )
        user_ok = self.at_username is None or form.get("username") == self.at_username
        if not (key_ok and user_ok):
            handler._reply(401, "The supplied authentication is invalid", content_type="text/plain")
            return
        numbers = [n.strip() for n in form.get("to", "").split(",") if n.strip()]
        text = form.get("message", "")
        if not numbers or not text:
            handler._reply(400, "Must have to and message", content_type="text/plain")
            return
        # The next-N script answers the request; per-number actions each recipient.
        action = self._action("africastalking", numbers[0])
        actions = [action] + [self._action("africastalking", n, consume=False) for n in numbers[1:]]
        if not self._pause(action):
            handler._drop()
            return
        if action == THROTTLED:
            handler._reply(
                429,
                "Too Many Requests",
                headers={"Retry-After": self.retry_after},
                content_type="text/plain",
            )
            return
        if action == ERROR:
            handler._reply(500, "Internal Server Error", content_type="text/plain")
            return
        recipients = []
        for number, each in zip(numbers, actions, strict=True):
            if each == INVALID_NUMBER:
                recipients.append(_at_recipient(number, 403, "InvalidPhoneNumber", "None"))
            elif each == OPTED_OUT:
                recipients.append(_at_recipient(number, 406, "UserInBlacklist", "None"))
            else:
                message_id = "ATXid_" + secrets.token_hex(16)
                self._record(
                    Received(
                        "africastalking",
                        number,
                        text,
                        form.get("from"),
                        message_id,
                        None,
                        time.time(),
                    )
                )
                recipients.append(_at_recipient(number, 101, "Success", message_id))
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        handler._reply(
            201,
            {
                "SMSMessageData": {
                    "Message": f"Sent to {sent}/{len(recipients)} Total Cost: KES {0.8 * sent:.4f}",
                    "Recipients": recipients,
                }
            },
        )

    # -- callbacks to the app ------------------------------------------------

    def twilio_signature(self, url: str, params: Mapping[str, str], *, forge: bool = False) -> str:
        """``X-Twilio-Signature`` for a POST of ``params`` to ``url``; forged: wrong key."""
        if self.auth_token is None:
            raise RuntimeError("FakeSms needs auth_token to sign Twilio callbacks")
        token = "forged-" + self.auth_token if forge else self.auth_token
        return RequestValidator(token).compute_signature(url, dict(params))

    def send_status(
        self,
        message: Received,
        state: str,
        *,
        url: str | None = None,
        error_code: str | None = None,
        forge: bool = False,
    ) -> requests.Response:
        """POST the provider's delivery report for ``message`` to the app.

        ``state`` is ours (queued, sent, delivered, undelivered, failed) or the
        provider's own word. Twilio's goes to the message's StatusCallback (or
        ``url``), signed; Africa's Talking's to ``url``, which carries the key.
        ``error_code``: Twilio's ErrorCode, or AT's failureReason.
        """
        if message.provider == "twilio":
            target = url or message.status_callback
            if not target:
                raise ValueError("the message had no StatusCallback; pass url=")
            params = {
                "MessageSid": message.provider_id,
                "SmsSid": message.provider_id,
                "AccountSid": self.account_sid or "AC" + "0" * 32,
                "From": message.sender or "",
                "To": message.to,
                "MessageStatus": state,
                "SmsStatus": state,
                "ApiVersion": "2010-04-01",
            }
            if error_code:
                params["ErrorCode"] = error_code
            return self._post_twilio(target, params, forge)
        if not url:
            raise ValueError("Africa's Talking callbacks need url= (with the key)")
        params = {
            "id": message.provider_id,
            "status": _AT_STATES.get(state, state),
            "phoneNumber": message.to,
            "networkCode": "64110",
            "retryCount": "0",
        }
        if error_code:
            params["failureReason"] = error_code
        return self._http.post(url, data=params, timeout=10)

    def send_incoming(
        self,
        provider: str,
        from_number: str,
        text: str,
        url: str,
        *,
        to: str = "+15005550006",
        forge: bool = False,
    ) -> requests.Response:
        """POST an incoming message (a person texting our number) to the app."""
        if provider == "twilio":
            sid = "SM" + secrets.token_hex(16)
            params = {
                "MessageSid": sid,
                "SmsSid": sid,
                "SmsMessageSid": sid,
                "AccountSid": self.account_sid or "AC" + "0" * 32,
                "From": from_number,
                "To": to,
                "Body": text,
                "NumMedia": "0",
                "NumSegments": "1",
                "ApiVersion": "2010-04-01",
            }
            return self._post_twilio(url, params, forge)
        if provider == "africastalking":
            params = {
                "from": from_number,
                "to": to,
                "text": text,
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "id": secrets.token_hex(16),
                "linkId": secrets.token_hex(8),
            }
            return self._http.post(url, data=params, timeout=10)
        raise ValueError(f"unknown provider {provider!r}")

    def _post_twilio(self, url: str, params: dict[str, str], forge: bool) -> requests.Response:
        headers = {"X-Twilio-Signature": self.twilio_signature(url, params, forge=forge)}
        return self._http.post(url, data=params, headers=headers, timeout=10)


@dataclass(frozen=True)
class Callback:
    """One request ``CallbackRecorder`` received."""

    url: str  # as the caller addressed it
    headers: dict[str, str]
    form: dict[str, str]


class CallbackRecorder:
    """A stand-in for the app's webhooks in tests of the fake and the adapters:
    records each POST (URL, headers, form) and answers 200."""

    def __init__(self) -> None:
        self.calls: list[Callback] = []
        self._cond = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
                call = Callback(recorder.origin + self.path, dict(self.headers.items()), form)
                with recorder._cond:
                    recorder.calls.append(call)
                    recorder._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= count, timeout)


def _twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _at_recipient(number: str, code: int, status: str, message_id: str) -> dict[str, Any]:
    cost = "KES 0.8000" if code == 101 else "0"
    return {
        "statusCode": code,
        "number": number,
        "status": status,
        "cost": cost,
        "messageId": message_id,
    }


def _gsm_parts(body: str) -> int:
    """A rough count of parts (ASCII as GSM-7, anything else as UCS-2), as Twilio
    reports; kept apart from the app's own ``segments()`` so tests do not check it
    against itself."""
    units, single, multi = (len(body), 160, 153) if body.isascii() else (len(body), 70, 67)
    return 1 if units <= single else -(-units // multi)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_sms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--auth-token", help="the app's TWILIO_AUTH_TOKEN, to sign callbacks")
    parser.add_argument(
        "--deliver", action="store_true", help="report each Twilio message sent, then delivered"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fake: FakeSms

    def deliver(received: Received) -> None:
        for state in ("sent", "delivered"):
            time.sleep(0.5)
            try:
                answer = fake.send_status(received, state)
                print(f"  -> {state}: the app answered {answer.status_code}", flush=True)
            except (requests.RequestException, ValueError) as exc:
                print(f"  -> {state}: not delivered ({exc})", flush=True)

    def show(received: Received) -> None:
        print(
            f"[{received.provider}] to {received.to} from {received.sender}: "
            f"{received.body!r} ({received.provider_id})",
            flush=True,
        )
        if args.deliver and received.provider == "twilio" and received.status_callback:
            threading.Thread(target=deliver, args=(received,), daemon=True).start()

    fake = FakeSms(
        auth_token=args.auth_token,
        latency=args.latency,
        host=args.host,
        port=args.port,
        on_receive=show,
    )
    fake.start()
    print(
        f"fake SMS providers on {fake.origin}: TWILIO_BASE_URL or AT_BASE_URL={fake.origin}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
