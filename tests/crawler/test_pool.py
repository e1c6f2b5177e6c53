"""Pages extracted, matched and fingerprinted in worker processes give what the reactor thread gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scheduler.demo import DEMO_SITE, DEMO_TOPIC, demo_sources
from scheduler.demo.site import StaticSite
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import run_cli, write_config

EXPECTED = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))


def _crawl(tmp_path: Path, database_url: str, site: StaticSite, processes: int) -> dict[str, Any]:
    config = write_config(tmp_path / f"mediawatch-{processes}.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 5, "extract_processes": processes},
        "topics": [DEMO_TOPIC],
        "sources": demo_sources(site.base_url),
    })
    done = run_cli("crawl", config=config)
    assert done.returncode == 0, done.stderr
    engine = create_engine(database_url)
    try:
        return {item.article.url: item for item in Repository(engine).list_articles(relevant_only=False)}
    finally:
        engine.dispose()


def test_a_crawl_with_worker_processes_stores_the_same_articles_matches_and_storylines(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    stored = _crawl(tmp_path, database_url, demo_site, processes=2)
    assert len(stored) == len(EXPECTED["articles"])
    for expected in EXPECTED["articles"]:
        item = stored[demo_site.url(expected["path"])]
        assert item.article.title == expected["title"], expected["path"]
        assert expected["body_snippet"] in item.article.text, expected["path"]
        assert any(m.relevant for m in item.matches) == expected["on_topic"], expected["path"]
        assert item.article.storyline_id is not None, expected["path"]
