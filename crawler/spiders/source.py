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

import html
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler.config import SourceConfig
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
from crawler.fetch.failures import HostWaiting, describe_failure, failed_request
from crawler.fetch.policy import conditional_headers
from crawler.fetch.urls import canonicalize_url
from crawler.health import url_retry_at
from crawler.parse.feeds import NotAFeedError, advertised_feeds, is_web_page, read_feed
from crawler.parse.garbled import looks_garbled
from crawler.parse.links import shown_link, url_problem
from crawler.parse.listings import pick_links
from crawler.parse.sitemaps import parse_sitemap
from crawler.pool import PageJob
from crawler.spiders.context import ArticleItem, CrawlContext, SourceTally
from storage.errors import MediawatchError, NoArticleError
from storage.types import ExtractedArticle, FeedEntry

logger = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 5
# The sitemap protocol's own limit on a sitemap, uncompressed: `max_page_bytes` bounds pages,
# and a site's legal 16 MB sitemap used to fail its source on every run.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
FEED_KINDS = ("feed", "search", "rsshub")
# Requests whose failure is the source's: its URL, and the feed its page advertises when it is a web page.
SOURCE_ROLES = ("source", "advertised-feed")
REDIRECTS = (301, 302, 303, 307, 308)
MAX_ENGINE_HOPS = 5
HTML_TYPES = (b"text/html", b"application/xhtml+xml", b"text/plain", b"")
# Documents a feed or a listing publishes as coverage (a report, a statement): stored from the entry's
# title and summary, as a paywalled page is, rather than failed on every run. Images, audio and video
# are not coverage on their own and still fail as "not an HTML page".
DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.oasis.opendocument.text": "OpenDocument",
    "application/rtf": "RTF",
}
# How far past the fetch time a publication date may be before it is taken for a mistake:
# clocks disagree by a few minutes; a bare day (read as midnight UTC) by up to a day.
CLOCK_SKEW = timedelta(minutes=15)
DAY_DATE_SKEW = timedelta(days=1)



