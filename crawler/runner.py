"""Crawl a set of sources concurrently and record one crawl run per source.

This is the single entry point both the command line and the daemon use. It must
run on the asyncio reactor (see `crawler.reactor`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scrapy.crawler import AsyncCrawlerRunner

from crawler.context import CrawlContext, SourceTally
from crawler.settings import scrapy_settings
from crawler.spiders import SourceSpider
from scheduler.config import Config, SourceConfig
from storage.repository import Clock, Repository

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
        return self.status in ("ok", "not_modified")


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
    config: Config,
    repository: Repository,
    trigger: str = "manual",
    clock: Clock | None = None,
    on_done: Callable[[SourceResult], None] | None = None,
) -> list[SourceResult]:
    """Crawl `sources` at once; each gets its own Scrapy crawler and crawl-run row."""
    clock = clock or repository.clock
    repository.sync_sources((s.name, s.kind, s.url) for s in sources)
    runner = AsyncCrawlerRunner(scrapy_settings(config.crawler))

    async def crawl_one(source: SourceConfig) -> SourceResult:
        state = repository.get_source(source.name)
        context = CrawlContext(
            source=source,
            topics=config.topics_for(source),
            repository=repository,
            clock=clock,
            local_tz=source.tz,
            max_articles=config.crawler.max_articles_per_run,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
        run_id = repository.start_run(source.name, trigger)
        started = time.monotonic()
        logger.info("source=%s url=%s crawl started run=%d", source.name, source.url, run_id)
        try:
            await runner.crawl(SourceSpider, context=context)
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
        result = SourceResult(source.name, run_id, status, tally, time.monotonic() - started, error)
        logger.info(
            "source=%s status=%s found=%d new=%d duplicate=%d failed=%d seconds=%.1f",
            source.name, status, tally.found, tally.new, tally.duplicate, tally.failed, result.seconds,
        )
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(crawl_one(s) for s in sources)))
