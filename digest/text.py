"""Text helpers for digests: one-line cleaning, width-aware shortening, excerpts, highlighting, safe links.

Pure functions. Widths count Chinese characters as two columns, so a Chinese excerpt
is about as long on screen as an English one; highlighting is the topic matcher's own
matching (`crawler.topics.rules.term_spans`), so what is marked is what matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

from crawler.topics.rules import term_spans
from digest.view import Span

EXCERPT_CHARS = 160


_SPACE = re.compile(r"\s+")


def one_line(text: str | None) -> str:
    """Collapse all whitespace, line breaks and control characters into single spaces."""
    if not text:
        return ""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return _SPACE.sub(" ", cleaned).strip()


def shorten(text: str, limit: int) -> str:
    """Cut to `limit` columns with an ellipsis, at a space when one is near (Latin text).

    Chinese characters count as two columns, so a Chinese excerpt is about as long
    on screen as an English one.
    """
    if display_width(text) <= limit:
        return text
    width, cut = 1, 0  # one column for the ellipsis
    for cut, ch in enumerate(text):  # noqa: B007 - `cut` is used after the loop
        width += _char_width(ch)
        if width > limit:
            break
    head = text[:cut]
    space = head.rfind(" ")
    if space > len(head) * 0.6:
        head = head[:space]
    return head.rstrip(" ,.;:，。；：、") + "…"


def display_width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def make_excerpt(text: str, terms: Sequence[str], limit: int = EXCERPT_CHARS) -> str:
    """About `limit` columns of the article, moved forward to show the first match."""
    flat = one_line(text)
    if display_width(flat) <= limit:
        return flat
    first = min((start for start, _ in term_spans(flat, terms)), default=0)
    if display_width(flat[: first + 10]) <= limit * 0.75:
        return shorten(flat, limit)
    start = max(0, first - 20)
    space = flat.rfind(" ", 0, start)
    if space != -1 and start - space < 20:
        start = space + 1
    return "…" + shorten(flat[start:], limit - 1)


def matched_terms(reasons: Sequence[str]) -> tuple[str, ...]:
    """The terms among a match's reasons: not "similarity=0.42", not a vetoing "not:发布会"."""
    return tuple(r for r in reasons if "=" not in r and not r.startswith("not:"))


def highlight(text: str, terms: Sequence[str]) -> tuple[Span, ...]:
    """Split `text` into spans, marking every occurrence of a matched term.

    Matching is the matcher's: case, width and script are ignored (六小龙 marks 六小龍,
    人工智能 marks 人工智慧) and Latin terms match whole words only ("AI" never marks
    the "ai" in "said").
    """
    found = term_spans(text, terms)
    spans: list[Span] = []
    position = 0
    for start, end in found:
        if start > position:
            spans.append(Span(text[position:start]))
        spans.append(Span(text[start:end], mark=True))
        position = end
    if position < len(text) or not spans:
        spans.append(Span(text[position:]))
    return tuple(spans)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (javascript:, data:, mailto:, garbage)."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
