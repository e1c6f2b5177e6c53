"""Holding a source's crawl lease for as long as the crawl runs.

A lease is a row in `sources` (owner, expiry) taken with one conditional UPDATE
(`Repository.try_leases`). While the crawl runs, a heartbeat task renews it every
third of its time-to-live, so the time-to-live can be short (a minute by default):
a crashed process stops blocking the source within that minute, and at once when
it ran on the same host (its pid is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from storage.repository import Repository

logger = logging.getLogger(__name__)

MIN_RENEW_SECONDS = 0.5


@contextlib.asynccontextmanager
async def renewing_leases(
    repository: Repository, names: Sequence[str], owner: str, ttl: timedelta
) -> AsyncIterator[None]:
    """Renew `owner`'s leases on the sources `names` in the background until the block ends."""
    interval = max(ttl.total_seconds() / 3, MIN_RENEW_SECONDS)
    held = list(names)

    async def heartbeat() -> None:
        while held:
            await asyncio.sleep(interval)
            try:
                kept = repository.renew_leases(held, owner, ttl)  # one transaction for all of them
            except Exception as exc:  # a database hiccup must not end the crawl; the next beat retries
                logger.warning("could not renew the leases of %d source(s): %s", len(held), exc)
                continue
            for name in [name for name in held if name not in kept]:
                logger.warning("source=%s lease lost: another process took it over", name)
                held.remove(name)

    task = asyncio.create_task(heartbeat(), name="lease-heartbeat")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
