"""The composition root: configuration in, wired-up objects out.

This is the only module that knows every package. Nothing below it reads the
environment, the clock or the configuration file on its own: the crawler gets its
sections and built matchers, the digest its settings and topics, storage an engine
and a clock, all from here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from scheduler.config import Config, find_config_file, load_config
from storage.clock import Clock, utc_now
from storage.db import create_engine
from storage.migrate import ensure_schema

if TYPE_CHECKING:
    from crawler.config import SourceConfig
    from crawler.pool import PagePool
    from crawler.runner import SourceResult
    from crawler.spiders.recheck import RecheckReport
    from crawler.topics.matcher import TopicMatcher
    from digest.service import DigestContext
    from storage.repository import Repository

logger = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    engine: Engine
    clock: Clock
    _repository: Repository | None = field(default=None, repr=False)
    _repository_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _matchers: dict[str, TopicMatcher] | None = field(default=None, repr=False)
    _matchers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pool: PagePool | None = field(default=None, repr=False)

    @property
    def repository(self) -> Repository:
        """The queries, built on first use: importing them loads the ORM, which `mediawatch status` does without."""
        with self._repository_lock:  # the web console's threads: one repository, one search analyzer
            if self._repository is None:
                from crawler.search_terms import SearchAnalyzer
                from storage.repository import Repository

                # Articles enter the search index as they are stored, so the web console finds them at once.
                self._repository = Repository(self.engine, self.clock, analyzer=SearchAnalyzer())
            return self._repository

    @property
    def matchers(self) -> dict[str, TopicMatcher]:
        """One matcher per topic, built on first use and kept: building one loads jieba and the seed."""
        with self._matchers_lock:  # built by `warm_up` on a thread while the reactor may ask for them
            if self._matchers is None:
                from crawler.topics.matcher import build_matchers

                # With worker processes matching pages, this process needs the topics' names only:
                # lazy matchers keep jieba and the IDF table (about 100 MB) out of the daemon.
                lazy = self.config.crawler.extract_processes > 0
                self._matchers = build_matchers(self.config.topics, self.config.folder, lazy=lazy)
            return self._matchers

    def warm_up(self) -> None:
        """Load what crawling, storing and matching pages need (Scrapy's components, jieba's dictionary, the seed vectors) now.

        About a second of CPU, several on a busy machine, and as much again in each page
        worker: a crawl calls this on a thread before it starts, so the load never holds the
        reactor, nor competes with the first pages, while downloads are in flight.
        """
        self.matchers  # noqa: B018
        from crawler.fetch.settings import load_components

        load_components(self.config.crawler)  # Scrapy's components, imported by the first crawl otherwise
        if self.pool is not None:
            # The workers match and segment every text: this process needs neither jieba nor the seed.
            self.pool.start()
            return
        analyzer = self.repository.analyzer
        if analyzer is not None:
            analyzer.index_terms("南京")  # the search index's segmenter loads on first use

    @property
    def pool(self) -> PagePool | None:
        """The page-processing worker processes (`[crawler] extract_processes`), started on first use and kept."""
        if self._pool is None and self.config.crawler.extract_processes > 0:
            from crawler.pool import PagePool

            self._pool = PagePool(self.config.crawler.extract_processes, self.config.topics, self.config.folder)
        return self._pool

    def digest_context(self) -> DigestContext:
        """What the digest package needs, as plain values."""
        from digest.service import DigestContext

        return DigestContext.from_sections(
            digest=self.config.digest,
            smtp=self.config.smtp,
            topics=self.config.topics,
            sources=self.config.sources,
            archive_dir=self.config.resolve_path(self.config.digest.archive_dir),
            engine=self.engine,
            repository=self.repository,
            clock=self.clock,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.engine.dispose()


def load_app_config(config_path: str | Path | None) -> Config:
    return load_config(find_config_file(config_path))


def build_app(config: Config, *, clock: Clock = utc_now, migrate: bool = True, create: bool = True) -> App:
    """Open the database (creating the schema of a new one) and wire the repository.

    `create=False` (read-only commands) opens only a database that already has the schema.
    """
    engine = create_engine(config.database.url, create=create)
    if migrate:
        try:
            ensure_schema(engine, create=create)
        except Exception:
            engine.dispose()
            raise
    return App(config=config, engine=engine, clock=clock)


async def crawl_now(
    app: App,
    sources: Sequence[SourceConfig],
    *,
    trigger: str,
    on_done: Callable[[SourceResult], None] | None = None,
    owner: str | None = None,
) -> list[SourceResult]:
    """Crawl `sources` (must run on the asyncio reactor): the one call the CLI, the daemon and workers share.

    `owner` names the lease holder (a worker's name, so a worker taking over a dead one's job can free it).
    """
    import asyncio

    from crawler.discovery.context import DiscoverySettings
    from crawler.runner import crawl_sources

    await asyncio.to_thread(app.warm_up)
    return await crawl_sources(
        sources,
        settings=app.config.crawler,
        matchers=app.matchers,
        repository=app.repository,
        lease_ttl=app.config.daemon.lease,
        trigger=trigger,
        clock=app.clock,
        on_done=on_done,
        owner=owner,
        discovery=DiscoverySettings.from_config(app.config.discovery, app.config.sources),
        pool=app.pool,
    )


async def recheck_now(app: App) -> RecheckReport:
    """Re-check recent articles for edits and takedowns (must run on the asyncio reactor)."""
    from crawler.spiders.recheck import recheck_articles

    config = app.config
    return await recheck_articles(
        config.recheck, config.crawler, config.sources, app.repository, default_tz=ZoneInfo(config.digest.timezone),
        pool=app.pool,
    )


def crawl(
    app: App,
    source_names: Sequence[str] | None,
    *,
    trigger: str = "manual",
    on_done: Callable[[SourceResult], None] | None = None,
) -> list[SourceResult]:
    """Crawl the selected sources now, on the asyncio reactor (blocking)."""
    from crawler.fetch.reactor import run_on_reactor

    sources = app.config.select_sources(list(source_names) if source_names else None)
    return run_on_reactor(lambda: crawl_now(app, sources, trigger=trigger, on_done=on_done))


def recheck(app: App) -> RecheckReport:
    """Re-check recent articles now, on the asyncio reactor (blocking)."""
    from crawler.fetch.reactor import run_on_reactor

    return run_on_reactor(lambda: recheck_now(app))
