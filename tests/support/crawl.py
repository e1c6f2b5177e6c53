"""Helpers for crawl tests: write a configuration, run `mediawatch crawl`, read back runs and articles."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from storage.db import create_engine
from storage.models import CrawlRun, Source
from storage.repository import Repository, StoredArticle
from tests.conftest import run_cli, write_config

TOPIC: dict[str, Any] = {"name": "six", "keywords": ["六小龙", "南京"]}


def crawl_config(tmp_path: Path, database_url: str, sources: list[dict[str, Any]], **crawler: Any) -> Path:
    """A configuration for loopback sources: no AutoThrottle, no retries, short timeouts."""
    settings = {"autothrottle": False, "retry_times": 0, "download_timeout": 20, **crawler}
    for source in sources:
        source.setdefault("allow_private", True)
    return write_config(
        tmp_path / "mediawatch.toml",
        {"database": {"url": database_url}, "crawler": settings, "topics": [TOPIC], "sources": sources},
    )


def crawl(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli("crawl", *args, config=config, timeout=timeout)


def stored(database_url: str) -> dict[str, StoredArticle]:
    """Stored articles by URL."""
    engine = create_engine(database_url)
    try:
        return {item.article.url: item for item in Repository(engine).list_articles(relevant_only=False)}
    finally:
        engine.dispose()


def runs(database_url: str) -> dict[str, list[CrawlRun]]:
    """Every crawl run, oldest first, by source."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            found: dict[str, list[CrawlRun]] = {}
            for run in session.exec(select(CrawlRun).order_by(CrawlRun.id)).all():  # type: ignore[arg-type]
                found.setdefault(run.source_name, []).append(run)
            return found
    finally:
        engine.dispose()


def last_run(database_url: str, source: str) -> CrawlRun:
    return runs(database_url)[source][-1]


def source_state(database_url: str, source: str) -> Source:
    engine = create_engine(database_url)
    try:
        state = Repository(engine).get_source(source)
        assert state is not None
        return state
    finally:
        engine.dispose()
