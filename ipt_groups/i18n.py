"""Languages and time zones the app accepts."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

# Every language listed here has complete notification wording and front-end text.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"


@cache
def iana_time_zones() -> frozenset[str]:
    # tzdata ships the zones, so this works on machines without /usr/share/zoneinfo.
    return frozenset(available_timezones())


def is_valid_time_zone(name: str) -> bool:
    return name in iana_time_zones()
