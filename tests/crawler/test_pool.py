"""Pages extracted, matched and fingerprinted in worker processes give what the reactor thread gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.normalize import content_hash
from crawler.search_terms import SearchAnalyzer
from scheduler.demo import DEMO_SITE, DEMO_TOPIC, demo_sources
from scheduler.demo.site import StaticSite
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import run_cli, write_config

EXPECTED = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))


def _crawl(tmp_path: Path, database_url: str, site: StaticSite, processes: int) -> dict[str, Any]:
    config = write_config(tmp_path / f"mediawatch-{processes}.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 20, "extract_processes": processes},
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


def _indexed_terms(database_url: str) -> dict[int, list[str]]:
    """Each article's terms in the search index, as stored (SQLite's FTS5 table or PostgreSQL's array)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.exec_driver_sql("SELECT rowid, terms FROM article_fts").all()
                return {row[0]: row[1].split(" ") for row in rows}
            rows = connection.exec_driver_sql("SELECT article_id, terms FROM article_search").all()
            return {row[0]: list(row[1]) for row in rows}
    finally:
        engine.dispose()


def test_a_crawl_with_worker_processes_stores_the_same_articles_matches_storylines_and_search_terms(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    stored = _crawl(tmp_path, database_url, demo_site, processes=2)
    assert len(stored) == len(EXPECTED["articles"])
    # The workers segment pages for the search index: the terms must be what storing computes itself.
    indexed, repository = _indexed_terms(database_url), Repository(create_engine(database_url), analyzer=SearchAnalyzer())
    for expected in EXPECTED["articles"]:
        item = stored[demo_site.url(expected["path"])]
        assert item.article.title == expected["title"], expected["path"]
        assert expected["body_snippet"] in item.article.text, expected["path"]
        assert any(m.relevant for m in item.matches) == expected["on_topic"], expected["path"]
        assert item.article.storyline_id is not None, expected["path"]
        assert item.article.id is not None
        assert indexed[item.article.id] == repository.search_terms(item.article.title, item.article.text)
        # The workers hash the body too (exact copies are found by it): the same hash storing computes.
        assert item.article.content_hash == content_hash(item.article.title, item.article.text), expected["path"]
    repository.engine.dispose()


def test_a_page_worker_returns_the_body_hash_storing_would_compute() -> None:
    from crawler.pool import PageJob, process_page
    from crawler.storylines import DEFAULT_PARAMS

    page = (DEMO_SITE / EXPECTED["articles"][0]["path"]).read_bytes()
    result = process_page(PageJob(page, "http://127.0.0.1/a.html", "text/html", topics=(),
                                  storyline_params=DEFAULT_PARAMS))
    article = result.extraction.article
    assert article.text
    assert result.content_hash == content_hash(article.title, article.text)


OWNER = """
import json, sys, time
from crawler.pool import PagePool, process_page
from crawler.topics.config import TopicConfig
pool = PagePool(2, [TopicConfig(name="t", keywords=["六小龙"])])
futures = [pool._executor.submit(time.sleep, 0.1) for _ in range(4)]  # every worker started
for future in futures:
    future.result()
print(json.dumps(sorted(pool._executor._processes)), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def test_worker_processes_exit_when_their_owner_is_killed() -> None:
    # After `kill -9` of the daemon its two extraction workers (about 280 MB each) lived on for good.
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert owner.stdout is not None
        workers = json.loads(owner.stdout.readline())
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_start_returns_once_every_worker_has_built_its_matchers() -> None:
    # A crawl's first pages used to wait for the workers' imports and jieba, competing with them for the CPU.
    from crawler.pool import PagePool
    from crawler.topics.config import TopicConfig

    pool = PagePool(2, [TopicConfig(name="t", keywords=["六小龙"])])
    try:
        pool.start()
        # Each pid answered from a worker whose initializer had run; both workers did.
        assert pool._ready == set(pool._executor._processes) and len(pool._ready) == 2
    finally:
        pool.close()


def test_start_of_workers_that_cannot_build_their_matchers_warns_and_returns(caplog: Any) -> None:
    # The crawl then goes on, and each page reports the broken pool, as when workers started on demand.
    from crawler.pool import PagePool
    from crawler.topics.config import TopicConfig

    topic = TopicConfig.model_validate({"name": "t", "keywords": ["六小龙"], "seed": {
        "title": "t", "publisher": "p", "published": "2025-02-10", "url": "https://example.org/seed",
        "text_file": "/nonexistent/seed.txt"}})
    pool = PagePool(1, [topic])
    try:
        pool.start(timeout=60)
    finally:
        pool.close()
    assert pool._ready == set()
    assert any("page workers did not start" in record.getMessage() for record in caplog.records)
