"""Crawl a set of sources concurrently and record one crawl run per source.

This is the single entry point both the command line and the daemon use. It must
run on the asyncio reactor (see `crawler.fetch.reactor`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scrapy.crawler import AsyncCrawlerRunner

from crawler.config import CrawlerConfig, SourceConfig
from crawler.fetch.settings import scrapy_settings
from crawler.health import assess_health
from crawler.spiders.context import CrawlContext, SourceTally
from crawler.spiders.source import SourceSpider
from crawler.storylines import StorylineIndex
from crawler.topics.matcher import TopicMatcher
from storage.clock import Clock
from storage.repository import Repository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceResult:
    """How one source's crawl ended."""

    source: str
    run_id: int
    status: str  # ok | not_modified | failed
    tally: SourceTally
    seconds: float
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "not_modified", "skipped")


def run_status(tally: SourceTally) -> tuple[str, str | None]:
    """Decide a run's status and error text from its tally."""
    if tally.source_error:
        return "failed", tally.source_error
    if tally.not_modified:
        return "not_modified", None
    if tally.found and tally.failed == tally.found - tally.duplicate and tally.failed:
        return "failed", f"all {tally.failed} article pages failed; first: {tally.errors[0] if tally.errors else '?'}"
    return "ok", None


async def crawl_sources(
    sources: Sequence[SourceConfig],
    *,
    settings: CrawlerConfig,
    matchers: Mapping[str, TopicMatcher],
    repository: Repository,
    lease_ttl: timedelta,
    trigger: str = "manual",
    clock: Clock | None = None,
    on_done: Callable[[SourceResult], None] | None = None,
    owner: str | None = None,
) -> list[SourceResult]:
    """Crawl `sources` at once; each gets its own Scrapy crawler and crawl-run row.

    `matchers` holds one built matcher per topic (built once by the caller, reused for
    every article); a source feeds the topics it names, or all of them. A source
    another process is crawling right now (its lease is live) is skipped.
    """
    clock = clock or repository.clock
    owner = owner or lease_owner()
    repository.sync_sources((s.name, s.kind, s.url) for s in sources)
    runner = AsyncCrawlerRunner(scrapy_settings(settings))
    storylines = StorylineIndex.from_engine(repository.engine, clock=clock)
    # Articles left without a storyline (a crash between storing and assigning) are placed first.
    if placed := storylines.assign_pending():
        logger.info("placed %d article(s) that had no storyline", placed)

    async def crawl_one(source: SourceConfig) -> SourceResult:
        if not repository.try_lease(source.name, owner, lease_ttl):
            holder = repository.get_source(source.name)
            message = f"busy: being crawled by {holder.lease_owner if holder else 'another process'}"
            logger.info("source=%s skipped: %s", source.name, message)
            result = SourceResult(source.name, 0, "skipped", SourceTally(), 0.0, message)
            if on_done:
                on_done(result)
            return result
        try:
            return await _crawl_leased(source)
        finally:
            repository.release_lease(source.name, owner)

    async def _crawl_leased(source: SourceConfig) -> SourceResult:
        state = repository.get_source(source.name)
        context = CrawlContext(
            source=source,
            matchers=[m for name, m in matchers.items() if source.topics is None or name in source.topics],
            repository=repository,
            clock=clock,
            local_tz=source.tz,
            max_articles=settings.max_articles_per_run,
            storylines=storylines,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
        run_id = repository.start_run(source.name, trigger)
        started = time.monotonic()
        logger.info("source=%s url=%s crawl started run=%d", source.name, source.url, run_id)
        try:
            await runner.crawl(SourceSpider, context=context)
        except asyncio.CancelledError:
            tally = context.tally
            repository.finish_run(
                run_id, status="interrupted", found=tally.found, new=tally.new, duplicate=tally.duplicate,
                failed=tally.failed, http_status=tally.http_status, error="stopped before the crawl finished",
            )
            logger.warning("source=%s run=%d interrupted", source.name, run_id)
            raise
        except Exception as exc:  # one source's crash never ends the others
            logger.exception("source=%s crawl crashed", source.name)
            context.tally.source_error = f"crawl crashed: {exc!r}"
        tally = context.tally
        status, error = run_status(tally)
        if status == "ok" and source.kind == "feed" and (tally.etag or tally.last_modified):
            repository.save_http_validators(source.name, tally.etag, tally.last_modified)
        repository.finish_run(
            run_id,
            status=status,
            found=tally.found,
            new=tally.new,
            duplicate=tally.duplicate,
            failed=tally.failed,
            http_status=tally.http_status,
            error=error,
        )
        _record_health(repository, source, settings.unhealthy_after, clock())
        result = SourceResult(source.name, run_id, status, tally, time.monotonic() - started, error)
        logger.info(
            "source=%s status=%s found=%d new=%d duplicate=%d failed=%d seconds=%.1f",
            source.name, status, tally.found, tally.new, tally.duplicate, tally.failed, result.seconds,
        )
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(crawl_one(s) for s in sources)))


def lease_owner() -> str:
    """Who holds a source's lock: host, process and a random suffix (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _record_health(repository: Repository, source: SourceConfig, unhealthy_after: int, now: datetime) -> None:
    state = repository.get_source(source.name)
    if state is None:
        return
    healthy, reason = assess_health(source, state, now, unhealthy_after=unhealthy_after)
    if not healthy and state.healthy:
        logger.warning("source=%s is now unhealthy: %s", source.name, reason)
    if (healthy, reason) != (state.healthy, state.unhealthy_reason):
        repository.set_health(source.name, healthy=healthy, reason=reason)
