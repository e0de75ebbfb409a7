"""SMS sending: the shapes every provider adapter shares, and the transport.

What a text costs in parts, and the shapes of what providers report
(``StatusReport``, ``Incoming``), are pure and live in ``messaging/sms.py``,
which the inbound service reads too.

The adapters (``sms_twilio``, ``sms_africastalking``) never touch the database:
they take ``SmsOutgoing`` and return one ``ChannelResult`` each, as the push
transport does, and parse the providers' callbacks into ``StatusReport`` and
``Incoming``. ``SmsTransport`` runs an adapter's blocking ``send_one`` on a
thread pool: an SMS provider answers in a few hundred milliseconds and sends are
counted in hundreds per run, not the tens of thousands of push, so threads
(and the providers' own blocking clients) are simple and fast enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ipt_groups.messaging.sms import Incoming, StatusReport
from ipt_groups.push.transport import OnResult, Outcome, parse_retry_after

if TYPE_CHECKING:
    from ipt_groups.channels_config import ChannelSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsOutgoing:
    notification_id: int
    to: str  # E.164
    body: str
    status_callback: str | None = None  # where the provider reports delivery


@dataclass(frozen=True)
class ChannelResult:
    """What one SMS provider or the mail server said about one message.

    ``outcome`` uses the push transport's vocabulary: SENT (accepted), RETRY or
    THROTTLED (try again later), REJECTED (final for this channel: an invalid
    number, an opted-out number, a 5xx from the mail server), AUTH (our
    credentials were refused: retried, and an admin is told), SKIPPED (stopping).
    """

    notification_id: int
    outcome: Outcome
    host: str = ""
    provider_id: str | None = None
    error: str | None = None  # short and free of personal data: "invalid_number", "http_500"
    status_code: int | None = None
    retry_after: float | None = None
    duration_ms: int = 0
    segments: int = 0
    opted_out: bool = False  # the provider says this number sent STOP


Result = Callable[..., ChannelResult]


def timed_result(msg: SmsOutgoing, host: str) -> Result:
    """``result(outcome, **fields)`` for one send: the message's id, the
    provider's host, and the milliseconds since this call."""
    started = time.perf_counter()

    def result(outcome: Outcome, **extra: Any) -> ChannelResult:
        return ChannelResult(
            msg.notification_id,
            outcome,
            host=host,
            duration_ms=int((time.perf_counter() - started) * 1000),
            **extra,
        )

    return result


def http_failure(result: Result, status: int, retry_after: str | None) -> ChannelResult | None:
    """What a provider's HTTP status says by itself: 401/403 AUTH, 429 THROTTLED
    (with ``Retry-After``), 5xx RETRY; None for the rest, which the adapter reads."""
    if status in (401, 403):
        return result(Outcome.AUTH, status_code=status, error=f"http_{status}")
    if status == 429:
        return result(
            Outcome.THROTTLED,
            status_code=status,
            error="http_429",
            retry_after=parse_retry_after(retry_after),
        )
    if status >= 500:
        return result(Outcome.RETRY, status_code=status, error=f"http_{status}")
    return None


