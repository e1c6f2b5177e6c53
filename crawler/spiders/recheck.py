"""The recheck crawl: conditional GETs of recently stored articles, judged by `crawler.recheck`."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config import CrawlerConfig, RecheckConfig, SourceConfig
from crawler.extract.article import extract_article
from crawler.extract.decode import decode_page
from crawler.fetch.failures import HostWaiting, describe_failure, failed_request
from crawler.fetch.policy import conditional_headers
from crawler.fetch.settings import scrapy_settings
from crawler.hostwaits import HostWaits, load_host_waits, store_host_waits
from crawler.normalize import content_hash
from crawler.pool import PageJob, PagePool
from crawler.recheck import judge_change, judge_response
from crawler.spiders.source import CLOCK_SKEW
from crawler.storylines import DEFAULT_PARAMS
from storage.errors import MediawatchError
from storage.models import Article
from storage.repository import Repository

logger = logging.getLogger(__name__)

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


@dataclass
class RecheckReport:
    checked: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    removed: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "URL: why", the first MAX_FAILURES_NAMED of them

    def note_failure(self, url: str, why: str) -> None:
        """One article that could not be re-checked, and why (what the operator needs to act on it)."""
        self.outcomes["failed"] += 1
        if len(self.failures) < MAX_FAILURES_NAMED:
            self.failures.append(f"{url}: {why}")


MAX_FAILURES_NAMED = 10


class RecheckSpider(scrapy.Spider):
    name = "mediawatch-recheck"

    def __init__(self, articles: list[Article], repository: Repository, sources: Mapping[str, SourceConfig],
                 default_tz: tzinfo, report: RecheckReport, host_waits: HostWaits | None = None,
                 pool: PagePool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.articles = articles
        self.pool = pool  # extraction and search terms in worker processes, as a crawl's
        self.repository = repository
        self.sources = sources
        self.default_tz = default_tz
        self.report = report
        # Read and filled in by the RetryAfterMiddleware: a host that said "wait" gets nothing more.
        self.host_waits: HostWaits = host_waits if host_waits is not None else {}
        # robots.txt requests carry no meta: the middleware lets them go where some source may.
        self.private_hosts = frozenset().union(*(s.private_hosts for s in sources.values()))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        left: Counter[str] = Counter()
        for article in self.articles:
            host = (urlsplit(article.url).hostname or "").lower()
            if host in self.host_waits:
                left[host] += 1  # not checked, so first in line once the wait is over
                continue
            source = self.sources.get(article.source_name)
            yield scrapy.Request(
                article.url, headers=conditional_headers(article.etag, article.last_modified), callback=self.parse, errback=self.failed, dont_filter=True,
                cb_kwargs={"article": article},
                meta={"handle_httpstatus_list": [304, 404, 410], "dont_retry": False,
                      "mediawatch_private_hosts": source.private_hosts if source else frozenset()},
            )
        for host, count in left.items():
            self.report.outcomes["waiting"] += count
            logger.info("recheck host=%s: %d article(s) left for later: %s", host, count, self.host_waits[host][1])

    async def parse(self, response: Response, article: Article) -> None:
        assert article.id is not None
        self.report.checked += 1
        requested = (response.meta.get("redirect_urls") or [response.url])[0]
        header = response.headers.get(b"Content-Type")
        content_type = header.decode("latin-1") if header else None
        page_text = None
        if response.status == 200:
            page_text = _TAGS.sub(" ", decode_page(response.body, content_type).text)
        verdict = judge_response(response.status, requested, response.url, page_text)
        if verdict is None:
            source = self.sources.get(article.source_name)
            terms: tuple[str, ...] | None = None  # None: the repository segments the text itself
            try:
                local_tz = source.tz if source else self.default_tz
                if self.pool is not None:
                    result = await self.pool.process(PageJob(response.body, response.url, content_type, topics=(),
                                                             storyline_params=DEFAULT_PARAMS, local_tz=local_tz))
                    fresh, terms = result.extraction.article, result.search_terms
                else:
                    fresh = extract_article(response.body, response.url, content_type, local_tz=local_tz)
            except MediawatchError as exc:
                if article.text_missing:
                    self.report.outcomes["still without text"] += 1
                else:
                    self.report.note_failure(article.url, str(exc))
                logger.info("recheck url=%s could not extract: %s", article.url, exc)
                self.repository.mark_checked(article.id, etag=article.etag, last_modified=article.last_modified)
                return
            if article.text_missing:
                # Stored from its feed entry because the page had no text; now it has: fill it in.
                # A page date in the future (a scheduled post, a wrong zone) is no date, as in a crawl.
                dated = fresh.published if fresh.published and fresh.published <= self.repository.clock() + CLOCK_SKEW else None
                self.repository.fill_missing_text(
                    article.id, title=fresh.title, text=fresh.text, content_hash=content_hash(fresh.title, fresh.text),
                    published_at=dated, terms=terms,
                )
                self.report.outcomes["filled"] += 1
                logger.info("recheck url=%s text filled in", article.url)
                return
            # Compare like with like: a title taken from the feed is not the page's headline.
            old_title = fresh.title if article.title_source == "feed" else article.title
            verdict = judge_change(old_title, article.text, fresh.title, fresh.text)
            if verdict.outcome == "edited":
                self.repository.record_edit(article.id, title=fresh.title, text=fresh.text,
                                            content_hash=content_hash(fresh.title, fresh.text), terms=terms)
                self.report.edited.append(article.url)
        if verdict.outcome == "failed":
            self.report.note_failure(article.url, verdict.reason)
        else:
            self.report.outcomes[verdict.outcome] += 1
        if verdict.outcome == "removed":
            self.repository.mark_removed(article.id)
            self.report.removed.append(article.url)
            logger.warning("recheck url=%s removed: %s", article.url, verdict.reason)
        elif verdict.outcome != "edited":
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            self.repository.mark_checked(
                article.id,
                etag=etag.decode("latin-1") if etag else article.etag,
                last_modified=modified.decode("latin-1") if modified else article.last_modified,
            )
        if verdict.outcome == "edited":
            logger.info("recheck url=%s edited: %s", article.url, verdict.reason)

    def failed(self, failure: Failure) -> None:
        if failure.check(HostWaiting):  # its host said "wait" during this recheck: not a failure of the article
            self.report.outcomes["waiting"] += 1
            return
        self.report.checked += 1
        url, why = failed_request(failure).url, describe_failure(failure)
        self.report.note_failure(url, why)
        logger.info("recheck url=%s failed: %s", url, why)


async def recheck_articles(
    recheck: RecheckConfig,
    crawler: CrawlerConfig,
    sources: Sequence[SourceConfig],
    repository: Repository,
    *,
    default_tz: tzinfo,
    pool: PagePool | None = None,
) -> RecheckReport:
    """Re-check recent articles once (must run on the asyncio reactor).

    `default_tz` reads dates on pages of sources no longer configured; `pool` extracts
    pages in worker processes, as a crawl's does.
    """
    since = repository.clock() - timedelta(days=recheck.days)
    articles = repository.articles_to_recheck(since, recheck.max_per_run)
    report = RecheckReport()
    if not articles:
        return report
    known = load_host_waits(repository)
    waits = dict(known)
    runner = AsyncCrawlerRunner(scrapy_settings(crawler))
    try:
        await runner.crawl(RecheckSpider, articles=articles, repository=repository, sources={s.name: s for s in sources},
                           default_tz=default_tz, report=report, host_waits=waits, pool=pool)
    finally:
        store_host_waits(repository, waits, known=known)
    logger.info("recheck checked=%d %s", report.checked, dict(report.outcomes))
    return report
