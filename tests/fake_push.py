"""A real HTTP fake Web Push service (RFC 8030 / 8291 / 8292) for tests and benchmarks.

It listens on 127.0.0.1, hands out subscriptions whose private keys it keeps, checks
each ``POST /push/<id>`` the way FCM / Mozilla autopush would (VAPID ``vapid t=..,k=..``
Authorization, ES256 signature, ``aud`` / ``exp`` / ``sub`` claims, ``TTL``,
``Content-Encoding: aes128gcm``, ``Topic``, ``Urgency``, body size) and decrypts the
aes128gcm body with ``http_ece``. Nothing is mocked: the sender talks real HTTP/1.1
keep-alive to it.

Library use::

    with FakePushService(vapid_public_key=pub) as svc:
        sub = svc.new_subscription()
        ...  # push to sub with pywebpush
        assert svc.wait_for(1)
        svc.received[0].json

Standalone (benchmarks), run from the repository root::

    python -m tests.fake_push --public-key KEY --latency 0.05 \
        --subscriptions 10000 --out subs.json [--port 0] [--no-record]

writes ``{"origin": ..., "subscriptions": [...]}`` atomically once listening, answers
``GET /_stats`` with ``{"ok": .., "rejected": .., "attempts": ..}`` and serves until
SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import http
import json
import os
import re
import secrets
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fake_http import FakeServer, LocalServer, TrackedHandler

__all__ = ["Attempt", "FakePushService", "Received"]

MAX_BODY = 4096  # RFC 8030 push services must accept at least 4096 octets; we cap there.
MAX_READ = 1 << 20  # larger bodies are not read: 413 and the connection is closed
MAX_LINE = 65536  # request line / header line
MAX_HEADERS = 100
MAX_EXP_AHEAD = 24 * 60 * 60  # RFC 8292 section 2: exp no more than 24 hours ahead
TOKEN_CACHE_MAX = 10_000
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
TOPIC_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PHRASES = {s.value: s.phrase for s in http.HTTPStatus}


def b64url_decode(value: str | bytes) -> bytes:
    if isinstance(value, str):
        value = value.encode("ascii")
    return base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4))


def b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Received:
    """One message accepted (201) and decrypted by the fake push service."""

    endpoint: str
    subscription_id: str
    payload: bytes
    json: Any
    ttl: int | None
    urgency: str | None
    topic: str | None
    claims: dict = field(hash=False)
    received_at: float


class Attempt(NamedTuple):
    """Every request seen, whatever the answer: ``(endpoint_id, status, reason)``."""

    endpoint_id: str
    status: int
    reason: str


class _RejectError(Exception):
    def __init__(self, status: int, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class _Subscription:
    __slots__ = ("auth", "endpoint", "gone", "id", "private_key", "script")

    def __init__(self, sub_id: str, endpoint: str) -> None:
        self.id = sub_id
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.gone = False
        # scripted answers: (status, retry_after); consumed from the left
        self.script: deque[tuple[int, str | None]] = deque()

    def as_dict(self) -> dict[str, Any]:
        p256dh = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url_encode(p256dh), "auth": b64url_encode(self.auth)},
        }


class _Server(LocalServer):
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], service: FakePushService) -> None:
        self.service = service
        super().__init__(address, _Handler)


class _Handler(TrackedHandler):
    server_version = "FakePush/1.0"
    disable_nagle_algorithm = True
    server: _Server
    fields: dict[str, str]

    def setup(self) -> None:
        super().setup()
        self.server.service._count_connection()

    def handle_one_request(self) -> None:
        """Read and answer one request on the keep-alive connection.

        A lean replacement for http.server's parser: its email-based header parsing
        and linear header look-ups cost about as much as the aes128gcm decryption.
        Header names are lower-cased into ``self.fields``.
        """
        self.close_connection = True
        rfile = self.rfile
        try:
            line = rfile.readline(MAX_LINE + 1)
            if not line:
                return
            if len(line) > MAX_LINE:
                self._write(414, b"request line too long")
                return
            parts = line.decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                self._write(400, b"bad request line")
                return
            self.command, self.path, self.request_version = parts
            fields: dict[str, str] = {}
            while True:
                raw = rfile.readline(MAX_LINE + 1)
                if raw in (b"\r\n", b"\n"):
                    break
                if not raw:
                    return
                name, sep, value = raw.decode("latin-1").partition(":")
                if not sep or len(raw) > MAX_LINE or len(fields) >= MAX_HEADERS:
                    self._write(431 if sep else 400, b"bad header")
                    return
                fields[name.strip().lower()] = value.strip()
        except OSError:
            return
        self.fields = fields
        connection = fields.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if self.command == "POST":
            self._post()
        elif self.command == "GET":
            self._get()
        else:
            self._read_body()
            self._write(405, b"method not allowed", (("Allow", "POST"),))

    def _write(
        self,
        status: int,
        body: bytes,
        headers: tuple[tuple[str, str], ...] = (),
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        lines = [f"HTTP/1.1 {status} {_PHRASES.get(status, 'Status')}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _read_body(self) -> bytes | None:
        """Read the request body so the keep-alive stream stays in step.

        Returns None (and marks the connection for closing) when it cannot be read.
        """
        length = self.fields.get("content-length")
        if length is None:
            if "transfer-encoding" in self.fields:
                self.close_connection = True
                return None
            return b""
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_READ:
            self.close_connection = True
            return None
        n = int(length)
        return self.rfile.read(n) if n else b""

    def _get(self) -> None:
        if self.path == "/_stats":
            body = json.dumps(self.server.service.stats()).encode()
            self._write(200, body, content_type="application/json")
        else:
            self._write(404, b"not found")

    def _post(self) -> None:
        body = self._read_body()
        path = self.path
        if not path.startswith("/push/"):
            self._write(404, b"not found")
            return
        sub_id = path[6:].split("?", 1)[0]
        status, reason, headers = self.server.service._handle(sub_id, self.fields, body)
        self._write(status, b"" if status == 201 else reason.encode(), headers)


class FakePushService(FakeServer):
    """A Web Push service on 127.0.0.1 for end-to-end tests of a push sender.

    ``vapid_public_key`` is the application server's public key (base64url of the
    uncompressed P-256 point). When None, any ``k`` is accepted and signatures are not
    checked, but the JWT is still parsed and its claims checked.
    """

    def __init__(
        self,
        vapid_public_key: str | None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        record_payloads: bool = True,
        now: Callable[[], float] = time.time,
    ) -> None:
        if vapid_public_key is not None:
            vapid_public_key = vapid_public_key.strip().rstrip("=")
            try:
                self._vapid_key: ec.EllipticCurvePublicKey | None = (
                    ec.EllipticCurvePublicKey.from_encoded_point(
                        ec.SECP256R1(), b64url_decode(vapid_public_key)
                    )
                )
            except (ValueError, binascii.Error) as exc:
                raise ValueError("vapid_public_key is not a base64url P-256 point") from exc
        else:
            self._vapid_key = None
        self.vapid_public_key = vapid_public_key
        self.latency = float(latency)
        self.host = host
        self.port = port
        self.record_payloads = record_payloads
        self.now = now

        self.received: list[Received] = []
        self.attempts: list[Attempt] = []
        self.count_ok = 0
        self.count_rejected = 0
        self.count_connections = 0
        self.in_flight = 0
        self.peak_in_flight = 0

        self._subs: dict[str, _Subscription] = {}
        self._tokens: dict[str, dict] = {}  # verified JWT -> claims (exp re-checked)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._message_seq = 0

    # ----------------------------------------------------------------- lifecycle

    thread_name = "fake-push"

    def _make_server(self) -> _Server:
        return _Server((self.host, self.port), self)

    # ------------------------------------------------------------- subscriptions

    def new_subscription(self) -> dict[str, Any]:
        """A fresh subscription dict as a browser's ``PushSubscription.toJSON()``."""
        sub_id = secrets.token_urlsafe(16)
        sub = _Subscription(sub_id, f"{self.origin}/push/{sub_id}")
        with self._lock:
            self._subs[sub_id] = sub
        return sub.as_dict()

    def _sub(self, endpoint: str) -> _Subscription:
        sub_id = endpoint.rsplit("/push/", 1)[-1]
        try:
            return self._subs[sub_id]
        except KeyError:
            raise KeyError(f"unknown subscription {endpoint!r}") from None

    def script(self, endpoint: str, *statuses: int, retry_after: str | None = None) -> None:
        """Queue answers for ``endpoint`` (URL or id), consumed one per request.

        A scripted status is answered after the latency and before any validation or
        decryption, with ``Retry-After`` when given. A scripted 201 means "process this
        request normally" (validate, decrypt, record). Once the queue is empty the
        endpoint behaves normally again.
        """
        sub = self._sub(endpoint)
        with self._lock:
            sub.script.extend((int(s), retry_after) for s in statuses)

    def gone(self, endpoint: str) -> None:
        """From now on answer 410 Gone for ``endpoint`` (URL or id)."""
        sub = self._sub(endpoint)
        with self._lock:
            sub.gone = True

    # --------------------------------------------------------------- inspection

    def clear(self) -> None:
        """Forget received messages, attempts, counters and peak concurrency.

        Subscriptions, scripted answers and gone marks are kept.
        """
        with self._lock:
            self.received = []
            self.attempts = []
            self.count_ok = 0
            self.count_rejected = 0
            self.peak_in_flight = self.in_flight

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Block until ``n`` messages were accepted (``len(received)`` when recording)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count_ok >= n, timeout=timeout)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "ok": self.count_ok,
                "rejected": self.count_rejected,
                "attempts": len(self.attempts),
            }

    def _count_connection(self) -> None:
        with self._lock:
            self.count_connections += 1

    # ------------------------------------------------------------ request logic

    def _handle(
        self, sub_id: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, str, tuple[tuple[str, str], ...]]:
        with self._lock:
            self.in_flight += 1
            if self.in_flight > self.peak_in_flight:
                self.peak_in_flight = self.in_flight
        extra: tuple[tuple[str, str], ...] = ()
        received = None
        try:
            if self.latency > 0:
                time.sleep(self.latency)
            received = self._check(sub_id, headers, body)
            status, reason = 201, "created"
        except _RejectError as rej:
            status, reason = rej.status, rej.reason
            if rej.retry_after is not None:
                extra = (("Retry-After", rej.retry_after),)
        except Exception as exc:  # a bug in the fake: answer, record, keep serving
            status, reason = 500, f"fake push service error: {exc!r}"
        with self._cond:
            self.in_flight -= 1
            self.attempts.append(Attempt(sub_id, status, reason))
            if status == 201:
                self.count_ok += 1
                self._message_seq += 1
                extra = (("Location", f"{self._origin}/message/{sub_id}/{self._message_seq}"),)
                if received is not None:
                    self.received.append(received)
                self._cond.notify_all()
            else:
                self.count_rejected += 1
        return status, reason, extra

    def _check(self, sub_id: str, headers: dict[str, str], body: bytes | None) -> Received | None:
        # 1. subscription
        sub = self._subs.get(sub_id)
        if sub is None:
            raise _RejectError(404, "no such subscription")
        # 2. gone / scripted answers, before any validation
        if sub.gone:
            raise _RejectError(410, "subscription gone")
        if sub.script:
            with self._lock:
                scripted = sub.script.popleft() if sub.script else None
            if scripted is not None and scripted[0] != 201:
                raise _RejectError(scripted[0], f"scripted {scripted[0]}", scripted[1])
        # 3. + 4. VAPID
        claims = self._check_vapid(headers.get("authorization"))
        # 5. headers and body
        ttl_raw = headers.get("ttl")
        if ttl_raw is None:
            raise _RejectError(400, "missing TTL")
        ttl_raw = ttl_raw.strip()
        if not (ttl_raw.isascii() and ttl_raw.isdigit()):
            raise _RejectError(400, "bad TTL")
        ttl = int(ttl_raw)
        encoding = headers.get("content-encoding")
        if encoding is None or encoding.strip().lower() != "aes128gcm":
            raise _RejectError(415, "Content-Encoding must be aes128gcm")
        if body is None or len(body) > MAX_BODY:
            raise _RejectError(413, "payload too large")
        # 6. Topic / Urgency
        topic = headers.get("topic")
        if topic is not None and not TOPIC_RE.fullmatch(topic):
            raise _RejectError(400, "bad Topic")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise _RejectError(400, "bad Urgency")
        # 7. decrypt
        try:
            payload = http_ece.decrypt(
                body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
            )
        except Exception as exc:
            raise _RejectError(400, "decryption failed") from exc
        if not self.record_payloads:
            return None
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        return Received(
            endpoint=sub.endpoint,
            subscription_id=sub_id,
            payload=payload,
            json=parsed,
            ttl=ttl,
            urgency=urgency,
            topic=topic,
            claims=dict(claims),
            received_at=time.time(),
        )

    def _check_vapid(self, auth: str | None) -> dict:
        if not auth:
            raise _RejectError(401, "missing Authorization")
        scheme, _, rest = auth.strip().partition(" ")
        if scheme.lower() != "vapid":
            raise _RejectError(401, "Authorization scheme must be vapid")
        params: dict[str, str] = {}
        for part in rest.split(","):
            name, eq, value = part.strip().partition("=")
            if not eq or not value:
                raise _RejectError(401, "malformed Authorization")
            params[name.strip().lower()] = value.strip()
        token, key = params.get("t"), params.get("k")
        if not token or not key:
            raise _RejectError(401, "Authorization needs t= and k=")
        if self.vapid_public_key is not None and key.rstrip("=") != self.vapid_public_key:
            raise _RejectError(403, "k is not the expected application server key")

        claims = self._tokens.get(token)
        if claims is None:
            claims = self._verify_jwt(token)
            if len(self._tokens) >= TOKEN_CACHE_MAX:
                self._tokens.clear()
            self._tokens[token] = claims
        exp = claims["exp"]
        now = self.now()
        if exp <= now:
            raise _RejectError(403, "JWT expired")
        if exp > now + MAX_EXP_AHEAD:
            raise _RejectError(403, "JWT exp more than 24h ahead")
        return claims

    def _verify_jwt(self, token: str) -> dict:
        parts = token.split(".")
        if len(parts) != 3:
            raise _RejectError(403, "JWT must have three parts")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, binascii.Error) as exc:
            raise _RejectError(403, "JWT not decodable") from exc
        if not isinstance(header, dict) or header.get("alg") != "ES256":
            raise _RejectError(403, "JWT alg must be ES256")
        if not isinstance(claims, dict):
            raise _RejectError(403, "JWT claims must be an object")
        if self._vapid_key is not None:
            if len(signature) != 64:
                raise _RejectError(403, "ES256 signature must be 64 bytes")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            try:
                self._vapid_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), _ECDSA_SHA256)
            except (InvalidSignature, UnicodeEncodeError) as exc:
                raise _RejectError(403, "bad JWT signature") from exc
        if claims.get("aud") != self.origin:
            raise _RejectError(403, "JWT aud is not this push service")
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise _RejectError(403, "JWT exp must be an integer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            raise _RejectError(403, "JWT sub must be a mailto: or https: URI")
        return claims


# ------------------------------------------------------------------ standalone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_push",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--public-key", required=True, help="VAPID public key (base64url)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--subscriptions", type=int, default=1, help="how many to create")
    parser.add_argument("--out", required=True, help="where to write origin + subscriptions")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-record", action="store_true", help="count, keep no payloads")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    svc = FakePushService(
        vapid_public_key=args.public_key,
        latency=args.latency,
        host=args.host,
        port=args.port,
        record_payloads=not args.no_record,
    )
    svc.start()
    try:
        subs = [svc.new_subscription() for _ in range(args.subscriptions)]
        tmp = f"{args.out}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"origin": svc.origin, "subscriptions": subs}, fh)
        os.replace(tmp, args.out)
        while not stop.wait(0.5):
            pass
    finally:
        svc.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
