"""The one seam around pywebpush: encrypt, sign, POST, and say what happened.

Sending is network-bound (tens to hundreds of milliseconds per push service
round trip) while encryption costs a fraction of a millisecond, so messages go
out concurrently from a thread pool. Each thread keeps its own
``requests.Session`` (a session is not thread-safe; one per thread keeps
connections to the push service alive), and the VAPID header is signed once
per push service origin and reused (``vapid.HeaderCache``).

The transport never touches the database: it takes ``Outgoing`` messages and
returns one ``Result`` per message. The dispatcher decides what a result means
for the outbox row and the subscription.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pywebpush import WebPusher, WebPushException
from requests.adapters import HTTPAdapter

from ipt_groups.push.endpoints import EndpointPolicy, EndpointRefusedError
from ipt_groups.push.vapid import HeaderCache, VapidKeys

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0  # seconds; requests waits forever without one
MAX_RETRY_AFTER = 3600.0


class Outcome(enum.StrEnum):
    SENT = "sent"  # 201: the push service has it
    GONE = "gone"  # 404/410: the subscription no longer exists; delete it
    REJECTED = "rejected"  # 400/413 and other 4xx: our request is wrong; retrying won't help
    AUTH = "auth"  # 401/403: the push service refused our VAPID key; tell an admin
    THROTTLED = "throttled"  # 429/503: come back after Retry-After
    RETRY = "retry"  # other 5xx, timeouts, connection errors: retry with backoff
    REFUSED = "refused"  # the endpoint fails the allow-list: never contacted
    SKIPPED = "skipped"  # the dispatcher is stopping: not attempted, hand it back


RETRYABLE = frozenset({Outcome.THROTTLED, Outcome.RETRY, Outcome.AUTH})


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    data: bytes
    ttl: int  # seconds the push service keeps it for an offline phone
    urgency: str  # very-low | low | normal | high
    topic: str  # 32 URL-safe characters; a newer message with it replaces an older one


@dataclass(frozen=True)
class Result:
    notification_id: int
    subscription_id: int
    host: str
    outcome: Outcome
    status_code: int | None = None
    retry_after: float | None = None  # seconds
    error: str | None = None
    duration_ms: int = 0


class _NoRedirectSession(requests.Session):
    """A push service answers; it never redirects. Following a redirect would
    let an endpoint send our request somewhere the allow-list never checked."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def _new_session() -> requests.Session:
    session = _NoRedirectSession()
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=4, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when.timestamp() - (now if now is not None else time.time())
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


def classify(status: int) -> Outcome:
    if status in (200, 201, 202):
        return Outcome.SENT
    if status in (404, 410):
        return Outcome.GONE
    if status in (401, 403):
        return Outcome.AUTH
    if status in (429, 503):
        return Outcome.THROTTLED
    if status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED  # 400, 413 and the rest of 4xx


class Transport:
    def __init__(
        self,
        keys: VapidKeys,
        policy: EndpointPolicy,
        *,
        concurrency: int = 32,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.headers = HeaderCache(keys)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="push")

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _new_session()
        return session

    def send(self, message: Outgoing, stop: threading.Event | None = None) -> Result:
        def result(outcome: Outcome, host: str = "", **extra: Any) -> Result:
            return Result(message.notification_id, message.subscription_id, host, outcome, **extra)

        if stop is not None and stop.is_set():
            return result(Outcome.SKIPPED)
        try:
            host = self.policy.check(message.endpoint)  # again at send time, not only at subscribe
        except EndpointRefusedError as exc:
            return result(Outcome.REFUSED, error=str(exc)[:200])
        parts = urlsplit(message.endpoint)
        headers = {
            "Authorization": self.headers.header(f"{parts.scheme}://{parts.netloc}"),
            "Urgency": message.urgency,
            "Topic": message.topic,
        }
        subscription = {
            "endpoint": message.endpoint,
            "keys": {"p256dh": message.p256dh, "auth": message.auth},
        }
        started = time.perf_counter()
        try:
            response = WebPusher(subscription, requests_session=self._session()).send(
                message.data, headers, ttl=message.ttl, timeout=self.timeout
            )
        except requests.Timeout:
            return result(Outcome.RETRY, host, error="timeout", duration_ms=_ms(started))
        except requests.RequestException as exc:
            return result(Outcome.RETRY, host, error=type(exc).__name__, duration_ms=_ms(started))
        except WebPushException as exc:  # malformed subscription keys
            return result(Outcome.REJECTED, host, error=str(exc)[:200], duration_ms=_ms(started))
        status = response.status_code  # not "if response": a 4xx Response is falsy
        outcome = classify(status)
        return result(
            outcome,
            host,
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After"))
            if outcome is Outcome.THROTTLED
            else None,
            error=None if outcome is Outcome.SENT else (response.reason or str(status))[:200],
            duration_ms=_ms(started),
        )

    def send_all(
        self, messages: Sequence[Outgoing], stop: threading.Event | None = None
    ) -> list[Result]:
        """Send concurrently; results come back in the order of ``messages``.

        When ``stop`` is set (SIGTERM), requests already on the wire finish and
        the ones not yet started come back ``SKIPPED``.
        """
        return list(self._pool.map(lambda m: self.send(m, stop), messages))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
