"""The one seam to the push services: encrypt, sign, POST, and say what happened.

pywebpush does the Web Push part: ``WebPusher.encode`` encrypts every message
(RFC 8291, aes128gcm) and its VAPID library py_vapid signs the
``Authorization`` header (``vapid.HeaderCache``, the way ``pywebpush.webpush``
signs, once per push service origin). The HTTP is ours: one aiohttp session
and pool, our concurrency limit and our reading of each answer.

Sending is network-bound (tens to hundreds of milliseconds per push service
round trip) while encryption costs a fraction of a millisecond, so many
messages are in flight at once (``Transport``), connections to each push
service stay open, and the VAPID header is signed once per push service origin
and reused (``vapid.HeaderCache``).

The transport never touches the database: it takes ``Outgoing`` messages and
returns one ``Result`` per message. The dispatcher decides what a result means
for the outbox row and the subscription.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import http_ece
from pywebpush import NoData, WebPusher, WebPushException

from ipt_groups.messaging.endpoints import EndpointPolicy, EndpointRefusedError
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
# Called with each result as it comes in (on the sending thread: keep it cheap),
# so the dispatcher can record a delivery at once instead of at the batch's end.
OnResult = Callable[[Any], None]


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


def encrypt(data: bytes, p256dh: str, auth: str) -> bytes:
    """The ``aes128gcm`` body for one subscription (``keys.p256dh``, ``keys.auth``),
    made by pywebpush's ``WebPusher.encode``: a fresh ECDH key and salt per message.

    Raises ValueError when the subscription's keys are unusable, whatever
    pywebpush raised (``WebPushException``; ``IndexError`` for an empty key),
    so the transport rejects that one message instead of failing the batch.
    """
    if not data:
        raise ValueError("no data to encrypt")
    if not p256dh or not auth:
        raise ValueError("the subscription has no keys")
    # WebPusher needs an endpoint to be made; encode never reads it.
    subscription = {"endpoint": "", "keys": {"p256dh": p256dh, "auth": auth}}
    try:
        return WebPusher(subscription).encode(data, "aes128gcm")["body"]
    except (WebPushException, NoData, http_ece.ECEException) as exc:
        raise ValueError(getattr(exc, "message", None) or str(exc)) from None


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


class _Pending:
    """A batch on the loop: its messages, the results so far, and the future
    that gives them all once the last one is in."""

    __slots__ = ("done", "messages", "on_result", "remaining", "results")

    def __init__(
        self,
        messages: Sequence[Outgoing],
        done: asyncio.Future[list[Result]],
        on_result: OnResult | None = None,
    ) -> None:
        self.messages = messages
        self.on_result = on_result
        self.results: list[Result] = [None] * len(messages)  # type: ignore[list-item]
        self.remaining = len(messages)
        self.done = done


class Transport:
    """Concurrent sends from one event loop on its own thread.

    ``encrypt`` (pywebpush's ``WebPusher.encode``) encrypts each message; the
    POST goes through one ``aiohttp`` session whose connection pool keeps
    connections to each push service open. We measured the
    alternative first: a thread pool with one ``requests.Session`` per thread
    spent 1.7 ms of CPU per message here (requests' per-call machinery and the
    GIL handing 64 threads around), which caps a 2-core machine near 600
    messages/s; the event loop spends 0.6 ms (docs/benchmarks.md). aiohttp is
    pywebpush's own async HTTP client, so this adds no dependency.
    """

    def __init__(
        self,
        keys: VapidKeys,
        policy: EndpointPolicy,
        *,
        concurrency: int = 128,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.concurrency = concurrency
        self.headers = HeaderCache(keys)
        self._proxies = urllib.request.getproxies()  # HTTPS_PROXY etc., read once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._thread: threading.Thread | None = None
        # Made and used on the loop's thread only: messages waiting for a worker
        # (every batch's, in order) and the workers sending them.
        self._queue: deque[tuple[_Pending, int, threading.Event | None]] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    # -- the event loop thread -------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="push-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, limit_per_host=self.concurrency
            )
            # trust_env=False: proxies were read once above; .netrc is never wanted.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    # -- sending ---------------------------------------------------------

    async def _send(self, message: Outgoing, stop: threading.Event | None) -> Result:
        def result(outcome: Outcome, host: str = "", **extra: Any) -> Result:
            return Result(message.notification_id, message.subscription_id, host, outcome, **extra)

        if stop is not None and stop.is_set():
            return result(Outcome.SKIPPED)
        try:
            host = self.policy.check(message.endpoint)  # again at send time
        except EndpointRefusedError as exc:
            return result(Outcome.REFUSED, error=str(exc)[:200])
        parts = urlsplit(message.endpoint)
        started = time.perf_counter()
        try:
            body = encrypt(message.data, message.p256dh, message.auth)
        except ValueError as exc:  # malformed subscription keys
            return result(Outcome.REJECTED, host, error=str(exc)[:200])
        headers = {
            "Authorization": self.headers.header(f"{parts.scheme}://{parts.netloc}"),
            "Content-Encoding": "aes128gcm",
            "TTL": str(message.ttl),
            "Urgency": message.urgency,
            "Topic": message.topic,
        }
        session = await self._client()
        try:
            async with session.post(
                message.endpoint,
                data=body,
                headers=headers,
                # A push service answers; it never redirects. Following one would
                # send our request somewhere the allow-list never checked.
                allow_redirects=False,
                proxy=self._proxies.get(parts.scheme),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                reason = response.reason or str(status)
                retry_after = response.headers.get("Retry-After")
                await response.read()  # finish the exchange so the connection is reused
        except TimeoutError:
            return result(Outcome.RETRY, host, error="timeout", duration_ms=_ms(started))
        except aiohttp.ClientError as exc:
            return result(Outcome.RETRY, host, error=type(exc).__name__, duration_ms=_ms(started))
        outcome = classify(status)
        return result(
            outcome,
            host,
            status_code=status,
            retry_after=parse_retry_after(retry_after) if outcome is Outcome.THROTTLED else None,
            error=None if outcome is Outcome.SENT else reason[:200],
            duration_ms=_ms(started),
        )

    async def _send_many(
        self,
        messages: Sequence[Outgoing],
        stop: threading.Event | None,
        on_result: OnResult | None = None,
    ) -> list[Result]:
        """Queue the batch behind the batches already queued; at most
        ``concurrency`` workers take messages off the queue, one at a time each.

        The same order and limit as one task per message behind a shared
        semaphore (what this was), without a task, a semaphore wait and a
        wake-up per message: those were about a tenth of the loop's CPU.
        """
        loop = asyncio.get_running_loop()
        batch = _Pending(messages, loop.create_future(), on_result)
        self._queue.extend((batch, index, stop) for index in range(len(messages)))
        for _ in range(min(self.concurrency - len(self._workers), len(self._queue))):
            self._workers.add(loop.create_task(self._work()))  # referenced while it runs
        return await batch.done

    async def _work(self) -> None:
        """Send queued messages one after the other until the queue is empty."""
        queue, me = self._queue, asyncio.current_task()
        try:
            while queue:
                batch, index, stop = queue.popleft()
                try:
                    result = await self._send(batch.messages[index], stop)
                except Exception as exc:  # a bug, not an answer: the batch fails, as before
                    if not batch.done.done():
                        batch.done.set_exception(exc)
                    continue
                except asyncio.CancelledError:
                    if not batch.done.done():
                        batch.done.cancel()
                    raise
                batch.results[index] = result
                if batch.on_result is not None:
                    batch.on_result(result)
                batch.remaining -= 1
                if batch.remaining == 0 and not batch.done.done():
                    batch.done.set_result(batch.results)
        finally:  # in the same step as the last look at the queue, so the count is exact
            self._workers.discard(me)  # type: ignore[arg-type]

    def submit(
        self,
        messages: Sequence[Outgoing],
        stop: threading.Event | None = None,
        on_result: OnResult | None = None,
    ) -> Future[list[Result]]:
        """Start sending; the future gives one result per message, in order.

        Batches submitted while others are in flight share the concurrency
        limit. When ``stop`` is set (SIGTERM), requests already on the wire
        finish and the ones not yet started come back ``SKIPPED``.
        """
        if not messages:
            done: Future[list[Result]] = Future()
            done.set_result([])
            return done
        loop = self._ensure_loop()
        return asyncio.run_coroutine_threadsafe(self._send_many(messages, stop, on_result), loop)

    def send_all(
        self, messages: Sequence[Outgoing], stop: threading.Event | None = None
    ) -> list[Result]:
        return self.submit(messages, stop).result()

    def send(self, message: Outgoing, stop: threading.Event | None = None) -> Result:
        return self.send_all([message], stop)[0]

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), loop).result(timeout=10)
            self._session = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        # The loop is gone and its workers with it: a later send starts afresh.
        self._queue.clear()
        self._workers = set()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
