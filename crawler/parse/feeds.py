"""Feed parsing: bytes plus a base URL in, entries out (RSS 0.9x/1.0/2.0, Atom, JSON Feed)."""

from __future__ import annotations

import json
import logging
from calendar import timegm
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from crawler.extract.dates import parse_datetime
from storage.errors import ExtractionError
from storage.types import FeedEntry

logger = logging.getLogger(__name__)


class NotAFeedError(ExtractionError):
    """The response is not a feed feedparser (or JSON Feed) can read."""


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> list[FeedEntry]:
    """Parse a feed's bytes; entries without a link are dropped.

    A feed with recoverable errors (feedparser's "bozo") still yields its entries;
    only a document with no entries at all and a parse error is refused.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return _parse_json_feed(stripped, base_url)
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.entries and (_broken(parsed) or not parsed.get("version")):
        # An empty but valid feed has a version ("rss20", "atom10"); HTML or junk has none.
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed document found"
        raise NotAFeedError(f"{base_url}: not a readable feed ({reason!s})")
    if parsed.bozo:
        logger.info("feed %s parsed with recoverable errors: %s", base_url, parsed.get("bozo_exception"))
    entries = []
    for entry in parsed.entries:
        link = _entry_link(entry)
        if not link:
            continue
        entries.append(
            FeedEntry(
                url=urljoin(base_url, link),
                title=(entry.get("title") or "").strip() or None,
                published=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
                author=(entry.get("author") or "").strip() or None,
                summary=(entry.get("summary") or "").strip() or None,
            )
        )
    return entries


def _broken(parsed: Any) -> bool:
    """A parse error, as opposed to feedparser's notes on headers (a missing or odd Content-Type)."""
    problem = parsed.get("bozo_exception")
    harmless = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    return bool(parsed.bozo) and not isinstance(problem, harmless)


def _entry_link(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    link = entry.get("link")
    if link:
        return str(link)
    guid = entry.get("id") or ""
    return guid if guid.startswith(("http://", "https://")) else None


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _parse_json_feed(body: bytes, base_url: str) -> list[FeedEntry]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAFeedError(f"{base_url}: not a readable JSON Feed ({exc})") from exc
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise NotAFeedError(f"{base_url}: JSON document is not a JSON Feed")
    entries = []
    for item in document.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not link:
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        entries.append(
            FeedEntry(
                url=urljoin(base_url, str(link)),
                title=(item.get("title") or "").strip() or None,
                published=_json_feed_date(item.get("date_published") or item.get("date_modified")),
                author=(authors[0].get("name") if authors and isinstance(authors[0], dict) else None),
                summary=(item.get("summary") or "").strip() or None,
            )
        )
    return entries


def _json_feed_date(value: Any) -> datetime | None:
    # JSON Feed dates are RFC 3339; a missing zone is read as UTC rather than guessed.
    return parse_datetime(value, UTC) if isinstance(value, str) else None