def as_int(value: object) -> int:
    """A provider's code as an int, 0 when missing or not a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


class SmsAdapter(Protocol):
    """What ``sms_twilio.TwilioSms`` and ``sms_africastalking.AfricasTalkingSms`` offer."""

    name: str  # "twilio" | "africastalking"
    host: str  # the host it talks to, for the attempts log

    def send_one(self, msg: SmsOutgoing) -> ChannelResult: ...

    def verify(self, url: str, params: Mapping[str, Any], signature: str) -> bool: ...

    def parse_status(self, form: Mapping[str, str]) -> StatusReport | None: ...

    def parse_incoming(self, form: Mapping[str, str]) -> Incoming: ...

    def close(self) -> None: ...


class LazyPool:
    """A thread pool made on first use, and made again after ``close()`` (a
    clock that stopped its transports may still send once more on the way out).
    Shared by the SMS and email transports."""

    def __init__(self, workers: int, prefix: str) -> None:
        self.workers = workers
        self.prefix = prefix
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix=self.prefix
                )
            return self._pool

    def close(self) -> None:
        """Finish what is running; what has not started is cancelled (SKIPPED)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class SmsTransport:
    """Many ``send_one`` calls at once, at most ``settings.sms_concurrency``.

    Batches submitted while others are in flight share the pool (and its
    limit). Nothing raises out of ``send_all``: an adapter's unexpected
    exception becomes RETRY "error" for that message, logged with its traceback.
    """

    def __init__(self, settings: ChannelSettings, adapter: SmsAdapter | None = None) -> None:
        self.settings = settings
        self.adapter: SmsAdapter = adapter if adapter is not None else _adapter(settings)
        self.concurrency = settings.sms_concurrency
        self._pool = LazyPool(self.concurrency, "sms")

    @property
    def name(self) -> str:
        return self.adapter.name

    @property
    def host(self) -> str:
        return self.adapter.host

    def _send(self, msg: SmsOutgoing, stop: threading.Event | None) -> ChannelResult:
        if stop is not None and stop.is_set():
            return ChannelResult(msg.notification_id, Outcome.SKIPPED, host=self.adapter.host)
        started = time.perf_counter()
        try:
            return self.adapter.send_one(msg)
        except Exception:  # a bug, not an answer: retried later, never lost
            log.exception(
                "SMS adapter %s failed on notification %s", self.name, msg.notification_id
            )
            return ChannelResult(
                msg.notification_id,
                Outcome.RETRY,
                host=self.adapter.host,
                error="error",
                duration_ms=int((time.perf_counter() - started) * 1000),
            )

    def submit(
        self,
        messages: Sequence[SmsOutgoing],
        stop: threading.Event | None = None,
        on_result: OnResult | None = None,
    ) -> Future[list[ChannelResult]]:
        """Start sending; the future gives one result per message, in order.

        When ``stop`` is set, sends already started finish and the rest come
        back SKIPPED.
        """
        done: Future[list[ChannelResult]] = Future()
        if not messages:
            done.set_result([])
            return done
        results: list[ChannelResult | None] = [None] * len(messages)
        remaining = [len(messages)]
        lock = threading.Lock()
        pool = self._pool.get()

        def finished(index: int, future: Future[ChannelResult]) -> None:
            try:
                results[index] = future.result()
            except BaseException:  # cancelled by close(): hand it back untried
                results[index] = ChannelResult(
                    messages[index].notification_id, Outcome.SKIPPED, host=self.adapter.host
                )
            if on_result is not None:
                on_result(results[index])
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                done.set_result(results)  # type: ignore[arg-type]

        for index, msg in enumerate(messages):
            try:
                future = pool.submit(self._send, msg, stop)
            except RuntimeError:  # the pool was shut down meanwhile
                future = Future()
                future.cancel()
                future.set_running_or_notify_cancel()
            future.add_done_callback(lambda f, i=index: finished(i, f))
        return done

    def send_all(
        self, messages: Sequence[SmsOutgoing], stop: threading.Event | None = None
    ) -> list[ChannelResult]:
        return self.submit(messages, stop).result()

    def close(self) -> None:
        self._pool.close()
        self.adapter.close()


def _adapter(settings: ChannelSettings) -> SmsAdapter:
    # Imported here: the adapters import this module's dataclasses.
    if settings.sms_provider == "twilio":
        from ipt_groups.push.sms_twilio import TwilioSms

        return TwilioSms(settings)
    if settings.sms_provider == "africastalking":
        from ipt_groups.push.sms_africastalking import AfricasTalkingSms

        return AfricasTalkingSms(settings)
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r}")


def make_sms_transport(settings: ChannelSettings) -> SmsTransport | None:
    """The transport for the configured provider; None when SMS is not set up."""
    if not settings.sms_provider:
        return None
    return SmsTransport(settings)