class SourceSpider(scrapy.Spider):
    name = "mediawatch-source"

    def __init__(
        self,
        contexts: Sequence[CrawlContext] | CrawlContext = (),
        context: CrawlContext | None = None,
        host_waits: dict[str, tuple[datetime, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name="mediawatch-source", **kwargs)
        # Hosts that answered with a long Retry-After: filled by RetryAfterMiddleware, stored by the runner.
        self.host_waits: dict[str, tuple[datetime, str]] = host_waits if host_waits is not None else {}
        every = list(contexts) if isinstance(contexts, Sequence) else [contexts]
        every += [context] if context is not None else []
        self.contexts: dict[str, CrawlContext] = {c.source.name: c for c in every}
        # Article URLs requested in this run by any source: two sources listing one story fetch it once.
        self.requested: set[str] = set()
        self._engine_last_asked: dict[str, datetime | None] = {}  # search sources: when the engine last answered
        # Sitemaps each source has asked for in this run: an index that lists itself (or one child
        # twice) is read once, not again for every mention down to the depth limit.
        self._sitemaps: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Weakly, as Scrapy's own receivers are: the dispatcher is module-level, and held strongly
        # the spider (its crawler, every source's context) outlived its crawl, a daemon run each.
        crawler.signals.connect(spider.callback_crashed, signal=signals.spider_error)
        return spider

    def callback_crashed(self, failure: Failure, response: Response | Failure, spider: scrapy.Spider) -> None:
        """A bug in a callback (not an HTTP error): Scrapy only logs it, so the run would read ok with 0 found."""
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        if request is None or request.meta.get("mediawatch_source") not in self.contexts:
            return
        context = self.context_of(request)
        message = f"spider error on {request.url}: {failure.value!r}"
        role = request.meta.get("mediawatch_role")
        if role == "source":
            context.tally.source_error = context.tally.source_error or message
        elif role == "child-sitemap":
            context.tally.lost.append(message)
        else:
            self._article_error(context, request.cb_kwargs.get("canonical") or canonicalize_url(request.url), message)

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
        context = self.contexts[name] if name is not None else self.context
        context.tally.touch()  # called for every response and failure of the source
        return context

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
            # Conditional GET: an unchanged feed, listing or sitemap costs a 304 and nothing else
            # (an engine's search results are asked for at most once per cadence instead).
            conditional = source.kind != "search"
            headers = conditional_headers(context.etag, context.last_modified) if conditional else {}
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
                    meta={"handle_httpstatus_list": [304], **render, **self._size_meta(source)},
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

    def _size_meta(self, source: SourceConfig) -> dict[str, Any]:
        """A sitemap may be as large as its protocol allows, whatever `max_page_bytes` says of pages."""
        if source.kind != "sitemap":
            return {}
        return {"download_maxsize": max(self.settings.getint("DOWNLOAD_MAXSIZE"), SITEMAP_MAX_BYTES)}

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
        role = response.meta.get("mediawatch_role")
        is_source = role in SOURCE_ROLES  # its failure is the source's
        if role == "source":
            tally.http_status = response.status
        if response.status == 304:
            sent = response.request.headers if response.request is not None else None
            if sent is None or not (sent.get(b"If-None-Match") or sent.get(b"If-Modified-Since")):
                # A 304 answers a conditional request; to one without validators there is nothing
                # "not modified" to keep, and taking it as such never read the source.
                fault = f"{response.url}: answered 304 Not Modified to a request without validators (a server or proxy fault)"
                if is_source:
                    tally.source_error = fault
                else:
                    tally.lost.append(fault)
                logger.warning("source=%s url=%s error=%s", source.name, response.url, fault)
                return
            tally.not_modified = True
            logger.info("source=%s url=%s status=304 not modified", source.name, response.url)
            return
        try:
            entries, children = self._entries_from(context, response)
        except MediawatchError as exc:
            content_type = _header(response, b"Content-Type")
            page_for_feed = role == "source" and source.kind == "feed" and isinstance(exc, NotAFeedError)
            feeds = advertised_feeds(response.body, response.url, content_type) if page_for_feed else []
            if feeds:
                # A site's address given for its feed: read the feed the page names (one hop), and say
                # which, so the configuration can name it and save the page's request each run.
                tally.note_error(f"{response.url} is a web page, not a feed; read the feed it advertises, "
                                 f"{shown_link(feeds[0])} (set the source's url to it)")
                yield self.request(context, feeds[0], role="advertised-feed", callback=self.parse_source,
                                   errback=self.source_failed, dont_filter=True)
                return
            message = str(exc)
            if page_for_feed and is_web_page(response.body, content_type):
                # The XML parser's complaint about the page's first HTML-only token ("not well-formed
                # (invalid token)") hides what is wrong: the source's url names a page.
                message = f"{response.url} is a web page, not a feed, and advertises none (check the source's url)"
            if is_source:
                tally.source_error = message
            else:
                # The parsers name the document they read (a child sitemap's URL, say): not twice.
                tally.lost.append(message if message.startswith(response.url) else f"{response.url}: {message}")
            logger.warning("source=%s url=%s error=%s", source.name, response.url, message)
            return
        if role == "source":
            tally.etag = _header(response, b"ETag")
            tally.last_modified = _header(response, b"Last-Modified")
            tally.index = bool(children)
        asked = self._sitemaps.setdefault(source.name, {canonicalize_url(source.url)}) if children else set()
        for child in children[:MAX_CHILD_SITEMAPS]:
            problem = url_problem(child)
            if problem is not None:  # scrapy.Request raises on it, which would end this generator
                tally.lost.append(f"{response.url}: sitemap {shown_link(child)} is not a valid URL ({problem})")
                continue
            if canonicalize_url(child) in asked:
                continue
            asked.add(canonicalize_url(child))
            yield self.request(
                context, child, role="child-sitemap", callback=self.parse_source, errback=self.source_failed,
                dont_filter=True, meta=self._size_meta(source),
            )
        if len(children) > MAX_CHILD_SITEMAPS:
            tally.note_error(f"sitemap index lists {len(children)} sitemaps; read the first {MAX_CHILD_SITEMAPS}")
        logger.info("source=%s url=%s status=%s entries=%d", source.name, response.url, response.status, len(entries))
        yield from self._follow(context, entries)

    def _entries_from(self, context: CrawlContext, response: Response) -> tuple[list[FeedEntry], list[str]]:
        source = context.source
        content_type = _header(response, b"Content-Type")
        if source.kind in FEED_KINDS:
            document = read_feed(response.body, response.url, content_type)
            if document.problem:
                context.tally.lost.append(f"feed read in part ({document.problem}); later entries may be missing")
            if document.unlinked:
                # Counted like a refused link (found, not followed), and said: nothing to fetch or store.
                context.tally.found += document.unlinked
                context.tally.refused += document.unlinked
                context.tally.note_error(f"{document.unlinked} feed entries without a link (nothing to fetch)")
            return document.entries, []
        if source.kind == "sitemap":
            return parse_sitemap(response.body, response.url)
        html = decode_page(response.body, content_type).text
        links = pick_links(html, response.url, css=source.link_selector, xpath=source.link_xpath)
        if not links:
            selector = source.link_selector or source.link_xpath
            raise MediawatchError(f"{response.url}: link selector {selector!r} matched nothing on the listing page")
        return [FeedEntry(url=link) for link in links], []

    def _follow(self, context: CrawlContext, entries: Iterable[FeedEntry]) -> Iterator[scrapy.Request]:
        tally = context.tally
        by_url: dict[str, FeedEntry] = {}
        unresolved: dict[str, FeedEntry] = {}  # engine links only the engine can resolve
        for entry in entries:
            if not entry.url.lower().startswith(("http://", "https://")):
                # scrapy.Request raises on javascript:, mailto: and friends, and an exception
                # here would end this generator and silently drop every later entry.
                tally.found += 1
                tally.refused += 1
                tally.note_error(f"refused {shown_link(entry.url)}: only http(s) links are followed")
                continue
            problem = url_problem(entry.url)
            if problem is not None:  # canonicalize_url raised on it, ending this generator (as above)
                tally.found += 1
                tally.refused += 1
                tally.note_error(f"refused {shown_link(entry.url)}: not a valid URL ({problem})")
                continue
            if context.source.kind == "search":
                try:
                    publisher = unwrap_engine_link(entry.url, self._engine_hosts(context))
                    problem = url_problem(publisher) if publisher is not None else None
                except ValueError as exc:  # the wrapped URL's host cannot be read
                    publisher, problem = None, str(exc)
                if problem is not None:  # it raised below (canonicalize_url), ending this generator
                    tally.found += 1
                    tally.refused += 1
                    tally.note_error(f"refused {shown_link(entry.url)}: the publisher URL in it is not a valid URL ({problem})")
                    continue
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
        taken = [url for url, _ in fresh if url in self.requested]
        if taken:
            tally.duplicate += len(taken)  # another source of this run is fetching it
            fresh = [(url, entry) for url, entry in fresh if url not in self.requested]
        waiting = context.repository.urls_waiting(url for url, _ in fresh)
        if waiting:
            tally.deferred += len(waiting)
            tally.unfinished += sum(1 for failure in waiting.values() if failure.gave_up_at is None)
            fresh = [(url, entry) for url, entry in fresh if url not in waiting]
            logger.info("source=%s %d link(s) backing off after earlier failures", context.source.name, len(waiting))
        if len(fresh) > context.max_articles:
            logger.info(
                "source=%s capping %d new links at max_articles_per_run=%d",
                context.source.name, len(fresh), context.max_articles,
            )
            tally.deferred += len(fresh) - context.max_articles
            tally.unfinished += len(fresh) - context.max_articles
            fresh = fresh[: context.max_articles]
        for canonical, entry in fresh:
            yield self.article_request(context, entry.url, entry, canonical)

    def article_request(
        self, context: CrawlContext, url: str, entry: FeedEntry, canonical: str, **meta: Any
    ) -> scrapy.Request:
        """The request for one article page of `context`'s source (rendered when the source says so)."""
        self.requested.add(canonical)
        return self.request(
            context,
            url,
            role="article",
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"entry": entry, "canonical": canonical},
            meta={**self._render_meta(context), **meta},
            # Not filtered as a duplicate: a redirect back to a URL already requested
            # (a loop, or two links to one story) must reach an errback or the pipeline.
            dont_filter=True,
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
        role = request.meta.get("mediawatch_role")
        if role in SOURCE_ROLES:
            response = getattr(failure.value, "response", None)
            if response is not None and role == "source":
                tally.http_status = response.status
            tally.source_error = message if role == "source" else f"{request.url}: {message}"
            if "robots.txt" in message:
                tally.robots_blocked += 1
        else:
            tally.lost.append(f"{request.url}: {message}")
        logger.warning("source=%s url=%s error=%s", context.source.name, request.url, message)

    # -- article pages -------------------------------------------------------
    async def parse_article(self, response: Response, entry: FeedEntry, canonical: str) -> AsyncIterator[ArticleItem]:
        context = self.context_of(response.request)
        source = context.source
        content_type = _header(response, b"Content-Type")
        mime = (content_type or "").split(";")[0].strip().lower().encode()
        if mime not in HTML_TYPES:
            item = None
            if (kind := DOCUMENT_TYPES.get(mime.decode("latin-1"))) is not None:
                final = canonicalize_url(response.url)
                item = self._without_text(context, response, entry, final, canonical if final != canonical else None,
                                          f"a {kind} document, not a web page", markup=False)
            if item is None:
                self._article_error(context, canonical, f"not an HTML page (Content-Type {content_type})")
                return
            yield item
            return
        if not response.body.strip():
            self._article_error(context, canonical, "empty page (HTTP 200 with no body)")
            return
        final = canonicalize_url(response.url)
        alias = canonical if final != canonical else None
        if alias is not None and final in context.repository.known_urls([final]):
            # Redirected to a story stored already (by another source, or an earlier link).
            context.repository.add_alias(canonical, final)
            context.tally.duplicate += 1
            return
        # The feed's date is a hint unless it is a bare day: a page's exact time beats that.
        exact_hint = entry.published if not entry.day_only else None
        matches, print_, terms, body_hash = None, None, None, None
        try:
            pool = getattr(context, "pool", None)  # None: on this thread (and in bare test contexts)
            if pool is not None:
                # In a worker process: the reactor keeps downloading and storing meanwhile.
                result = await pool.process(PageJob(
                    response.body, response.url, content_type,
                    topics=tuple(m.name for m in context.matchers), storyline_params=context.storylines.params,
                    published_hint=exact_hint, title_hint=None, local_tz=context.local_tz,
                    selectors=source.selectors,
                ))
                extraction, matches, print_ = result.extraction, result.matches, result.fingerprint
                terms, body_hash = result.search_terms, result.content_hash
            else:
                extraction = extract_with_overrides(
                    response.body,
                    response.url,
                    content_type,
                    published_hint=exact_hint,
                    local_tz=context.local_tz,
                    selectors=source.selectors,
                )
        except NoArticleError as exc:
            # Paywalls, videos, galleries, script-rendered pages: still coverage, if we know what it is.
            item = self._without_text(context, response, entry, final, alias, str(exc))
            if item is None:
                self._article_error(context, canonical, f"{exc}, and no title to store it under")
                return
            yield item
            return
        except MediawatchError as exc:
            self._article_error(context, canonical, str(exc))
            return
        except Exception as exc:  # an extractor bug must not end the crawl
            logger.exception("source=%s url=%s extractor crashed", source.name, response.url)
            self._article_error(context, canonical, f"extractor crashed: {exc!r}")
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
        article = extraction.article
        # The extractor tidies replacement marks away and says whether the headline held any.
        title, title_source = choose_title(article.title, entry.title, headline_clean=extraction.headline_clean)
        date_source: str | None = "page"
        published = article.published
        if exact_hint is not None and published == exact_hint:
            date_source = entry.date_source or "feed"
        elif published is None and entry.published is not None:
            published, date_source = entry.published, entry.date_source or "feed"
        elif published is None:
            date_source = None
        published, date_source, ahead = self._not_in_future(context, canonical, published, date_source)
        if title != article.title or ahead:
            # The worker matched, indexed and hashed the page's headline and date: the pipeline redoes it all.
            matches, print_, terms, body_hash = None, None, None, None
        article = replace(article, url=final, title=title, published=published)
        cited_by = response.meta.get("mediawatch_cited_by")
        discovery = getattr(context, "discovery", None)  # None: discovery off (and in bare test contexts)
        # Citations are followed one hop: a cited page's own links are not candidates. They
        # are followed from on-topic pages only, so a page the worker found off every topic
        # is not searched for them (a second parse and every link resolved: the costliest
        # step left on this thread). Unmatched pages (None) are matched by the pipeline.
        wanted = matches is None or any(match.relevant for match in matches)
        outlinks = (
            tuple(cited_links(response.body, response.url))
            if discovery is not None and discovery.settings.config.outlinks and cited_by is None and wanted else ()
        )
        yield ArticleItem(
            canonical_url=final, article=article, entry=entry, source=source.name, alias=alias,
            title_source=title_source, date_source=date_source,
            discovered_via="cited" if cited_by is not None else source.discovery_path,
            cited_by=cited_by, outlinks=outlinks, matches=matches, fingerprint=print_, search_terms=terms,
            content_hash=body_hash,
        )

    def _without_text(
        self, context: CrawlContext, response: Response, entry: FeedEntry, final: str, alias: str | None, why: str,
        *, markup: bool = True,
    ) -> ArticleItem | None:
        """The entry as an article without text: its title and summary. `markup`: the page is HTML, whose
        <title> may stand in for a missing entry title (a PDF's bytes are not searched for one)."""
        page_title, encoding = "", None
        if markup:
            page = decode_page(response.body, _header(response, b"Content-Type"))
            encoding = page.encoding
            if match := re.search(r"<title[^>]*>(.*?)</title>", page.text, re.S | re.I):
                page_title = html.unescape(re.sub(r"\s+", " ", match.group(1))).strip()
        # No article means no headline either: the <title> of such a page is often generic ("video").
        title, title_source = (entry.title, "feed") if entry.title else (page_title, "page")
        if not title:
            return None
        summary = _plain(entry.summary or "")
        logger.info("source=%s url=%s stored without text: %s", context.source.name, response.url, why)
        published, date_source, _ = self._not_in_future(
            context, final, entry.published, (entry.date_source or "feed") if entry.published else None)
        article = ExtractedArticle(
            url=final, title=title, text=summary, published=published, encoding=encoding,
        )
        cited_by = response.meta.get("mediawatch_cited_by")
        return ArticleItem(
            canonical_url=final, article=article, entry=entry, source=context.source.name, alias=alias,
            title_source=title_source, date_source=date_source, text_missing=True,
            discovered_via="cited" if cited_by is not None else context.source.discovery_path, cited_by=cited_by,
        )

    @staticmethod
    def _not_in_future(
        context: CrawlContext, url: str, published: datetime | None, date_source: str | None
    ) -> tuple[datetime | None, str | None, bool]:
        """(published, date_source, moved): a date past now (a scheduled post, a typo, a wrong zone) becomes the fetch time.

        A bare day is midnight UTC, up to a day ahead of a publisher east of Greenwich: it gets a day.
        """
        if published is None:
            return published, date_source, False
        now = context.clock()
        allowance = DAY_DATE_SKEW if (date_source or "").endswith("-day") else CLOCK_SKEW
        if published <= now + allowance:
            return published, date_source, False
        context.tally.note_error(f"{url}: dated {published:%Y-%m-%d %H:%M} UTC, in the future; stored with the fetch time")
        logger.info("source=%s url=%s date %s is in the future: the fetch time instead", context.source.name, url,
                    published.isoformat())
        return now, "fetched", True

    def article_failed(self, failure: Failure) -> None:
        request = failed_request(failure)
        context = self.context_of(request)
        value = failure.value
        rate_limited = isinstance(value, HttpError) and value.response.status == 429
        if isinstance(value, HostWaiting) or rate_limited:
            # Not the URL's fault: it is tried again once the host lets us.
            context.tally.deferred += 1
            context.tally.unfinished += 1
            context.tally.note_error(f"{request.url}: {describe_failure(failure)}")
            return
        canonical = request.cb_kwargs.get("canonical") or canonicalize_url(request.url)
        self._article_error(context, canonical, describe_failure(failure))

    def _article_error(self, context: CrawlContext, url: str, message: str) -> None:
        tally = context.tally
        tally.failed += 1
        tally.unfinished += 1  # retried after a back-off (or given up on then: one full read too many)
        if "robots.txt" in message:
            tally.robots_blocked += 1
        tally.note_failure(f"{url}: {message}")
        logger.warning("source=%s url=%s article failed: %s", context.source.name, url, message)
        # Counted against the URL, not the source: it backs off on its own and is given up on.
        try:
            row = context.repository.record_url_failure(url, context.source.name, message, retry_at=url_retry_at)
        except SQLAlchemyError as exc:
            logger.error("source=%s url=%s could not record the failure: %s", context.source.name, url, exc)
            return
        if row.gave_up_at is not None and row.next_attempt_at is None:
            logger.warning("source=%s url=%s given up after %d failures", context.source.name, url, row.failures)


def choose_title(page_title: str, feed_title: str | None, *, headline_clean: bool = True) -> tuple[str, str]:
    """(title, "page" | "feed"): the page's headline when it decoded cleanly, else the feed's title."""
    page_title = (page_title or "").strip()
    feed_title = (feed_title or "").strip()
    if page_title and headline_clean and not looks_garbled(page_title):
        return page_title, "page"
    if feed_title:
        return feed_title, "feed"
    return page_title.replace("\ufffd", ""), "page"


def _plain(markup: str) -> str:
    """A feed summary as text (summaries are often HTML)."""
    text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", markup, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None

