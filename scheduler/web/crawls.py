""""Crawl now" from the console: through the daemon when one runs, else in the console's own process.

- Served by the daemon: the daemon's scheduler runs the crawl (`DaemonCrawls`).
- `mediawatch web` alone: if a daemon's heartbeat is fresh, a request row is written
  that the daemon picks up within seconds (so one process crawls, with its leases and
  metrics); otherwise the crawl runs here, on this process's asyncio reactor
  (`StandaloneCrawls`).

Either way a second press while the source is being crawled is harmless: the crawl
takes the source's lease, and a crawl that cannot is recorded as skipped.

What happened is a `CrawlStarted` code: the source page's URL carries the code and the
page shows its notice from `CRAWL_NOTICES`, so no link can put words in the console's mouth.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from storage.console import ConsoleQueries
from storage.processes import heartbeat_is_alive

if TYPE_CHECKING:
    from scheduler.app import App

logger = logging.getLogger(__name__)


class CrawlStarted(StrEnum):
    """What "crawl now" did, as it travels in the source page's URL (`?crawl=requested`)."""

    BY_DAEMON = "daemon"
    REQUESTED = "requested"
    HERE = "here"


CRAWL_NOTICES = {
    CrawlStarted.BY_DAEMON: "crawl started by the daemon",
    CrawlStarted.REQUESTED: "crawl requested: the daemon will start it within seconds",
    CrawlStarted.HERE: "crawl started",
}


def crawl_notice(code: str | None) -> str | None:
    """The notice for a code from the URL; anything else shows nothing."""
    try:
        return CRAWL_NOTICES[CrawlStarted(code or "")]
    except ValueError:
        return None


class CrawlTrigger(Protocol):
    async def crawl(self, source_name: str, user: str | None) -> CrawlStarted:
        """Start or request a crawl of one configured source; returns what happened, for the page."""
        ...


class DaemonLike(Protocol):
    def crawl_soon(self, source_name: str) -> None: ...


class DaemonCrawls:
    """The console inside the daemon: hand the crawl to the daemon's scheduler."""

    def __init__(self, daemon: DaemonLike) -> None:
        self.daemon = daemon

    async def crawl(self, source_name: str, user: str | None) -> CrawlStarted:
        self.daemon.crawl_soon(source_name)
        logger.info("source=%s crawl requested from the web console by %s", source_name, user or "?")
        return CrawlStarted.BY_DAEMON


class RequestCrawls:
    """Write a request row for the running daemon to pick up."""

    def __init__(self, app: App) -> None:
        self.queries = ConsoleQueries(app.engine, clock=app.clock)

    async def crawl(self, source_name: str, user: str | None) -> CrawlStarted:
        await asyncio.to_thread(self.queries.request_crawl, source_name, user)
        logger.info("source=%s crawl request queued for the daemon by %s", source_name, user or "?")
        return CrawlStarted.REQUESTED


class StandaloneCrawls:
    """`mediawatch web` on its own: ask the daemon if it runs, else crawl in this process."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.requests = RequestCrawls(app)
        self._tasks: set[asyncio.Task[object]] = set()

    def daemon_running(self) -> bool:
        state = self.app.repository.daemon_state()
        # A daemon killed on this host would never pick a request up: crawl here instead.
        return state is not None and heartbeat_is_alive(state.host, state.pid, state.heartbeat_at,
                                                        now=self.app.clock(), interval=self.app.config.daemon.heartbeat)

    async def crawl(self, source_name: str, user: str | None) -> CrawlStarted:
        if await asyncio.to_thread(self.daemon_running):
            return await self.requests.crawl(source_name, user)
        from scheduler.app import crawl_now

        sources = self.app.config.select_sources([source_name])
        task: asyncio.Task[object] = asyncio.ensure_future(self._crawl(crawl_now(self.app, sources, trigger="manual")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        logger.info("source=%s crawl started in the web console's process by %s", source_name, user or "?")
        return CrawlStarted.HERE

    @staticmethod
    async def _crawl(work: object) -> object:
        try:
            return await work  # type: ignore[misc]
        except Exception:  # one crawl's crash must not take the console down
            logger.exception("crawl started from the web console failed")
            return None

    async def drain(self, timeout: float) -> None:
        """Let crawls started here finish (up to `timeout`) before the process ends."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
