"""What one crawl of one source needs and what it counts (handed to the spider), and the item it yields."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from crawler.config import SourceConfig
from crawler.discovery.context import DiscoveryRun
from crawler.storylines import StorylineIndex
from crawler.topics.matcher import TopicMatcher
from storage.repository import Repository
from storage.types import ExtractedArticle, FeedEntry, TopicMatch

if TYPE_CHECKING:
    from crawler.pool import PagePool
    from crawler.writer import ArticleWriter


@dataclass
class SourceTally:
    """Running counts for one source in one run (mutated by the spider and the pipeline)."""

    found: int = 0  # article links seen in the feed, listing or sitemap
    new: int = 0  # articles stored by this run
    duplicate: int = 0  # already stored (skipped before download, or lost an insert race)
    failed: int = 0  # article pages that could not be fetched, extracted or stored
    refused: int = 0  # links not followed: not http(s)
    deferred: int = 0  # links left for later: backing off after failures, or their host asked us to wait
    # Of the deferred and failed links, those a later run will fetch (capped, backing off, host
    # waiting, failed now): while there are any, the source's validators are not kept.
    unfinished: int = 0
    text_missing: int = 0  # stored from the feed entry because the page had no extractable text
    lost: list[str] = field(default_factory=list)  # why entries may be missing (a malformed feed, …)
    http_status: int | None = None  # status of the source URL itself
    not_modified: bool = False  # the source answered 304
    index: bool = False  # the source is a sitemap index: its answer says nothing about its sitemaps'
    source_error: str | None = None  # why the source URL itself failed
    robots_blocked: int = 0
    etag: str | None = None
    last_modified: str | None = None
    errors: list[str] = field(default_factory=list)
    first_failure: str | None = None  # the first article page's failure (errors also hold refusals and notes)
    # When this source's last response or stored article was handled (time.monotonic()): sources
    # share one crawl, and each one's time is measured up to here rather than to the crawl's end.
    last_activity: float | None = None

    def note_error(self, message: str, *, limit: int = 20) -> None:
        if len(self.errors) < limit:
            self.errors.append(message)

    def note_failure(self, message: str) -> None:
        """An article page that failed: noted, and kept as the run's first failure if it is."""
        if self.first_failure is None:
            self.first_failure = message
        self.note_error(message)

    def touch(self) -> None:
        self.last_activity = time.monotonic()


@dataclass
class CrawlContext:
    """Dependencies of one source's spider; built by the runner, never global."""

    source: SourceConfig
    matchers: Sequence[TopicMatcher]  # built once per crawl, one per topic this source feeds
    repository: Repository
    clock: Callable[[], datetime]
    local_tz: tzinfo
    max_articles: int
    storylines: StorylineIndex
    etag: str | None = None
    last_modified: str | None = None
    tally: SourceTally = field(default_factory=SourceTally)
    discovery: DiscoveryRun | None = None  # shared by every source of one crawl; None: no discovery
    pool: PagePool | None = None  # extraction, matching and fingerprints in worker processes
    writer: ArticleWriter | None = None  # stores articles in batches off the reactor; None: one at a time, here

    @property
    def private_hosts(self) -> frozenset[str]:
        """Hosts this source may reach on private addresses (see `SourceConfig.private_hosts`)."""
        return self.source.private_hosts


@dataclass
class ArticleItem:
    """What the source spider hands the pipeline: one extracted page and the entry that led to it."""

    canonical_url: str
    article: ExtractedArticle
    entry: FeedEntry
    source: str = ""  # the name of the source whose crawl found it
    discovered_via: str = "listed"  # listed | search | rsshub | cited
    cited_by: int | None = None  # the stored article whose link led here
    outlinks: tuple[str, ...] = ()  # canonical URLs this page cites (followed if it proves on topic)
    matches: list[TopicMatch] | None = None  # computed with the extraction in a worker process
    fingerprint: Any = None  # the storyline signature, likewise
    search_terms: tuple[str, ...] | None = None  # the search index's terms, likewise
    content_hash: str | None = None  # the body's hash, likewise
    alias: str | None = None  # the canonical URL the entry gave, when it redirected to `canonical_url`
    title_source: str = "page"  # "page" | "feed": where `article.title` came from
    date_source: str | None = None  # "page" | "feed" | "feed-day" | "sitemap" | "sitemap-day" | "fetched"
    text_missing: bool = False  # the page had no extractable text: stored from the entry
