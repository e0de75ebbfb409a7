"""Markdown to the HTML a member's browser may receive: an nh3 allow-list of
tags, attributes and URL schemes, the clinic's crisis text where an item asks for
it, and a reading-time estimate."""

from __future__ import annotations

import math
from html import escape

import markdown
import nh3

CRISIS_PLACEHOLDER = "{{ crisis_text }}"
WORDS_PER_MINUTE = 120  # slow, careful reading

# What Markdown may produce and a member's browser may receive. Everything else,
# including every attribute but these, is dropped by nh3 (an allow-list).
ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i",
    "blockquote", "a", "hr", "code",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_SCHEMES = {"https", "http", "mailto"}


def render(body_md: str) -> str:
    """Markdown to HTML that is safe to show: no scripts, no event handlers, no
    ``javascript:`` or ``data:`` URLs, and links that cannot reach back into the
    app (``rel="noopener noreferrer"``)."""
    html = markdown.markdown(body_md, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer",
    )


def with_crisis_text(body_html: str, crisis_text: str) -> str:
    """The clinic's crisis instructions where the item asks for them (escaped:
    the setting is plain text)."""
    return body_html.replace(CRISIS_PLACEHOLDER, escape(crisis_text))


def estimate_minutes(body_md: str) -> int:
    return max(1, math.ceil(len(body_md.split()) / WORDS_PER_MINUTE))
