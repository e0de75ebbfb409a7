"""Languages and time zones the app accepts."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

# The languages live in the protocol (its meeting guides name the default one).
from ipt_groups.protocol.languages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

__all__ = [
    "DEFAULT_LANGUAGE",
    "SUPPORTED_LANGUAGES",
    "iana_time_zones",
    "is_valid_time_zone",
]


# Region/City names (and UTC). Legacy aliases such as EST5EDT, Factory or
# localtime are refused: they are not places a person lives in, and some follow
# no real rules.
_AREAS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/",
          "Europe/", "Indian/", "Pacific/", "Arctic/")  # fmt: skip


@cache
def iana_time_zones() -> frozenset[str]:
    # tzdata ships the zones, so this works on machines without /usr/share/zoneinfo.
    return frozenset(z for z in available_timezones() if z == "UTC" or z.startswith(_AREAS))


def is_valid_time_zone(name: str) -> bool:
    return name in iana_time_zones()
