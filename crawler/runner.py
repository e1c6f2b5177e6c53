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
from functools import partial
from urllib.parse import urlsplit

from scrapy.crawler import AsyncCrawlerRunner

from crawler.config import CrawlerConfig, SourceConfig
from crawler.discovery.context import DiscoveryRun, DiscoverySettings
from crawler.discovery.render import render_settings
from crawler.fetch.failures import HostWaiting
from crawler.fetch.settings import scrapy_settings
from crawler.health import assess_health
from crawler.leases import renewing_leases
from crawler.pool import PagePool
from crawler.spiders.context import CrawlContext, SourceTally
from crawler.spiders.source import SourceSpider
from crawler.storylines import StorylineIndex
from crawler.topics.matcher import TopicMatcher
from crawler.writer import ArticleWriter, write_batch
from storage.clock import Clock
from storage.models import Source
from storage.repository import Repository
from storage.types import TROUBLED_STATUSES, RunOutcome

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
        return self.status in ("ok", "partial", "not_modified", "skipped")

    @property
    def error_is_a_note(self) -> bool:
        """Whether `error` only notes something about a run that went well (links deferred for later)."""
        return self.status not in TROUBLED_STATUSES


def run_status(tally: SourceTally, previous_found: int = 0) -> tuple[str, str | None]:
    """Decide a run's status and its note from its tally.

    failed: the source itself failed, or it yields nothing where it used to yield
    something (the classic silent break), or every one of several new article pages
    failed. partial: the source answered but entries were lost (a malformed feed,
    article pages that failed: those are counted per URL). ok: nothing lost.
    """
    notes = _notes(tally)
    if tally.source_error:
        return "failed", tally.source_error
    if tally.not_modified:
        return "not_modified", None
    if tally.found == 0 and previous_found > 0:
        return "failed", f"0 entries where the last successful run found {previous_found} (layout or feed change?)"
    fresh = tally.found - tally.duplicate - tally.refused - tally.deferred
    if tally.failed >= 3 and tally.failed == fresh:
        first = tally.first_failure or (tally.errors[0] if tally.errors else "?")
        return "failed", f"all {tally.failed} article pages failed; first: {first}"
    if tally.failed or tally.lost:
        return "partial", notes
    return "ok", notes


def _notes(tally: SourceTally) -> str | None:
    """What an operator should read about a run that did not fail: losses first, then the rest."""
    parts = list(tally.lost)
    if tally.failed:
        parts.append(f"{tally.failed} article page(s) failed (retried later, per URL)")
    if tally.refused:
        parts.append(f"{tally.refused} link(s) refused")
    if tally.deferred:
        parts.append(f"{tally.deferred} link(s) deferred (backing off, capped or host waiting)")
    if tally.text_missing:
        parts.append(f"{tally.text_missing} stored without text (paywall, video, script page or PDF)")
    parts += tally.errors
    return "; ".join(parts)[:4000] if parts else None


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
    discovery: DiscoverySettings | None = None,
    pool: PagePool | None = None,
) -> list[SourceResult]:
    """Crawl `sources` at once in one Scrapy crawler; each source gets its own crawl-run row.

    One crawler for all of them is what makes `concurrency_per_host` and the
    robots.txt cache hold across sources on the same host (each Scrapy crawler has
    its own downloader slots). `matchers` holds one built matcher per topic (built
    once by the caller, reused for every article); a source feeds the topics it
    names, or all of them. A source another process is crawling right now (its
    lease is live) is skipped. Results come back in the order of `sources`.
    `discovery` turns on cited-link following and browser rendering (one budget for the whole crawl).
    """
    clock = clock or repository.clock
    owner = owner or lease_owner()
    repository.sync_sources((s.name, s.kind, s.url) for s in sources)
    results: dict[str, SourceResult] = {}

    def report(result: SourceResult) -> None:
        results[result.source] = result
        if on_done:
            on_done(result)

    waiting = repository.hosts_waiting()
    wanted: list[SourceConfig] = []
    for source in sources:
        host = (urlsplit(source.url).hostname or "").lower()
        if host in waiting:
            # The host answered 429/503 with Retry-After: nothing is sent to it before then.
            state = waiting[host]
            until = state.not_before
            message = f"{host} asked us to wait (Retry-After) until {until:%Y-%m-%d %H:%M:%S} UTC" if until else host
            run_id = repository.start_run(source.name, trigger)
            repository.finish_run(run_id, status="skipped", found=0, new=0, duplicate=0, failed=0, http_status=None,
                                  error=message)
            logger.info("source=%s skipped: %s", source.name, message)
            report(SourceResult(source.name, run_id, "skipped", SourceTally(), 0.0, message))
            continue
        wanted.append(source)
    # One transaction takes every lease and one releases them: an unchanged source costs its request, not its bookkeeping.
    won = repository.try_leases([s.name for s in wanted], owner, lease_ttl)
    leased = [source for source in wanted if source.name in won]
    for source in wanted:
        if source.name not in won:
            holder = repository.get_source(source.name)
            message = f"busy: being crawled by {holder.lease_owner if holder else 'another process'}"
            logger.info("source=%s skipped: %s", source.name, message)
            report(SourceResult(source.name, 0, "skipped", SourceTally(), 0.0, message))
    try:
        if leased:
            async with renewing_leases(repository, [s.name for s in leased], owner, lease_ttl):
                await _crawl_leased(leased, settings, matchers, repository, trigger, clock, report, discovery, pool)
    finally:
        repository.release_leases([s.name for s in leased], owner)
    return [results[s.name] for s in sources if s.name in results]


