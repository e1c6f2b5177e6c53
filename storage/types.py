"""Plain data types that travel between the packages (not database tables).

Tables live in `storage.models`; everything here is an immutable value that a
pure function produces or consumes, so tests can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DecodedPage:
    """A page's bytes turned into text, and how the codec was chosen."""

    text: str
    encoding: str  # the Python codec actually used, e.g. "gb18030", "utf-8"
    declared: str | None  # what the HTTP header or <meta> claimed, if anything
    reason: str  # "bom", "http-header", "meta", "detected", "fallback"


@dataclass(frozen=True)
class ExtractedArticle:
    """What the extractor got out of one article page."""

    url: str
    title: str
    text: str
    author: str | None = None
    published: datetime | None = None  # timezone-aware
    language: str | None = None  # "zh-Hans", "zh-Hant", "en", ... or None
    encoding: str | None = None


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a parsed feed: where the article is and what the feed says of it."""

    url: str
    title: str | None = None
    published: datetime | None = None  # timezone-aware
    author: str | None = None
    summary: str | None = None
    # Where `published` came from: "feed", "sitemap", or "feed-day" / "sitemap-day" for a date
    # without a time (a sitemap <lastmod> or an RSS 1.0 <dc:date> of 2025-02-09), which a page's
    # exact time must beat.
    date_source: str | None = None

    @property
    def day_only(self) -> bool:
        """Whether `published` is only a day (read as midnight UTC): a hint a page's exact time beats."""
        return self.date_source in ("feed-day", "sitemap-day")


@dataclass(frozen=True)
class TopicMatch:
    """Why an article belongs (or not) to a topic."""

    topic: str
    score: float  # in [0, 1]
    relevant: bool
    matched: tuple[str, ...] = field(default_factory=tuple)


# A run that ended in one of these did not do all it should have, and its error says why; a
# run that went well may carry a note in the same field ("3 link(s) deferred ...").
TROUBLED_STATUSES = frozenset({"failed", "partial", "skipped", "interrupted"})


@dataclass(frozen=True)
class RunOutcome:
    """How one crawl run ended: what `Repository.finish_runs` records for its source."""

    run_id: int
    status: str  # ok | partial | not_modified | failed | interrupted | skipped
    found: int = 0
    new: int = 0
    duplicate: int = 0
    failed: int = 0
    http_status: int | None = None
    error: str | None = None
    refused: int = 0
    # The source page's ETag and Last-Modified to send next time; None leaves the stored ones as they are.
    validators: tuple[str | None, str | None] | None = None
