"""`mediawatch worker`: take crawl jobs from the shared queue and crawl them, until told to stop.

Any number of workers on any number of machines share one queue (Redis, `[queue] url`)
and one database (PostgreSQL). Each job is one source crawled by the same code the
daemon uses (`scheduler.app.crawl_now`), with the worker's name as the source's lease
owner. While it crawls, the worker keeps its job and its host lock fresh; if it dies,
both go stale and another worker takes the job over, frees the dead worker's source
lease, and crawls the source again: pages already stored are skipped (the store is
idempotent), so nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from scheduler.app import App, crawl_now
from scheduler.queue import CrawlQueue, Job

logger = logging.getLogger(__name__)


async def run_worker(app: App, queue: CrawlQueue, name: str, stop: asyncio.Event) -> int:
    """Crawl jobs until `stop` is set (the current job finishes first); returns how many were done."""
    claim_after = app.config.queue.claim_after
    sources = {s.name: s for s in app.config.sources}
    done = 0
    logger.info("worker %s started: queue %s", name, queue.stream)
    while not stop.is_set():
        job = await asyncio.to_thread(queue.take, name, timedelta(seconds=1))
        if job is None:
            continue
        source = sources.get(job.source)
        if source is None:
            logger.warning("job %s names unknown source %r: dropped (is this worker's config current?)",
                           job.id, job.source)
            await asyncio.to_thread(queue.done, job)
            continue
        host = urlsplit(source.url).netloc
        if not await asyncio.to_thread(queue.lock_host, host, name, claim_after):
            # Another worker is crawling this host: politeness holds across workers.
            await asyncio.to_thread(queue.put_back, job)
            await asyncio.sleep(0.2)
            continue
        try:
            await _crawl(app, queue, name, job, host)
        finally:
            await asyncio.to_thread(queue.release_host, host, name)
        done += 1
    logger.info("worker %s stopped after %d job(s)", name, done)
    return done


async def _crawl(app: App, queue: CrawlQueue, name: str, job: Job, host: str) -> None:
    source = next(s for s in app.config.sources if s.name == job.source)
    if job.previous_owner:
        # The job's last holder stopped touching it for claim_after: it is gone, and so is its lease.
        app.repository.release_lease(source.name, job.previous_owner)
        app.repository.interrupt_stale_runs([source.name])
    keeper = asyncio.ensure_future(_keep_fresh(queue, name, job, host, app.config.queue.claim_after))
    try:
        results = await crawl_now(app, [source], trigger=f"worker:{name}", owner=name)
        for result in results:
            logger.info("worker %s job %s source=%s status=%s new=%d", name, job.id, source.name,
                        result.status, result.tally.new)
    except asyncio.CancelledError:
        raise  # not acknowledged: another worker takes it over
    except Exception:  # a crashing source must not end the worker; it is queued again on its next tick
        logger.exception("worker %s job %s source=%s crashed", name, job.id, source.name)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    await asyncio.to_thread(queue.done, job)


async def _keep_fresh(queue: CrawlQueue, name: str, job: Job, host: str, claim_after: timedelta) -> None:
    every = max(0.2, claim_after.total_seconds() / 4)
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(queue.touch, name, job)
            await asyncio.to_thread(queue.lock_host, host, name, claim_after)
        except Exception:  # Redis away for a moment: the next touch may reach it in time
            logger.warning("worker %s could not refresh job %s", name, job.id, exc_info=True)