async def _crawl_leased(
    sources: Sequence[SourceConfig],
    settings: CrawlerConfig,
    matchers: Mapping[str, TopicMatcher],
    repository: Repository,
    trigger: str,
    clock: Clock,
    report: Callable[[SourceResult], None],
    discovery: DiscoverySettings | None = None,
    pool: PagePool | None = None,
) -> None:
    storylines = StorylineIndex.from_engine(repository.engine, clock=clock)
    # Articles left without a storyline (a crash between storing and assigning) are placed first.
    if placed := storylines.assign_pending():
        logger.info("placed %d article(s) that had no storyline", placed)
    states = repository.list_source_states()
    discovery_run = DiscoveryRun.start(discovery) if discovery is not None else None
    contexts: list[CrawlContext] = []
    writer = ArticleWriter(partial(write_batch, repository, storylines), batch=settings.store_batch,
                           delay=settings.store_delay)
    run_ids = repository.start_runs([source.name for source in sources], trigger)
    for source in sources:
        state = states.get(source.name)
        contexts.append(
            CrawlContext(
                source=source,
                matchers=[m for name, m in matchers.items() if source.topics is None or name in source.topics],
                repository=repository,
                clock=clock,
                local_tz=source.tz,
                max_articles=settings.max_articles_per_run,
                storylines=storylines,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                discovery=discovery_run,
                pool=pool,
                writer=writer,
            )
        )
        logger.info("source=%s url=%s crawl started run=%d", source.name, source.url, run_ids[source.name])
    started = time.monotonic()
    scrapy_config = scrapy_settings(settings)
    if discovery is not None and any(s.render for s in sources):
        scrapy_config.update(render_settings(settings, discovery.config))
    runner = AsyncCrawlerRunner(scrapy_config)
    host_waits: dict[str, tuple[datetime, str]] = {}
    try:
        try:
            await runner.crawl(SourceSpider, contexts=contexts, host_waits=host_waits)
        finally:
            # Whatever the pipeline handed the writer is stored before the runs are recorded,
            # also when a daemon's drain cancels the crawl.
            await writer.close()
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # Scrapy ends a cancelled crawl as if it had finished: recorded as such, the cut run
            # counted as a success and reset the source's failure count and backoff.
            raise asyncio.CancelledError
    except asyncio.CancelledError:
        repository.finish_runs([
            RunOutcome(run_ids[c.source.name], "interrupted", c.tally.found, c.tally.new, c.tally.duplicate,
                       c.tally.failed, c.tally.http_status, "stopped before the crawl finished")
            for c in contexts
        ])
        for context in contexts:
            logger.warning("source=%s run=%d interrupted", context.source.name, run_ids[context.source.name])
        raise
    except Exception as exc:  # a crawler crash is recorded against every source it was crawling
        logger.exception("crawl of %d source(s) crashed", len(contexts))
        for context in contexts:
            context.tally.source_error = context.tally.source_error or f"crawl crashed: {exc!r}"
    finally:
        for host, (until, reason) in host_waits.items():
            repository.set_host_wait(host, until, reason)
            logger.warning("host=%s asked us to wait until %s: %s", host, until.isoformat(), reason)
    for result in _finish(contexts, run_ids, settings, repository, clock, started, host_waits):
        report(result)


