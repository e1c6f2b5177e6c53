"""Text helpers for digests: one-line cleaning, width-aware shortening, excerpts, highlighting, safe links.

Pure functions. Widths count Chinese characters as two columns, so a Chinese excerpt
is about as long on screen as an English one; highlighting folds case, width and
script (OpenCC t2s) the way the topic matcher does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

import opencc

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
    first = min((start for start, _ in _find_terms(flat, terms)), default=0)
    if display_width(flat[: first + 10]) <= limit * 0.75:
        return shorten(flat, limit)
    start = max(0, first - 20)
    space = flat.rfind(" ", 0, start)
    if space != -1 and start - space < 20:
        start = space + 1
    return "…" + shorten(flat[start:], limit - 1)


def highlight(text: str, terms: Sequence[str]) -> tuple[Span, ...]:
    """Split `text` into spans, marking every occurrence of a matched term.

    Matching ignores case, width and script: the keyword 六小龙 marks 六小龍 in a
    traditional-Chinese title, as the matcher that chose the article did.
    """
    found = _find_terms(text, terms)
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


def _find_terms(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) ranges in `text` where any term occurs, in order."""
    folded, origin = _fold(text)
    hits: list[tuple[int, int]] = []
    for term in sorted({t for t in terms if t.strip()}, key=len, reverse=True):
        needle = _fold(term.strip())[0]
        at = folded.find(needle)
        while at != -1 and needle:
            start, end = origin[at], origin[at + len(needle) - 1] + 1
            if all(end <= s or start >= e for s, e in hits):
                hits.append((start, end))
            at = folded.find(needle, at + len(needle))
    return sorted(hits)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` folded for matching, and for each folded character its index in `text`."""
    pieces = [unicodedata.normalize("NFKC", ch).casefold() for ch in text]
    joined = "".join(pieces)
    converted = _t2s().convert(joined)
    if len(converted) != len(joined):  # a phrase conversion changed the length: go char by char
        converted = "".join(c2 if len(c2 := _t2s().convert(c)) == 1 else c for c in joined)
    origin = [index for index, piece in enumerate(pieces) for _ in piece]
    return converted, origin


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
