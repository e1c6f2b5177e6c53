"""The crawler's configuration sections: `[crawler]`, `[[sources]]` and `[recheck]`.

Parsed once by the loader (`scheduler.config`) into typed values: durations are
`timedelta`s, time zones are checked, selectors compile. Crawler code receives these
sections, never the whole configuration.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from crawler.fetch.policy import host_literal, is_public_address
from storage.durations import format_duration
from storage.settings import CssSelector, Duration, HttpUrl, Section, Selector, TimeZoneName, XPathExpression


class CrawlerConfig(Section):
    contact_url: HttpUrl = Field(
        "https://github.com/mediawatch/mediawatch",
        description="URL named in the User-Agent so site owners can reach the operator",
    )
    obey_robots: bool = Field(True, description="obey robots.txt")
    concurrency_per_host: int = Field(2, ge=1, le=8, description="parallel requests per host")
    download_timeout: float = Field(30.0, gt=0, le=3600, description="seconds before a request is abandoned")
    max_page_bytes: int = Field(10 * 1024 * 1024, gt=0, description="larger responses are refused")
    retry_times: int = Field(2, ge=0, le=10, description="retries for 5xx and timeouts (never for 4xx)")
    autothrottle: bool = Field(True, description="adapt the request rate to each host's latency")
    max_articles_per_run: int = Field(200, ge=1, description="article pages fetched per source per run")
    retry_backoff: float = Field(2.0, ge=0, le=600, description="seconds before the first retry; doubles each retry")
    unhealthy_after: int = Field(3, ge=1, description="failed runs in a row before a source is unhealthy")
    extract_processes: int = Field(
        0, ge=0, le=64, description="worker processes that extract, match and fingerprint pages (0: on the crawl's own thread)"
    )
    store_batch: int = Field(
        50, ge=1, le=10_000, description="articles a crawl stores per database transaction, on a thread of its own"
    )
    store_delay: float = Field(
        0.5, gt=0, le=60, description="seconds a stored article waits at most for its batch to fill (less once none arrived for a tenth of it)"
    )
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


class DiscoveryConfig(Section):
    """`[discovery]`: finding coverage nobody listed (see README "Discovery")."""

    rsshub_url: HttpUrl = Field("http://127.0.0.1:1200", description="the RSSHub instance rsshub sources' routes are read from")
    outlinks: bool = Field(True, description="follow links in on-topic articles to the reports they cite")
    outlink_hosts: list[str] = Field(
        default_factory=list,
        description="hosts cited links may be fetched from ('*.example.com' for subdomains); empty: the listed sources' hosts",
    )
    outlink_deny: list[str] = Field(default_factory=list, description="hosts cited links are never fetched from")
    max_outlinks_per_run: int = Field(20, ge=0, description="cited pages fetched per crawl run, all sources together")
    render_concurrency: int = Field(2, ge=1, le=8, description="pages rendered in the browser at once (render = true)")
    render_timeout: float = Field(30.0, gt=0, le=3600, description="seconds a rendered page may take to load")
    browser: str = Field("/usr/bin/chromium", description="the Chromium executable render = true drives (never downloaded)")


# Engine presets for search sources: the feed URL template for each edition.
# {query} is filled with the URL-encoded query when the source is fetched.
_GOOGLE_NEWS = "https://news.google.com/rss/search?q={query}&hl=%s&gl=%s&ceid=%s"
_BING_NEWS = "https://www.bing.com/news/search?q={query}&format=rss&mkt=%s&setlang=%s"
ENGINE_EDITIONS: dict[str, dict[str, str]] = {
    "google-news": {
        "zh-CN": _GOOGLE_NEWS % ("zh-CN", "CN", "CN:zh-Hans"),
        "zh-TW": _GOOGLE_NEWS % ("zh-TW", "TW", "TW:zh-Hant"),
        "zh-HK": _GOOGLE_NEWS % ("zh-HK", "HK", "HK:zh-Hant"),
        "en": _GOOGLE_NEWS % ("en-US", "US", "US:en"),
    },
    "bing-news": {
        "zh-CN": _BING_NEWS % ("zh-CN", "zh-Hans"),
        "zh-TW": _BING_NEWS % ("zh-TW", "zh-Hant"),
        "zh-HK": _BING_NEWS % ("zh-HK", "zh-Hant"),
        "en": _BING_NEWS % ("en-US", "en"),
    },
}
# A news-search engine is asked at most this often per source, whatever `every` says.
MIN_SEARCH_EVERY = timedelta(minutes=15)
# Any other site at most this often: more is polling someone else's server, not crawling it.
# A source on a private address (`allow_private`: your own server, a test fixture) may go faster.
MIN_EVERY = timedelta(minutes=1)


class SourceConfig(Section):
    name: str = Field(min_length=1, pattern=r"^[\w.-]+$", description="short unique name (letters, digits, - _ .)")
    kind: Literal["feed", "listing", "sitemap", "search", "rsshub"] = Field(
        description="feed, listing, sitemap, search (a news-search feed) or rsshub (a route on an RSSHub instance)"
    )
    url: HttpUrl = Field(
        description="the feed (or a page advertising it), listing page or sitemap URL (a gzipped `sitemap.xml.gz` too, or the robots.txt naming the sitemaps); search: a template with {query}; rsshub: set from route"
    )
    engine: Literal["google-news", "bing-news"] | None = Field(
        None, description="search: fill url from this engine's preset for `edition`"
    )
    edition: Literal["zh-CN", "zh-TW", "zh-HK", "en"] = Field(
        "zh-CN", description="search: language edition (picks the query's script and the engine's locale)"
    )
    query: str | None = Field(None, description="search: the query, verbatim (default: built from the topic's terms)")
    query_groups: list[str] | None = Field(
        None, description="search: topic groups the built query ANDs together (default: keywords, else the top group)"
    )
    route: str | None = Field(None, description="rsshub: the route, e.g. '/zaobao/realtime/china'")
    render: bool = Field(False, description="fetch pages in headless Chromium (for pages whose text needs script)")
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

    @model_validator(mode="before")
    @classmethod
    def _url_from_engine(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "search" and data.get("engine") and not data.get("url"):
            editions = ENGINE_EDITIONS.get(str(data["engine"]), {})
            edition = str(data.get("edition", "zh-CN"))
            if edition in editions:
                return {**data, "url": editions[edition]}
        return data

    @model_validator(mode="after")
    def _listing_needs_selector(self) -> SourceConfig:
        if self.kind == "listing" and not (self.link_selector or self.link_xpath):
            raise ValueError("a listing source needs link_selector (CSS) or link_xpath")
        if self.kind == "search":
            if "{query}" not in self.url:
                raise ValueError("a search source's url is a template with {query} (or give engine = ...)")
            if self.every < MIN_SEARCH_EVERY:
                raise ValueError("a search source is asked at most every 15m: search engines rate-limit")
        if self.every < MIN_EVERY and not self.allow_private:
            raise ValueError(f"every {format_duration(self.every)!r} is too often: at least "
                             f"{format_duration(MIN_EVERY)} between crawls of a site")
        if self.kind == "rsshub" and not self.route:
            raise ValueError("an rsshub source needs route, e.g. '/zaobao/realtime/china'")
        if (private := self._private_host()) is not None:
            raise ValueError(f"{private} is a private or loopback address, which crawls refuse; "
                             "set allow_private = true on the source to crawl your own server")
        return self

    def _private_host(self) -> str | None:
        """The URL's host when it is a private or loopback IP address and that is not allowed.

        A name is resolved, and refused if it points inside the network, when it is fetched;
        an address is refused here, so `config check` does not pass a source that never works.
        """
        literal = host_literal(self.url)
        if literal is None or literal.lower() in self.private_hosts or is_public_address(literal):
            return None
        return literal

    @property
    def silence_limit(self) -> timedelta:
        if self.silent_after is not None:
            return self.silent_after
        return max(self.every * 10, timedelta(days=2))

    @property
    def private_hosts(self) -> frozenset[str]:
        """Hosts this source may reach on private addresses: its own, when `allow_private` is set.

        An RSSHub instance is self-hosted, so usually private (`http://rsshub:1200` in
        compose): an rsshub source may always reach the instance it is configured with.
        """
        own = frozenset({(urlsplit(self.url).hostname or "").lower()})
        return own if self.allow_private or self.kind == "rsshub" else frozenset()

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def discovery_path(self) -> str:
        """How articles from this source were found: listed, search or rsshub (cited is set per article)."""
        return self.kind if self.kind in ("search", "rsshub") else "listed"


def rsshub_url(instance: str, route: str) -> str:
    """The feed URL of an RSSHub route on an instance."""
    return instance.rstrip("/") + "/" + route.lstrip("/")