def _finish(
    contexts: Sequence[CrawlContext], run_ids: Mapping[str, int], settings: CrawlerConfig, repository: Repository,
    clock: Clock, started: float, host_waits: Mapping[str, tuple[datetime, str]],
) -> list[SourceResult]:
    """Record every source's run and health from its tally, in one transaction (two reads besides)."""
    previous = repository.previous_found_of([c.source.name for c in contexts])
    outcomes, results = [], []
    for context in contexts:
        source, tally = context.source, context.tally
        status, error = run_status(tally, previous.get(source.name, 0))
        if status == "failed" and _held_back(source, tally, host_waits):
            # As the next crawl records it when it refuses the source up front: not a failure of the source.
            status = "skipped"
        run_id = run_ids[source.name]
        outcomes.append(RunOutcome(run_id, status, tally.found, tally.new, tally.duplicate, tally.failed,
                                   tally.http_status, error, tally.refused, validators=_validators(source, status, tally)))
        # Its own time, up to its last response or stored article: sources share one crawl.
        seconds = (tally.last_activity or time.monotonic()) - started
        results.append(SourceResult(source.name, run_id, status, tally, max(0.0, seconds), error))
    states = repository.finish_runs(outcomes)
    now = clock()
    for context, result in zip(contexts, results, strict=True):
        if (state := states.get(context.source.name)) is not None:
            _record_health(repository, context.source, state, settings.unhealthy_after, now)
        tally = result.tally
        # At debug: each caller says how a run ended its own way (the daemon's event line, a
        # worker's job line, the CLI's progress line); at info this one doubled theirs.
        logger.debug(
            "source=%s status=%s found=%d new=%d duplicate=%d failed=%d seconds=%.1f",
            result.source, result.status, tally.found, tally.new, tally.duplicate, tally.failed, result.seconds,
        )
    return results


def _validators(source: SourceConfig, status: str, tally: SourceTally) -> tuple[str | None, str | None] | None:
    """The ETag and Last-Modified the source's next request sends; None: leave the stored ones as they are.

    Remembered only after a run that used the page, so a failed one is fetched in full again; and
    forgotten when the run left links for a later run (capped, backing off, failed now): a 304
    would otherwise hide them until the source changed. A sitemap index never keeps them: it
    lists the same sitemaps while their content changes, and a 304 for it read none of them.
    """
    if status not in ("ok", "partial") or source.kind == "search":
        return None
    if tally.unfinished or tally.index:
        return (None, None)
    return (tally.etag, tally.last_modified) if tally.etag or tally.last_modified else None


def _held_back(source: SourceConfig, tally: SourceTally, host_waits: Mapping[str, tuple[datetime, str]]) -> bool:
    """Whether the source's own request was never sent: its host, answering another source, said to wait."""
    host = (urlsplit(source.url).hostname or "").lower()
    wait = host_waits.get(host)
    return wait is not None and tally.http_status is None and tally.source_error == str(HostWaiting(host, wait[0]))


def lease_owner() -> str:
    """Who holds a source's lock: host, process and a random suffix (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _record_health(repository: Repository, source: SourceConfig, state: Source, unhealthy_after: int,
                   now: datetime) -> None:
    """Judge the source from its state after the run; written only when the verdict changed."""
    healthy, reason = assess_health(source, state, now, unhealthy_after=unhealthy_after)
    if not healthy and state.healthy:
        logger.warning("source=%s is now unhealthy: %s", source.name, reason)
    if (healthy, reason) != (state.healthy, state.unhealthy_reason):
        repository.set_health(source.name, healthy=healthy, reason=reason)
