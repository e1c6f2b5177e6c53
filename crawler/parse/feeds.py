"""Feed parsing: bytes plus a base URL in, entries out (RSS 0.9x/1.0/2.0, Atom, JSON Feed)."""

from __future__ import annotations

import json
import logging
import re
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html
from lxml.etree import ParserError

from crawler.extract.dates import has_time_of_day, parse_datetime, plausible_year
from crawler.extract.decode import charset_from_content_type, decode_page
from crawler.fetch.urls import document_base
from crawler.parse.links import resolve_link, same_page, url_problem
from storage.errors import ExtractionError
from storage.text import strip_controls
from storage.types import FeedEntry

logger = logging.getLogger(__name__)

_XML_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")


class NotAFeedError(ExtractionError):
    """The response is not a feed feedparser (or JSON Feed) can read."""


@dataclass(frozen=True)
class FeedDocument:
    """A parsed feed: its entries, and why it is not well-formed when it still yielded some."""

    entries: list[FeedEntry]
    problem: str | None = None
    unlinked: int = 0  # entries without a link (a description or an enclosure only): nothing to fetch


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> list[FeedEntry]:
    """Parse a feed's bytes; entries without a link are dropped (see `read_feed`)."""
    return read_feed(body, base_url, content_type).entries


def read_feed(body: bytes, base_url: str, content_type: str | None = None) -> FeedDocument:
    """Parse a feed's bytes into entries, noting recoverable errors.

    The bytes are decoded the way pages are (`decode_feed`), and feedparser is given
    UTF-8 it cannot mistake for anything else. A feed with recoverable errors
    (feedparser's "bozo") still yields the entries it could read, with the error as
    `problem`; a document that yields no entry with a link and is not a well-formed
    empty feed is refused with NotAFeedError.
    """
    if not body.strip():
        raise NotAFeedError(f"{base_url}: empty response, not a feed")
    text, mime = decode_feed(body, content_type)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return _read_json_feed(text, base_url)
    headers = {"content-location": base_url, "content-type": f"{mime}; charset=utf-8"}
    parsed = feedparser.parse(_as_utf8_xml(text), response_headers=headers)
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        problem = None  # notes on the headers (we set the encoding ourselves), not parse errors
    if not parsed.entries and (problem is not None or not version):
        # An empty but valid feed has a version ("rss20", "atom10"); HTML or junk has none.
        reason = _describe_problem(problem) if problem is not None else "no RSS, Atom or JSON Feed document found"
        raise NotAFeedError(f"{base_url}: not a readable feed ({reason})")
    entries = []
    unlinked = 0
    for entry in parsed.entries:
        link = _entry_link(entry)
        url = resolve_link(base_url, link) if link else ""
        if not url or same_page(url, base_url):
            # feedparser reads "http://" against the feed as the feed itself, which was then
            # requested as the entry's article on every run: no link to an article either.
            unlinked += 1
            continue
        published, date_source = _entry_date(entry)
        entries.append(
            FeedEntry(
                url=url,
                title=_clean(_title_text(entry)),
                published=published,
                author=_clean(entry.get("author")),
                summary=_clean(entry.get("summary")),
                date_source=date_source,
            )
        )
    if parsed.entries and not entries:
        detail = f"; {_describe_problem(problem)}" if problem is not None else ""
        raise NotAFeedError(f"{base_url}: {len(parsed.entries)} feed entries but no link in any of them{detail}")
    if problem is not None:
        logger.info("feed %s parsed with recoverable errors: %s", base_url, _describe_problem(problem))
        return FeedDocument(entries, _describe_problem(problem), unlinked)
    return FeedDocument(entries, unlinked=unlinked)


# The media types a page's <link rel="alternate"> uses for its feeds (RSS, Atom, RDF, JSON Feed).
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                         "application/feed+json", "application/json", "application/xml", "text/xml"})


def advertised_feeds(body: bytes, base_url: str, content_type: str | None = None) -> list[str]:
    """The http(s) feeds an HTML page advertises (`<link rel="alternate" type="application/rss+xml">`), in page order.

    What a feed reader does when given a site's address instead of its feed (RSS
    autodiscovery, as Miniflux and browsers read it). Not a page: nothing advertised.
    """
    try:
        document = lxml.html.document_fromstring(decode_page(body, content_type).text)
    except (ExtractionError, ParserError, ValueError):
        return []
    base = document_base(document, base_url)
    feeds: list[str] = []
    for link in document.xpath("//link[@href][@type][@rel]"):
        rel = str(link.get("rel")).lower().split()
        media_type = str(link.get("type")).split(";")[0].strip().lower()
        href = str(link.get("href")).strip()
        if "alternate" not in rel or media_type not in _FEED_TYPES or not href:
            continue
        url = resolve_link(base, href)
        if url.lower().startswith(("http://", "https://")) and url_problem(url) is None and url not in feeds:
            feeds.append(url)
    return feeds


# What comes before a document's first element (a BOM, blanks, an XML declaration, comments),
# and first elements that settle what the document is, whatever its Content-Type says.
_PROLOGUE = re.compile(rb"(?:\xef\xbb\xbf|\s|<\?.*?\?>|<!--.*?-->)*", re.S)
_PAGE_START = re.compile(rb"<!doctype\s+html|<html[\s>]", re.I)
_FEED_START = re.compile(rb"<(?:rss|feed|rdf:rdf|channel)[\s>/]", re.I)


