"""The spider that crawls configured sources: feeds, listing pages and sitemaps.

One spider crawls every due source of a run (one `CrawlContext` each), so one
Scrapy crawler's downloader slots and robots.txt cache cover them all: per-host
concurrency and robots.txt hold across sources on the same host. Every request
carries its source's name in `meta["mediawatch_source"]`, and callbacks count on
that source's tally.

One spider class handles every kind (feed, listing, sitemap, search, rsshub) because
they differ only in how the source page becomes a list of article links (a search
source's links are engine links, resolved to the publisher's URL with
`crawler.discovery.search` before they are deduplicated); parsing is delegated to pure
functions (`crawler.parse.feeds`, `crawler.parse.listings`) and extraction to `crawler.extract.article`.
Every failure is counted on the source's tally and logged; none stops the crawl.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.discovery.gnews import parse_batchexecute
from crawler.discovery.outlinks import cited_links
from crawler.discovery.render import render_meta
from crawler.discovery.search import (
    ENGINE_HOSTS,
    engine_due,
    gnews_decode_request,
    is_engine_url,
    search_urls,
    unwrap_engine_link,
    worth_resolving,
)
from crawler.extract.article import extract_with_overrides
from crawler.extract.decode import decode_page
from crawler.fetch.failures import describe_failure, failed_request
from crawler.fetch.policy import conditional_headers
from crawler.fetch.urls import canonicalize_url
from crawler.parse.feeds import parse_feed
from crawler.parse.listings import pick_links
from crawler.parse.sitemaps import parse_sitemap
from crawler.pool import PageJob
from crawler.spiders.context import ArticleItem, CrawlContext, SourceTally
from storage.errors import MediawatchError
from storage.types import FeedEntry

logger = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 5
HTML_TYPES = (b"text/html", b"application/xhtml+xml", b"text/plain", b"")
FEED_KINDS = ("feed", "search", "rsshub")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_ENGINE_HOPS = 5


class SourceSpider(scrapy.Spider):
    name = "mediawatch-source"

    def __init__(
        self, contexts: Sequence[CrawlContext] | CrawlContext = (), context: CrawlContext | None = None, **kwargs: Any
    ) -> None:
        super().__init__(name="mediawatch-source", **kwargs)
        every = list(contexts) if isinstance(contexts, Sequence) else [contexts]
        every += [context] if context is not None else []
        self.contexts: dict[str, CrawlContext] = {c.source.name: c for c in every}
        self._engine_last_asked: dict[str, datetime | None] = {}  # search sources: when the engine last answered

    @property
    def context(self) -> CrawlContext:
        """The context when the spider crawls a single source (tests, one-off crawls)."""
        [only] = self.contexts.values()
        return only

    @property
    def tally(self) -> SourceTally:
        return self.context.tally

    def context_of(self, request: scrapy.Request | None) -> CrawlContext:
        """The context of the source a request was made for."""
        name = request.meta.get("mediawatch_source") if request is not None else None
        return self.contexts[name] if name is not None else self.context

    def request(self, context: CrawlContext, url: str, *, role: str, **kwargs: Any) -> scrapy.Request:
        """A request on behalf of `context`'s source (its name and fetch policy ride in meta)."""
        meta = {
            "mediawatch_source": context.source.name,
            "mediawatch_role": role,
            "mediawatch_private_hosts": context.private_hosts,
            **kwargs.pop("meta", {}),
        }
        return scrapy.Request(url, meta=meta, **kwargs)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for context in self.contexts.values():
            source = context.source
            # Conditional GET: an unchanged feed costs a 304 and nothing else.
            feedlike = source.kind in ("feed", "rsshub")
            headers = conditional_headers(context.etag, context.last_modified) if feedlike else {}
            # A listing page may need the browser; feeds and sitemaps are data, never rendered.
            render = self._render_meta(context) if source.kind == "listing" else {}
            for url in self._source_urls(context):
                yield self.request(
                    context,
                    url,
                    role="source",
                    headers=headers,
                    callback=self.parse_source,
                    errback=self.source_failed,
                    dont_filter=True,
                    meta={"handle_httpstatus_list": [304], **render},
                )

    def _source_urls(self, context: CrawlContext) -> list[str]:
        source = context.source
        if source.kind != "search":
            return [source.url]
        # An engine is asked no more often than the source's cadence, however often crawls are started.
        last = context.repository.last_source_fetch(source.name)
        self._engine_last_asked[source.name] = last
        if not engine_due(last, context.clock(), source.every):
            context.tally.not_modified = True
            logger.info("source=%s search engine asked at %s; not again before its cadence (every %s)",
                        source.name, last, source.every)
            return []
        urls = search_urls(source, [m.topic for m in context.matchers])
        if not urls:
            context.tally.source_error = f"no query: the topics have no terms in the {source.edition} edition's script"
        return urls

    def _render_meta(self, context: CrawlContext) -> dict[str, Any]:
        discovery = getattr(context, "discovery", None)
        if not context.source.render or discovery is None:
            return {}
        return render_meta(
            discovery.settings.config, private_hosts=context.private_hosts,
            max_bytes=self.settings.getint("DOWNLOAD_MAXSIZE"),
        )

    # -- the source page -----------------------------------------------------
    def parse_source(self, response: Response) -> Iterator[scrapy.Request]:
        context = self.context_of(response.request)
        source, tally = context.source, context.tally
        if response.meta.get("mediawatch_role") == "source":
            tally.http_status = response.status
        if response.status == 304:
            tally.not_modified = True
            logger.info("source=%s url=%s status=304 not modified", source.name, response.url)
            return
        try:
            entries, children = self._entries_from(context, response)
        except MediawatchError as exc:
            tally.source_error = str(exc)
            logger.warning("source=%s url=%s error=%s", source.name, response.url, exc)
            return
        if response.meta.get("mediawatch_role") == "source" and source.kind in ("feed", "rsshub"):
            tally.etag = _header(response, b"ETag")
            tally.last_modified = _header(response, b"Last-Modified")
        for child in children[:MAX_CHILD_SITEMAPS]:
            yield self.request(context, child, role="child-sitemap", callback=self.parse_source, errback=self.source_failed)
        logger.info("source=%s url=%s status=%s entries=%d", source.name, response.url, response.status, len(entries))
        yield from self._follow(context, entries)

    def _entries_from(self, context: CrawlContext, response: Response) -> tuple[list[FeedEntry], list[str]]:
        source = context.source
        content_type = _header(response, b"Content-Type")
        if source.kind in FEED_KINDS:
            return parse_feed(response.body, response.url, content_type), []
        if source.kind == "sitemap":
            return parse_sitemap(response.body, response.url)
        html = decode_page(response.body, content_type).text
        links = pick_links(html, response.url, css=source.link_selector, xpath=source.link_xpath)
        return [FeedEntry(url=link) for link in links], []

    def _follow(self, context: CrawlContext, entries: Iterable[FeedEntry]) -> Iterator[scrapy.Request]:
        tally = context.tally
        by_url: dict[str, FeedEntry] = {}
        unresolved: dict[str, FeedEntry] = {}  # engine links only the engine can resolve
        for entry in entries:
            if context.source.kind == "search":
                publisher = unwrap_engine_link(entry.url, self._engine_hosts(context))
                if publisher is None:
                    if worth_resolving(entry.published, self._engine_last_asked.get(context.source.name)):
                        unresolved.setdefault(entry.url, entry)
                    continue
                entry = FeedEntry(publisher, entry.title, entry.published, entry.author, entry.summary)
            by_url.setdefault(canonicalize_url(entry.url), entry)
        tally.found += len(unresolved)
        for engine_url, entry in list(unresolved.items())[: context.max_articles]:
            yield self._engine_hop(context, engine_url, entry, 0)
        tally.found += len(by_url)
        known = context.repository.known_urls(by_url)
        tally.duplicate += len(known)
        fresh = [(url, entry) for url, entry in by_url.items() if url not in known]
        if len(fresh) > context.max_articles:
            logger.info(
                "source=%s capping %d new links at max_articles_per_run=%d",
                context.source.name, len(fresh), context.max_articles,
            )
            fresh = fresh[: context.max_articles]
        for canonical, entry in fresh:
            yield self.article_request(context, entry.url, entry, canonical)

    def article_request(
        self, context: CrawlContext, url: str, entry: FeedEntry, canonical: str, **meta: Any
    ) -> scrapy.Request:
        """The request for one article page of `context`'s source (rendered when the source says so)."""
        return self.request(
            context,
            url,
            role="article",
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"entry": entry, "canonical": canonical},
            meta={**self._render_meta(context), **meta},
        )

    # -- engine links (search sources) ----------------------------------------
    def _engine_hop(self, context: CrawlContext, url: str, entry: FeedEntry, hops: int) -> scrapy.Request:
        # The engine's redirect is read, not followed, so the publisher's URL is deduplicated
        # before its page is downloaded; each hop is a request of its own, under the fetch policy.
        return self.request(
            context,
            url,
            role="engine-link",
            callback=self.parse_engine_hop,
            errback=self.article_failed,
            cb_kwargs={"entry": entry, "hops": hops},
            meta={"dont_redirect": True, "handle_httpstatus_list": list(REDIRECTS)},
        )

    def parse_engine_hop(self, response: Response, entry: FeedEntry, hops: int) -> Iterator[scrapy.Request]:
        context = self.context_of(response.request)
        location = _header(response, b"Location")
        if response.status not in REDIRECTS or not location:
            # A Google News link with an opaque id answers with a page, not a redirect: ask for its URL.
            decode = gnews_decode_request(response) if response.status == 200 else None
            if decode is not None:
                yield decode.replace(
                    callback=self.parse_engine_decoded, errback=self.article_failed, cb_kwargs={"entry": entry},
                    meta={**response.request.meta, **decode.meta} if response.request else decode.meta,
                )
                return
            self._article_error(context, response.url,
                                f"engine link answered {response.status}, not a redirect to the publisher")
            return
        target = urljoin(response.url, location)
        if is_engine_url(target, self._engine_hosts(context)):
            if hops + 1 >= MAX_ENGINE_HOPS:
                self._article_error(context, entry.url, f"engine link still on the engine after {MAX_ENGINE_HOPS} redirects")
                return
            yield self._engine_hop(context, target, entry, hops + 1)
            return
        yield from self._publisher(context, target, entry)

    def parse_engine_decoded(self, response: Response, entry: FeedEntry) -> Iterator[scrapy.Request]:
        context = self.context_of(response.request)
        target = parse_batchexecute(response.text)
        if target is None or is_engine_url(target, self._engine_hosts(context)):
            self._article_error(context, entry.url, "Google News did not say which page its link stands for")
            return
        yield from self._publisher(context, target, entry)

    def _publisher(self, context: CrawlContext, target: str, entry: FeedEntry) -> Iterator[scrapy.Request]:
        canonical = canonicalize_url(target)
        if context.repository.known_urls([canonical]):
            context.tally.duplicate += 1
            return
        yield self.article_request(
            context, target, FeedEntry(target, entry.title, entry.published, entry.author, entry.summary), canonical
        )

    def _engine_hosts(self, context: CrawlContext) -> tuple[str, ...]:
        # The search source's own host is an engine host too (a self-hosted or fixture engine).
        return (*ENGINE_HOSTS, urlsplit(context.source.url).netloc)

    def source_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        context = self.context_of(request)
        tally = context.tally
        message = describe_failure(failure)
        if request.meta.get("mediawatch_role") == "source":
            response = getattr(failure.value, "response", None)
            if response is not None:
                tally.http_status = response.status
            tally.source_error = message
            if "robots.txt" in message:
                tally.robots_blocked += 1
        else:
            tally.note_error(message)
        logger.warning("source=%s url=%s error=%s", context.source.name, request.url, message)

    # -- article pages -------------------------------------------------------
    async def parse_article(self, response: Response, entry: FeedEntry, canonical: str) -> AsyncIterator[ArticleItem]:
        context = self.context_of(response.request)
        content_type = _header(response, b"Content-Type")
        mime = (content_type or "").split(";")[0].strip().lower().encode()
        if mime not in HTML_TYPES:
            self._article_error(context, response.url, f"not an HTML page (Content-Type {content_type})")
            return
        source = context.source
        matches, print_ = None, None
        try:
            pool = getattr(context, "pool", None)  # None: on this thread (and in bare test contexts)
            if pool is not None:
                # In a worker process: the reactor keeps downloading and storing meanwhile.
                result = await pool.process(PageJob(
                    response.body, response.url, content_type,
                    topics=tuple(m.name for m in context.matchers), storyline_params=context.storylines.params,
                    published_hint=entry.published, title_hint=entry.title, local_tz=context.local_tz,
                    selectors=source.selectors,
                ))
                extraction, matches, print_ = result.extraction, result.matches, result.fingerprint
            else:
                extraction = extract_with_overrides(
                    response.body,
                    response.url,
                    content_type,
                    published_hint=entry.published,
                    title_hint=entry.title,
                    local_tz=context.local_tz,
                    selectors=source.selectors,
                )
        except MediawatchError as exc:
            self._article_error(context, response.url, str(exc))
            return
        except Exception as exc:  # an extractor bug must not end the crawl
            logger.exception("source=%s url=%s extractor crashed", source.name, response.url)
            self._article_error(context, response.url, f"extractor crashed: {exc!r}")
            return
        # A configured selector that matches nothing usually means the site changed
        # its layout: say so on every page, and once per selector in the run's notes.
        for missed in extraction.missed_selectors:
            logger.warning(
                "source=%s url=%s selector %s matched nothing; extracted automatically",
                source.name, response.url, missed,
            )
            note = f"selector {missed} matched nothing (layout change?)"
            if not any(error.startswith(note) for error in context.tally.errors):
                context.tally.note_error(f"{note}, first on {response.url}")
        cited_by = response.meta.get("mediawatch_cited_by")
        discovery = getattr(context, "discovery", None)  # None: discovery off (and in bare test contexts)
        # Citations are followed one hop: a cited page's own links are not candidates.
        outlinks = (
            tuple(cited_links(response.body, response.url))
            if discovery is not None and discovery.settings.config.outlinks and cited_by is None else ()
        )
        yield ArticleItem(
            canonical_url=canonical, article=extraction.article, entry=entry, source=source.name,
            discovered_via="cited" if cited_by is not None else source.discovery_path,
            cited_by=cited_by, outlinks=outlinks, matches=matches, fingerprint=print_,
        )

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        self._article_error(self.context_of(request), request.url, describe_failure(failure))

    def _article_error(self, context: CrawlContext, url: str, message: str) -> None:
        tally = context.tally
        tally.failed += 1
        if "robots.txt" in message:
            tally.robots_blocked += 1
        tally.note_error(f"{url}: {message}")
        logger.warning("source=%s url=%s article failed: %s", context.source.name, url, message)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

