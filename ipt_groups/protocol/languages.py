"""The languages the app speaks: every one has complete notification wording,
front-end text and meeting guides. ``ipt_groups.i18n`` re-exports these (with
the time zones), so the protocol can name its default language without
importing anything outside itself."""

from __future__ import annotations

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"
