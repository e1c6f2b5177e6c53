"""The crawler's configuration sections: `[crawler]`, `[[sources]]` and `[recheck]`.

Parsed once by the loader (`scheduler.config`) into typed values: durations are
`timedelta`s, time zones are checked, selectors compile. Crawler code receives these
sections, never the whole configuration.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from storage.settings import CssSelector, Duration, HttpUrl, Section, Selector, TimeZoneName, XPathExpression


class CrawlerConfig(Section):
    contact_url: HttpUrl = Field(
        "https://github.com/mediawatch/mediawatch",
        description="URL named in the User-Agent so site owners can reach the operator",
    )
    obey_robots: bool = Field(True, description="obey robots.txt")
    concurrency_per_host: int = Field(2, ge=1, le=8, description="parallel requests per host")
    download_timeout: float = Field(30.0, gt=0, description="seconds before a request is abandoned")
    max_page_bytes: int = Field(10 * 1024 * 1024, gt=0, description="larger responses are refused")
    retry_times: int = Field(2, ge=0, le=10, description="retries for 5xx and timeouts (never for 4xx)")
    autothrottle: bool = Field(True, description="adapt the request rate to each host's latency")
    max_articles_per_run: int = Field(200, ge=1, description="article pages fetched per source per run")
    retry_backoff: float = Field(2.0, ge=0, description="seconds before the first retry; doubles each retry")
    unhealthy_after: int = Field(3, ge=1, description="failed runs in a row before a source is unhealthy")
    max_backoff: Duration = Field(timedelta(days=1), description="longest interval an unhealthy source is backed off to")


class RecheckConfig(Section):
    enabled: bool = Field(True, description="re-check recent articles for edits and takedowns")
    every: Duration = Field(timedelta(hours=6), description="how often the daemon re-checks")
    days: int = Field(7, ge=1, description="re-check articles fetched in the last N days")
    max_per_run: int = Field(500, ge=1, description="articles re-checked per run, least recently checked first")


class SelectorsConfig(Section):
    """Per-source extraction overrides: CSS selectors, or XPath when they start with / or (."""

    body: Selector | None = Field(None, description="selector for the article body")
    title: Selector | None = Field(None, description="selector for the headline")
    date: Selector | None = Field(None, description="selector for the publication date (text or datetime attribute)")
    author: Selector | None = Field(None, description="selector for the author")


class SourceConfig(Section):
    name: str = Field(min_length=1, pattern=r"^[\w.-]+$", description="short unique name (letters, digits, - _ .)")
    kind: Literal["feed", "listing", "sitemap"] = Field(description="feed, listing or sitemap")
    url: HttpUrl = Field(description="the feed, listing page or sitemap URL")
    every: Duration = Field(timedelta(minutes=30), description="how often to crawl, e.g. '30m', '2h'")
    topics: list[str] | None = Field(None, description="topics this source feeds (default: all)")
    allow_private: bool = Field(False, description="allow private/loopback addresses (test fixtures only)")
    link_selector: CssSelector | None = Field(None, description="listing: CSS selector for article links")
    link_xpath: XPathExpression | None = Field(None, description="listing: XPath for article links")
    title: str | None = Field(None, description="display name of the outlet")
    timezone: TimeZoneName = Field("Asia/Shanghai", description="publisher's time zone, for dates printed without one")
    enabled: bool = Field(True, description="set false to keep a source configured but idle")
    silent_after: Duration | None = Field(
        None, description="unhealthy when nothing new for this long (default: 10 × every, at least 2d)"
    )
    selectors: SelectorsConfig | None = Field(None, description="extraction overrides for this source's pages")

    @model_validator(mode="after")
    def _listing_needs_selector(self) -> SourceConfig:
        if self.kind == "listing" and not (self.link_selector or self.link_xpath):
            raise ValueError("a listing source needs link_selector (CSS) or link_xpath")
        return self

    @property
    def silence_limit(self) -> timedelta:
        if self.silent_after is not None:
            return self.silent_after
        return max(self.every * 10, timedelta(days=2))

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
