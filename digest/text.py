"""Text helpers for digests: one-line cleaning, width-aware shortening and wrapping, excerpts,
highlighting, the "why" line, safe links.

Pure functions. Widths are terminal cells as rich counts them (a Chinese character is
two), so a Chinese excerpt is about as long on screen as an English one and the text
part wraps at 80 columns in a mail reader; highlighting is the topic matcher's own
matching (`crawler.topics.rules.term_spans`), so what is marked is what matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

from markupsafe import Markup
from rich.cells import cell_len

from crawler.normalize import normalize_text
from crawler.topics.rules import term_spans
from digest.view import Span
from storage.text import strip_controls

EXCERPT_CHARS = 160
TEXT_WIDTH = 80
MAX_MARKS = 3  # highlights per excerpt: a few marks guide the eye, many are noise
WHY_TERMS = 2  # terms named in the "why" line
SIMILAR_ENOUGH = 0.3  # seed similarity worth telling a reader about


_SPACE = re.compile(r"\s+")
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # Unicode categories Cc, Zl and Zp


def one_line(text: str | None) -> str:
    """Collapse all whitespace, line breaks and control characters into single spaces (bidi overrides go)."""
    if not text:
        return ""
    cleaned = _LINE_BREAKING.sub(" ", text)
    return _SPACE.sub(" ", strip_controls(cleaned)).strip()


def headline(title: str | None) -> str:
    """A title to show and link: one line, or "(untitled)" for a page whose headline was blank, whose
    link would otherwise be an empty <a> nobody can click."""
    return one_line(title) or "(untitled)"


def printable(value: object) -> object:
    """Jinja's `finalize` for the digest's and the web console's templates: every string they print
    loses control characters and bidi overrides (`storage.text.strip_controls`).

    The crawler strips them before storing, but rows stored earlier still hold them, and one
    open U+202E in a headline reversed the rest of its line in the email and the console.
    Markup (a highlighted excerpt) stays Markup, so it is not escaped a second time.
    """
    if isinstance(value, Markup):
        return Markup(strip_controls(str(value)))
    if isinstance(value, str):
        return strip_controls(value)
    return value


def shorten(text: str, limit: int) -> str:
    """Cut to `limit` columns with an ellipsis, at a space when one is near (Latin text).

    Chinese characters count as two columns, so a Chinese excerpt is about as long
    on screen as an English one.
    """
    if fits(text, limit):
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
    """Terminal cells `text` takes (rich's count: Chinese characters and full-width forms are two)."""
    return cell_len(text)


def fits(text: str, width: int) -> bool:
    """`display_width(text) <= width`, reading only as far as it must: an excerpt is cut from a whole
    article, and measuring all of it took 40% of a digest's build."""
    # A character takes at most two cells and at least none: past `width + 1` characters it
    # fits only if some take none (combining marks), which only the whole text can tell.
    if len(text) * 2 <= width:
        return True
    if display_width(text[: width + 1]) > width:
        return False
    return display_width(text) <= width


def _char_width(ch: str) -> int:
    return cell_len(ch)


# Wrapping: Latin words break at spaces, Chinese between any two characters, except that
# closing punctuation never starts a line and opening punctuation never ends one.
_OPEN = "“‘（《「『【〔"
_CLOSE = "，。、：；！？）》」』】〕”’…"
_WIDE = "\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
_TOKEN = re.compile(
    rf"\s+|[{re.escape(_OPEN)}]*(?:[{_WIDE}]|[^\s{_WIDE}{re.escape(_OPEN + _CLOSE)}]+)[{re.escape(_CLOSE)}]*|\S"
)


def wrap(text: str, width: int = TEXT_WIDTH, first: str = "", rest: str | None = None) -> str:
    """`text` on lines of at most `width` cells, the first prefixed by `first`, the others by `rest`.

    A single word wider than the line (a long URL) keeps a line of its own rather
    than being broken, so it stays clickable.
    """
    rest = first if rest is None else rest
    lines: list[str] = []
    line, prefix, space = "", first, False
    for token in _TOKEN.findall(one_line(text)):
        if token.isspace():
            space = bool(line)
            continue
        gap = " " if space else ""
        space = False
        if line and cell_len(prefix + line + gap + token) > width:
            lines.append(prefix + line)
            line, prefix, gap = "", rest, ""
        line += gap + token
    if line or not lines:
        lines.append(prefix + line)
    return "\n".join(item.rstrip() for item in lines)


def make_excerpt(text: str, terms: Sequence[str], limit: int = EXCERPT_CHARS) -> str:
    """About `limit` columns of the article, moved forward to show the first match."""
    flat = one_line(text)
    if fits(flat, limit):
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


def highlight(text: str, terms: Sequence[str], limit: int | None = None) -> tuple[Span, ...]:
    """Split `text` into spans, marking occurrences of `terms`.

    Matching is the matcher's: case, width and script are ignored (六小龙 marks 六小龍,
    人工智能 marks 人工智慧) and Latin terms match whole words only ("AI" never marks
    the "ai" in "said"). With `limit`, only the first occurrence of each term is
    marked, and at most `limit` marks in all: sparingly, so the marks still stand out.
    """
    found = term_spans(text, terms)
    if limit is not None:
        seen: set[str] = set()
        kept: list[tuple[int, int]] = []
        for start, end in found:
            key = normalize_text(text[start:end])
            if key not in seen and len(kept) < limit:
                seen.add(key)
                kept.append((start, end))
        found = kept
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


def why_line(reasons: Sequence[str], core: Sequence[str]) -> str:
    """One short line for readers: "mentions 六小龙, DeepSeek · similar to the original report".

    Up to `WHY_TERMS` core terms (a context word only when no core term matched);
    scores and vetoes ("not:…") stay out of it: the archive page and the CLI show
    every reason.
    """
    terms = list(dict.fromkeys(matched_terms(reasons)))
    core_set = set(core)
    named = [t for t in terms if t in core_set][:WHY_TERMS] or terms[:1]  # context words only when nothing else
    parts = []
    if named:
        parts.append("mentions " + ", ".join(named))
    similarity = next((r for r in reasons if r.startswith("similarity=")), None)
    if similarity is not None:
        try:
            similar = float(similarity.partition("=")[2]) >= SIMILAR_ENOUGH
        except ValueError:
            similar = False
        if similar:
            parts.append("similar to the original report")
    return " · ".join(parts)


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
