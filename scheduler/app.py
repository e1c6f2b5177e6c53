"""The composition root: configuration in, wired-up objects out.

Nothing below this module reads the environment, the clock or the configuration
file on its own; everything is passed in from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from scheduler.config import Config, find_config_file, load_config
from storage.db import create_engine
from storage.migrate import ensure_schema
from storage.repository import Clock, Repository, utc_now

if TYPE_CHECKING:
    from crawler.runner import SourceResult

logger = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    engine: Engine
    repository: Repository
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def load_app_config(config_path: str | Path | None) -> Config:
    return load_config(find_config_file(config_path))


def build_app(config: Config, *, clock: Clock = utc_now, migrate: bool = True) -> App:
    """Open the database (creating the schema of a new one) and wire the repository."""
    engine = create_engine(config.database.url)
    if migrate:
        ensure_schema(engine)
    return App(config=config, engine=engine, repository=Repository(engine, clock), clock=clock)


def crawl(
    app: App,
    source_names: Sequence[str] | None,
    *,
    trigger: str = "manual",
    on_done: Callable[[SourceResult], None] | None = None,
) -> list[SourceResult]:
    """Crawl the selected sources now, on the asyncio reactor (blocking)."""
    from crawler.reactor import run_on_reactor
    from crawler.runner import crawl_sources

    sources = app.config.select_sources(list(source_names) if source_names else None)
    return run_on_reactor(
        lambda: crawl_sources(
            sources, config=app.config, repository=app.repository, trigger=trigger, clock=app.clock, on_done=on_done
        )
    )


def digest_runner_for(app: App) -> Callable[[datetime], object]:
    """The daemon's digest job: send the next digest of every topic.

    `scheduled` is the time the run stands for; the digest's own period comes from
    the ledger, so it is only logged.
    """
    from digest.service import send_all_digests

    def run(scheduled: datetime) -> object:
        logger.info("digest job for %s", scheduled.isoformat())
        return send_all_digests(app, now=app.clock())

    return run
