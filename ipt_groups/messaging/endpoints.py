"""Which push endpoints we are willing to send to (the SSRF guard).

A subscription's endpoint comes from the browser, so from anyone who can log
in. Without a check, "subscribe" would let them make our server POST to any
address, including ones inside the clinic's network. We accept only ``https``
URLs on the public push services (or an exact origin an operator lists, such as
a local fake service in tests), and check again at send time so a row written
before a policy change is not trusted blindly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

# Chrome/Edge/Android (FCM), Firefox (autopush), Safari (Apple), legacy Edge (WNS).
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)

MAX_ENDPOINT_LENGTH = 2048


class EndpointRefusedError(ValueError):
    """The endpoint is not a push service we send to; the message says why."""


@dataclass(frozen=True)
class EndpointPolicy:
    hosts: tuple[str, ...]  # "fcm.googleapis.com" or "*.push.apple.com": https only
    origins: frozenset[str]  # "http://127.0.0.1:8123": exactly this origin

    def check(self, url: str) -> str:
        """Return the endpoint's host, or raise EndpointRefusedError."""
        if len(url) > MAX_ENDPOINT_LENGTH:
            raise EndpointRefusedError("the endpoint is too long")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise EndpointRefusedError("the endpoint is not a valid URL") from None
        host = (parts.hostname or "").lower()
        if not host or parts.username is not None or parts.password is not None:
            raise EndpointRefusedError("the endpoint must be a plain URL with a host name")
        scheme = parts.scheme.lower()
        origin = f"{scheme}://{host}" + (f":{port}" if port else "")
        if origin in self.origins:
            return host
        if scheme != "https" or port not in (None, 443):
            raise EndpointRefusedError("the endpoint must be an https URL on the default port")
        if _is_ip(host):
            raise EndpointRefusedError("the endpoint must name a push service, not an IP address")
        if not any(_matches(host, pattern) for pattern in self.hosts):
            raise EndpointRefusedError(f"{host} is not a known push service")
        return host


@lru_cache(maxsize=1024)  # a handful of push service hosts, checked for every message
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def parse_allowed(raw: str | None) -> tuple[str, ...]:
    """PUSH_ALLOWED_HOSTS: comma-separated host names, ``*.suffix`` patterns or
    full origins (``http://127.0.0.1:8123``); empty means the public services."""
    if raw is None or not raw.strip():
        return DEFAULT_PUSH_HOSTS
    entries = tuple(e.strip().lower().rstrip("/") for e in raw.split(",") if e.strip())
    for entry in entries:
        if "://" in entry:
            scheme, _, rest = entry.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(f"{entry!r} is not an origin such as http://127.0.0.1:8123")
        elif "/" in entry or " " in entry or "*" in entry.removeprefix("*."):
            raise ValueError(f"{entry!r} is not a host name or a *.suffix pattern")
    return entries


@lru_cache(maxsize=16)
def policy(allowed: Sequence[str]) -> EndpointPolicy:
    entries = tuple(allowed)
    return EndpointPolicy(
        hosts=tuple(e for e in entries if "://" not in e),
        origins=frozenset(e for e in entries if "://" in e),
    )
