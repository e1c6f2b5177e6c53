"""The spider that crawls one configured source: a feed, a listing page or a sitemap.

One spider class handles the three kinds because they differ only in how the
source page becomes a list of article links; parsing is delegated to pure
functions (`crawler.parse.feeds`, `crawler.parse.listings`) and extraction to `crawler.extract.article`.
Every failure is counted on the source's tally and logged; none stops the crawl.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extract.article import extract_with_overrides
from crawler.extract.decode import decode_page
from crawler.fetch.failures import describe_failure, failed_request
from crawler.fetch.policy import conditional_headers
from crawler.fetch.urls import canonicalize_url
from crawler.parse.feeds import parse_feed
from crawler.parse.listings import pick_links
from crawler.parse.sitemaps import parse_sitemap
from crawler.spiders.context import ArticleItem, CrawlContext
from storage.errors import MediawatchError
from storage.types import FeedEntry

logger = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 5
HTML_TYPES = (b"text/html", b"application/xhtml+xml", b"text/plain", b"")


class SourceSpider(scrapy.Spider):
    name = "mediawatch-source"

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=f"source-{context.source.name}", **kwargs)
        self.context = context
        self.tally = context.tally

    async def start(self) -> AsyncIterator[scrapy.Request]:
        source = self.context.source
        # Conditional GET: an unchanged feed costs a 304 and nothing else.
        headers = conditional_headers(self.context.etag, self.context.last_modified) if source.kind == "feed" else {}
        yield scrapy.Request(
            source.url,
            headers=headers,
            callback=self.parse_source,
            errback=self.source_failed,
            dont_filter=True,
            meta={"handle_httpstatus_list": [304], "mediawatch_role": "source"},
        )

    # -- the source page -----------------------------------------------------
    def parse_source(self, response: Response) -> Iterator[scrapy.Request]:
        source = self.context.source
        if response.meta.get("mediawatch_role") == "source":
            self.tally.http_status = response.status
        if response.status == 304:
            self.tally.not_modified = True
            logger.info("source=%s url=%s status=304 not modified", source.name, response.url)
            return
        try:
            entries, children = self._entries_from(response)
        except MediawatchError as exc:
            self.tally.source_error = str(exc)
            logger.warning("source=%s url=%s error=%s", source.name, response.url, exc)
            return
        if response.meta.get("mediawatch_role") == "source" and source.kind == "feed":
            self.tally.etag = _header(response, b"ETag")
            self.tally.last_modified = _header(response, b"Last-Modified")
        for child in children[:MAX_CHILD_SITEMAPS]:
            yield scrapy.Request(
                child,
                callback=self.parse_source,
                errback=self.source_failed,
                meta={"mediawatch_role": "child-sitemap"},
            )
        logger.info("source=%s url=%s status=%s entries=%d", source.name, response.url, response.status, len(entries))
        yield from self._follow(entries)

    def _entries_from(self, response: Response) -> tuple[list[FeedEntry], list[str]]:
        source = self.context.source
        content_type = _header(response, b"Content-Type")
        if source.kind == "feed":
            return parse_feed(response.body, response.url, content_type), []
        if source.kind == "sitemap":
            return parse_sitemap(response.body, response.url)
        html = decode_page(response.body, content_type).text
        links = pick_links(html, response.url, css=source.link_selector, xpath=source.link_xpath)
        return [FeedEntry(url=link) for link in links], []

    def _follow(self, entries: Iterable[FeedEntry]) -> Iterator[scrapy.Request]:
        by_url: dict[str, FeedEntry] = {}
        for entry in entries:
            by_url.setdefault(canonicalize_url(entry.url), entry)
        self.tally.found += len(by_url)
        known = self.context.repository.known_urls(by_url)
        self.tally.duplicate += len(known)
        fresh = [(url, entry) for url, entry in by_url.items() if url not in known]
        if len(fresh) > self.context.max_articles:
            logger.info(
                "source=%s capping %d new links at max_articles_per_run=%d",
                self.context.source.name, len(fresh), self.context.max_articles,
            )
            fresh = fresh[: self.context.max_articles]
        for canonical, entry in fresh:
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"entry": entry, "canonical": canonical},
                meta={"mediawatch_role": "article"},
            )

    def source_failed(self, failure: Failure) -> None:
        message = describe_failure(failure)
        if failed_request(failure).meta.get("mediawatch_role") == "source":
            response = getattr(failure.value, "response", None)
            if response is not None:
                self.tally.http_status = response.status
            self.tally.source_error = message
            if "robots.txt" in message:
                self.tally.robots_blocked += 1
        else:
            self.tally.note_error(message)
        logger.warning("source=%s url=%s error=%s", self.context.source.name, failed_request(failure).url, message)

    # -- article pages -------------------------------------------------------
    def parse_article(self, response: Response, entry: FeedEntry, canonical: str) -> Iterator[ArticleItem]:
        content_type = _header(response, b"Content-Type")
        mime = (content_type or "").split(";")[0].strip().lower().encode()
        if mime not in HTML_TYPES:
            self._article_error(response.url, f"not an HTML page (Content-Type {content_type})")
            return
        source = self.context.source
        try:
            extraction = extract_with_overrides(
                response.body,
                response.url,
                content_type,
                published_hint=entry.published,
                title_hint=entry.title,
                local_tz=self.context.local_tz,
                selectors=source.selectors,
            )
        except MediawatchError as exc:
            self._article_error(response.url, str(exc))
            return
        except Exception as exc:  # an extractor bug must not end the crawl
            logger.exception("source=%s url=%s extractor crashed", self.context.source.name, response.url)
            self._article_error(response.url, f"extractor crashed: {exc!r}")
            return
        # A configured selector that matches nothing usually means the site changed
        # its layout: say so on every page, and once per selector in the run's notes.
        for missed in extraction.missed_selectors:
            logger.warning(
                "source=%s url=%s selector %s matched nothing; extracted automatically",
                source.name, response.url, missed,
            )
            note = f"selector {missed} matched nothing (layout change?)"
            if not any(error.startswith(note) for error in self.tally.errors):
                self.tally.note_error(f"{note}, first on {response.url}")
        yield ArticleItem(canonical_url=canonical, article=extraction.article, entry=entry)

    def article_failed(self, failure: Failure) -> None:
        self._article_error(failed_request(failure).url, describe_failure(failure))

    def _article_error(self, url: str, message: str) -> None:
        self.tally.failed += 1
        if "robots.txt" in message:
            self.tally.robots_blocked += 1
        self.tally.note_error(f"{url}: {message}")
        logger.warning("source=%s url=%s article failed: %s", self.context.source.name, url, message)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

