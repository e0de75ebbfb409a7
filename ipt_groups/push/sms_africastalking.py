"""Africa's Talking: send one SMS over its REST API, and read its callbacks.

This talks to the documented REST API with ``requests`` instead of the
``africastalking`` SDK, on purpose. The SDK (2.0.3) builds its URLs from
hard-coded hosts (``api.africastalking.com``, or the sandbox when the username
is "sandbox"), calls the module-level ``requests.post`` (a new connection for
every message, no keep-alive), and turns every non-2xx answer into an
``AfricasTalkingException(response.text)``, losing the status code and
``Retry-After`` we need to tell a 429 from a 500. The request itself is small:

    POST {AT_BASE_URL}/version1/messaging
    apiKey: ..., Accept: application/json
    username=..&to=+256..&message=..[&from=SENDER]

and the answer names each recipient's fate:
``{"SMSMessageData": {"Recipients": [{"statusCode": 101, "messageId": "ATXid_.."}]}}``.

Africa's Talking does not sign callbacks: the web layer checks the secret key in
the callback URL (constant time, against ``AT_CALLBACK_KEY``) before calling
``parse_status`` / ``parse_incoming`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.messaging.sms import Incoming, StatusReport, segments
from ipt_groups.push.sms import ChannelResult, SmsOutgoing, as_int, http_failure, timed_result
from ipt_groups.push.transport import REQUEST_TIMEOUT, Outcome

DEFAULT_BASE_URL = "https://api.africastalking.com"
SANDBOX_BASE_URL = "https://api.sandbox.africastalking.com"

ACCEPTED = frozenset({100, 101, 102})  # Processed, Sent, Queued
# Per-recipient status codes that end SMS for this message.
_REJECTED = {
    403: "invalid_number",  # InvalidPhoneNumber
    404: "invalid_number",  # UnsupportedNumberType
    407: "could_not_route",  # CouldNotRoute
    409: "do_not_disturb",  # DoNotDisturbRejection
}
OPTED_OUT = 406  # UserInBlacklist: the person sent STOP
# Account problems an admin must fix (AUTH: retried, and an admin is told).
_ACCOUNT = {401: "risk_hold", 402: "invalid_sender_id", 405: "insufficient_balance"}

# Delivery report ``status`` in our STATE_RANK vocabulary.
_STATES = {
    "Success": "delivered",
    "Sent": "sent",
    "Buffered": "sent",
    "Submitted": "sent",
    "Failed": "failed",
    "Rejected": "failed",
}


class AfricasTalkingSms:
    """Send through Africa's Talking's SMS API; parse its callbacks."""

    name = "africastalking"

    def __init__(
        self,
        settings: ChannelSettings,
        *,
        timeout: float = REQUEST_TIMEOUT,
        pool_size: int | None = None,
    ) -> None:
        self.settings = settings
        base = (settings.at_base_url or DEFAULT_BASE_URL).rstrip("/")
        self.url = f"{base}/version1/messaging"
        self.host = urlsplit(base).hostname or ""
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no .netrc credentials; proxies below
        self.session.proxies.update(requests.utils.getproxies())
        adapter = HTTPAdapter(pool_maxsize=pool_size or settings.sms_concurrency, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.headers = {
            "apiKey": settings.at_api_key,
            "Accept": "application/json",
            "User-Agent": "ipt-groups",
        }

    # -- sending ---------------------------------------------------------

    def send_one(self, msg: SmsOutgoing) -> ChannelResult:
        result = timed_result(msg, self.host)

        form = {"username": self.settings.at_username, "to": msg.to, "message": msg.body}
        if self.settings.at_sender_id:
            form["from"] = self.settings.at_sender_id
        try:
            response = self.session.post(
                self.url,
                data=form,
                headers=self.headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:  # before ConnectionError: ConnectTimeout is both
            return result(Outcome.RETRY, error="timeout")
        except requests.ConnectionError:
            return result(Outcome.RETRY, error="connection")
        status = response.status_code
        failed = http_failure(result, status, response.headers.get("Retry-After"))
        if failed is not None:
            return failed
        if not 200 <= status < 300:
            return result(Outcome.REJECTED, status_code=status, error=f"http_{status}")
        try:
            data = response.json()["SMSMessageData"]
            recipients = data.get("Recipients") or []
        except (ValueError, KeyError, TypeError, AttributeError):
            return result(Outcome.RETRY, status_code=status, error="bad_response")
        if not recipients:
            # The whole request was refused; "Message" names why ("InvalidSenderId").
            if "sender" in str(data.get("Message", "")).lower():
                return result(Outcome.AUTH, status_code=status, error="invalid_sender_id")
            return result(Outcome.REJECTED, status_code=status, error="no_recipient")
        recipient = recipients[0]  # one number per request
        code = as_int(recipient.get("statusCode"))
        extra = {"status_code": status}
        if code in ACCEPTED:
            return result(
                Outcome.SENT,
                provider_id=str(recipient.get("messageId") or "") or None,
                segments=segments(msg.body).parts,  # AT does not say; count ourselves
                **extra,
            )
        if code == OPTED_OUT:
            return result(Outcome.REJECTED, error="opted_out", opted_out=True, **extra)
        if code in _REJECTED:
            return result(Outcome.REJECTED, error=_REJECTED[code], **extra)
        if code in _ACCOUNT:
            return result(Outcome.AUTH, error=_ACCOUNT[code], **extra)
        if code >= 500:  # 500 InternalServerError, 501 GatewayError, 502 RejectedByGateway
            return result(Outcome.RETRY, error=f"at_{code}", **extra)
        return result(Outcome.REJECTED, error=f"at_{code}", **extra)

    def close(self) -> None:
        self.session.close()

    # -- callbacks (the key in the URL was checked by the web layer) ------

    def verify(self, url: str, params: Mapping[str, Any], signature: str) -> bool:
        """Africa's Talking signs nothing: the web layer checks the URL's key."""
        return False

    def parse_status(self, form: Mapping[str, str]) -> StatusReport | None:
        provider_id = (form.get("id") or "").strip()
        state = _STATES.get((form.get("status") or "").strip())
        if not provider_id or state is None:
            return None
        reason = (form.get("failureReason") or "").strip()
        if reason == "UserInBlacklist":
            error: str | None = "opted_out"
        elif reason == "InvalidPhoneNumber":
            error = "invalid_number"
        else:
            error = reason[:64] or None
        return StatusReport(provider_id, state, error)

    def parse_incoming(self, form: Mapping[str, str]) -> Incoming:
        provider_id = (form.get("id") or "").strip()
        sender = (form.get("from") or "").strip()
        if not provider_id or not sender:
            raise ValueError("incoming message without id or from")
        return Incoming(provider_id, sender, form.get("text") or "", _date(form.get("date")))


def _date(value: str | None) -> datetime | None:
    """AT's ``date`` ("2024-05-01 09:30:00" or ISO 8601 with Z), as UTC."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
