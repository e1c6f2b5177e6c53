"""Serving the console with uvicorn: alone (`mediawatch web`) or as a task on the daemon's loop.

Both run on Scrapy's asyncio reactor, so "crawl now" can crawl in the same process.
uvicorn's own signal handling is off in both: the daemon owns SIGTERM and drains its
crawls, and `mediawatch web` stops serving on SIGTERM/SIGINT, then waits for the crawls
it started. Before
serving, articles the search index does not hold yet (stored before it existed, or
by a process without it) are indexed in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import uvicorn

from scheduler.logs import EVENTS_LOGGER
from scheduler.web.app import create_app
from scheduler.web.crawls import CrawlTrigger, DaemonCrawls, DaemonLike, StandaloneCrawls
from storage.search import SearchIndex

if TYPE_CHECKING:
    from scheduler.app import App

logger = logging.getLogger(__name__)


class ServerWithoutSignals(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process it runs in.

    uvicorn's own raises the signal it caught again once the server has stopped, with the
    previous handler back: `mediawatch web` died of it (exit 143, or 130 on Ctrl-C) before
    it could let the crawls it started finish, and the daemon's console would end the
    daemon before its drain.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_server(
    app: App, trigger: CrawlTrigger, *, host: str, port: int, environ: Mapping[str, str] = os.environ,
) -> uvicorn.Server:
    """The configured uvicorn server for the console (raises ConfigError when no sign-in is configured)."""
    asgi = create_app(app, trigger, environ)
    # log_config=None: uvicorn's records go through mediawatch's logging (`scheduler.logs`), one line
    # each and only at debug, instead of uvicorn's own handler, which printed "Invalid HTTP request
    # received." and request tracebacks at every level; failed requests are logged by `RequestErrors`.
    config = uvicorn.Config(
        asgi, host=host, port=port, log_config=None, log_level="warning", access_log=False, lifespan="off",
        proxy_headers=False, server_header=False, date_header=True,
    )
    return ServerWithoutSignals(config)


async def backfill_search_index(app: App) -> int:
    """Index what the search index lacks, in a worker thread (jieba is CPU-bound)."""
    analyzer = app.repository.analyzer
    if analyzer is None:
        return 0
    index, total = SearchIndex(app.engine, analyzer), 0
    try:
        # Batch by batch, so stopping the server cancels between batches instead of waiting for all.
        while done := await asyncio.to_thread(index.backfill, 200, 200):
            total += done
    except Exception:  # search then misses old articles; browsing still works
        logger.exception("search index backfill failed after %d article(s)", total)
    return total


async def serve_standalone(
    app: App, *, host: str, port: int, environ: Mapping[str, str] = os.environ,
    sockets: list[socket.socket] | None = None,
) -> None:
    """`mediawatch web`: serve (on `sockets` when the caller bound them) until SIGTERM/SIGINT, then let
    crawls started here finish."""
    trigger = StandaloneCrawls(app)
    server = build_server(app, trigger, host=host, port=port, environ=environ)
    backfill = asyncio.ensure_future(backfill_search_index(app))
    loop = asyncio.get_running_loop()

    def stop() -> None:  # as the daemon: stop taking requests, then up to `shutdown_timeout` for the crawls
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        await server.serve(sockets=sockets)
    finally:
        backfill.cancel()
        try:
            await trigger.drain(app.config.daemon.shutdown_timeout.total_seconds())
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)


def bound_port(server: uvicorn.Server) -> int | None:
    """The port a started server listens on (useful with port 0)."""
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return None


def console_url(host: str, port: int) -> str:
    """The console's address as a URL: an IPv6 host in brackets (http://::1:8080/ opens nothing)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


class EmbeddedConsole:
    """The console as a task on the daemon's event loop, next to Scrapy and APScheduler.

    Built before the daemon schedules anything, so a missing password hash stops the
    daemon at start with a configuration error instead of running without a console.
    """

    def __init__(self, app: App, daemon: DaemonLike, environ: Mapping[str, str] = os.environ) -> None:
        web = app.config.web
        self.app = app
        self.address = f"{web.host}:{web.port}"
        self.url = console_url(web.host, web.port)
        self.server = build_server(app, DaemonCrawls(daemon), host=web.host, port=web.port, environ=environ)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        backfill = asyncio.ensure_future(backfill_search_index(self.app))
        announce = asyncio.ensure_future(self._announce())
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind; the daemon's crawls go on without a console
            logger.error("web console could not listen on %s; the daemon runs without it", self.address)
        finally:
            backfill.cancel()
            announce.cancel()

    async def _announce(self) -> None:
        """Say where the console is once it listens (uvicorn's own lines are off), as `mediawatch web` does."""
        while not self.server.started:
            await asyncio.sleep(0.05)
        # On the daemon's events logger: one of its lines at the default level, like its start line.
        logging.getLogger(EVENTS_LOGGER).info("web console at %s", self.url)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
