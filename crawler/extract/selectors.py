"""Per-source extraction overrides: CSS or XPath selectors for body, title, date and author.

A source's configuration may name where its pages keep each field (as
Huginn's WebsiteAgent and fundus let you). A selector is XPath when it starts
with ``/`` or ``(``, CSS otherwise. A selector that matches nothing, matches
only empty elements, or does not compile is a *miss*: the automatic rules
fill the field instead, and the miss is reported, because a changed page
layout is the most common way a scraper breaks without anyone noticing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Protocol

import lxml.etree
import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from crawler.extract.boilerplate import clean_text
from crawler.extract.dates import parse_datetime
from crawler.extract.metadata import byline_author
from crawler.extract.page import block_text, squash

FIELDS = ("body", "title", "date", "author")
_MAX_CHARS = {"title": 300, "author": 80}


class Selectors(Protocol):
    """What the configuration's ``SelectorsConfig`` provides (any object with these read-only attributes)."""

    @property
    def body(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def date(self) -> str | None: ...
    @property
    def author(self) -> str | None: ...


@dataclass(frozen=True)
class Overrides:
    """The fields the selectors found, and the selectors that found nothing ("field=selector")."""

    body: str | None = None
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    missed: tuple[str, ...] = ()


def apply_selectors(tree: lxml.html.HtmlElement, selectors: Selectors | None, local_tz: tzinfo) -> Overrides:
    """Read every configured field with its selector; list the ones that did not match."""
    if selectors is None:
        return Overrides()
    values: dict[str, str | datetime] = {}
    missed: list[str] = []
    for field in FIELDS:
        selector = getattr(selectors, field, None)
        if not selector:
            continue
        value = _read_field(tree, field, selector, local_tz)
        if value is None:
            missed.append(f"{field}={selector}")
        else:
            values[field] = value
    published = values.get("date")
    return Overrides(
        body=_text(values.get("body")),
        title=_text(values.get("title")),
        published=published if isinstance(published, datetime) else None,
        author=_text(values.get("author")),
        missed=tuple(missed),
    )


def _text(value: str | datetime | None) -> str | None:
    return value if isinstance(value, str) else None


def _read_field(
    tree: lxml.html.HtmlElement, field: str, selector: str, local_tz: tzinfo
) -> str | datetime | None:
    try:
        matches = select(tree, selector)
    except (lxml.etree.XPathError, SelectorError):
        return None  # a selector that does not compile is a miss too
    if field == "body":
        elements = [m for m in matches if isinstance(m, lxml.etree._Element)]
        parts = [block_text(element) for element in _outermost(elements)]
        parts += [squash(m) for m in matches if isinstance(m, str)]
        text = clean_text("\n".join(part for part in parts if part))
        return text or None
    for match in matches:
        value = _value_of(match, field, local_tz)
        if value:
            return value
    return None


def select(tree: lxml.html.HtmlElement, selector: str) -> list:
    """Elements (or strings, for an XPath ending in ``/text()`` or ``/@attr``) that ``selector`` matches."""
    selector = selector.strip()
    result = _compile(selector)(tree)
    if isinstance(result, list):
        return result
    # An XPath such as "string(//h1)" evaluates to a single value.
    return [str(result)] if result not in (None, "") and not isinstance(result, bool) else []


@lru_cache(maxsize=256)
def _compile(selector: str) -> lxml.etree.XPath:
    if selector.startswith(("/", "(")):
        return lxml.etree.XPath(selector)
    return CSSSelector(selector, translator="html")


def _outermost(elements: list[lxml.etree._Element]) -> list[lxml.etree._Element]:
    """Drop elements nested inside another matched one, so no text is read twice."""
    chosen = {id(element) for element in elements}
    return [e for e in elements if not any(id(a) in chosen for a in e.iterancestors())]


def _value_of(match: object, field: str, local_tz: tzinfo) -> str | datetime | None:
    if isinstance(match, str):
        raw = squash(match)
        attributes: list[str] = []
    elif isinstance(match, lxml.etree._Element):
        raw = squash(match.text_content()) if isinstance(match.tag, str) else ""
        # <meta content="…">, <time datetime="…">: the attribute is the value.
        attributes = [squash(match.get(name)) for name in ("datetime", "content", "title") if match.get(name)]
    else:
        return None
    if field == "date":
        for value in [*attributes, raw]:
            if parsed := parse_datetime(value, local_tz):
                return parsed
        return None
    value = raw or (attributes[0] if attributes else "")
    if field == "author" and value:
        value = byline_author(value) or value.removeprefix("By ").strip()
    # A selector that now lands on a whole section of the page has missed too.
    return value if value and len(value) <= _MAX_CHARS[field] else None
