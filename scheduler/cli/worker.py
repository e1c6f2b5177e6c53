"""`mediawatch worker`: crawl jobs from the shared queue that the daemon (`mediawatch run`) fills."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import open_app
from storage.errors import ConfigError


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(metavar="NAME", help="This worker's name (default: host:pid:random).")] = None,
) -> None:
    """Crawl sources queued by the daemon, sharing the work with other workers. Stop with SIGTERM/Ctrl-C."""
    import asyncio
    import signal

    from crawler.fetch.reactor import run_on_reactor
    from crawler.runner import lease_owner
    from scheduler.queue import CrawlQueue
    from scheduler.worker import run_worker

    application = open_app(ctx)
    settings = application.config.queue
    if not settings.url:
        application.close()
        raise ConfigError("[queue] url is not set: workers need the shared queue (e.g. redis://127.0.0.1:6379/0)")
    queue = CrawlQueue(settings.url, prefix=settings.prefix, claim_after=settings.claim_after)
    application.matchers  # built once, before the first job, and kept for every job  # noqa: B018

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        return await run_worker(application, queue, name or lease_owner(), stop)

    try:
        run_on_reactor(main)
    finally:
        queue.close()
        application.close()