def is_web_page(body: bytes, content_type: str | None = None) -> bool:
    """Whether bytes that are no feed are plainly an HTML page, not a feed that is broken.

    Markup that opens with `<!DOCTYPE html` or `<html` is a page; markup that opens with a
    feed's root element is a feed, broken or not, even under `text/html` (many servers send
    feeds so). Anything else that is markup is a page when the server said `text/html`.
    """
    head = body[:65536]
    start = head[_PROLOGUE.match(head).end():]  # type: ignore[union-attr]  # matches the empty prefix at least
    if _PAGE_START.match(start):
        return True
    if _FEED_START.match(start):
        return False
    mime = (content_type or "").split(";")[0].strip().lower()
    return mime == "text/html" and start.startswith(b"<")


def decode_feed(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, media type): a feed's bytes decoded with the page logic of `crawler.extract.decode`.

    The XML declaration's encoding counts as a declared charset, as a page's `<meta>` does:
    after the HTTP header's charset, and like any declaration only believed when the bytes
    agree. (It used to count only without a header charset, so a server's default
    `charset=utf-8` or ISO-8859-1 over a Latin-1 or KOI8-R feed hid what the feed said.)
    """
    mime = (content_type or "application/xml").split(";")[0].strip().lower() or "application/xml"
    header = charset_from_content_type(content_type)
    match = _XML_ENCODING.match(body[:200])
    in_document = match.group(1).decode("ascii", errors="replace") if match else None
    label = f"{mime}; charset={header}" if header else mime
    return decode_page(body, label, document_charset=in_document).text, mime


def _as_utf8_xml(text: str) -> bytes:
    """The document as UTF-8 bytes whose XML declaration (if any) says utf-8."""
    text = text.lstrip("\ufeff")
    match = _XML_DECLARATION.match(text)
    if match:
        text = text[match.end():]
    return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8", errors="replace")


def _clean(value: object) -> str | None:
    # A replacement character in a title is a decoding scar, never content; a control character is never content.
    text = strip_controls(str(value or "").replace("\ufffd", "")).strip()
    return text or None


def _title_text(entry: Any) -> str | None:
    """The entry's title as text: feedparser keeps a title it reads as HTML (CDATA with tags or
    entities, Atom's type="html" or "xhtml") as markup, which no list or digest should show."""
    title = entry.get("title")
    detail = entry.get("title_detail") or {}
    if not title or "html" not in str(detail.get("type", "")):
        return title
    try:
        text = lxml.html.fragment_fromstring(str(title), create_parent="div").text_content()
    except (ParserError, ValueError):
        return str(title)
    return re.sub(r"\s+", " ", text)


def _describe_problem(problem: object) -> str:
    text = str(problem) or type(problem).__name__
    if "SAX" in type(problem).__name__ or "XML" in type(problem).__name__:
        return f"not well-formed XML: {text}"
    return text


def _entry_link(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    link = entry.get("link")
    if link:
        return str(link)
    guid = entry.get("id") or ""
    return guid if guid.startswith(("http://", "https://")) else None


def _entry_date(entry: Any) -> tuple[datetime | None, str]:
    """(published, "feed" | "feed-day"): the entry's publication date, else its update date.

    A date outside 1990-2100 (the Unix epoch or year 1, a CMS's way of printing none) is no date,
    as on pages.

    feedparser reads a bare day (`<dc:date>2025-02-12</dc:date>`, an Atom `<updated>` without
    a time) as midnight UTC, a time nobody published at; its raw string says whether there
    was a time of day. RSS 1.0's dc:date arrives as `updated`.
    """
    for key in ("published", "updated"):
        published = _struct_time(entry.get(f"{key}_parsed"))
        if published is not None and plausible_year(published):
            return published, "feed" if has_time_of_day(str(entry.get(key) or "")) else "feed-day"
    return None, "feed"


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _read_json_feed(text: str, base_url: str) -> FeedDocument:
    """A JSON Feed's items as entries; an item without a URL is counted as `unlinked`, as in RSS and Atom."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotAFeedError(f"{base_url}: not a readable JSON Feed ({exc})") from exc
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise NotAFeedError(f"{base_url}: JSON document is not a JSON Feed")
    items = document.get("items") or []
    entries = []
    unlinked = 0
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not link or not isinstance(link, str) or same_page(resolve_link(base_url, link), base_url):
            unlinked += 1  # content or attachments only (or a link to the feed itself): nothing to fetch
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = authors[0].get("name") if isinstance(authors, list) and authors and isinstance(authors[0], dict) else None
        date = item.get("date_published") or item.get("date_modified")
        entries.append(
            FeedEntry(
                url=resolve_link(base_url, link),
                title=_clean(item.get("title") if isinstance(item.get("title"), str) else None),
                published=_json_feed_date(date),
                author=_clean(author) if isinstance(author, str) else None,
                summary=_clean(item.get("summary") if isinstance(item.get("summary"), str) else None),
                date_source="feed" if not isinstance(date, str) or has_time_of_day(date) else "feed-day",
            )
        )
    if unlinked and not entries:
        raise NotAFeedError(f"{base_url}: {unlinked} feed entries but no link in any of them")
    return FeedDocument(entries, unlinked=unlinked)


def _json_feed_date(value: Any) -> datetime | None:
    # JSON Feed dates are RFC 3339; a missing zone is read as UTC rather than guessed.
    return parse_datetime(value, UTC) if isinstance(value, str) else None
