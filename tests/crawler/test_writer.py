"""Batched storing: one transaction per batch, off the event loop, nothing lost or stored twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from crawler.search_terms import SearchAnalyzer
from crawler.storylines import StorylineIndex
from crawler.writer import ArticleWriter, PendingArticle, Stored, write_batch
from scheduler.demo.site import StaticSite
from storage.console import ConsoleQueries, CoverageFilter
from storage.models import Article, ArticleTopic, UrlFailure
from storage.repository import Repository
from storage.types import TopicMatch
from tests.conftest import REPO_ROOT, run_cli
from tests.scheduler.test_leases import slow_site
from tests.support.crawl import crawl, crawl_config, stored

TEXT = "南京追问六小龙。杭州六小龙引发南京反思，江苏官媒连发三问，讨论创新环境与产业生态。" * 4


def _article(n: int, *, text: str | None = None, url: str | None = None, cited_by: int | None = None) -> Article:
    body = text if text is not None else f"第{n}篇：" + "".join(f"{n}号新闻第{k}段，内容各不相同。" for k in range(12))
    return Article(
        url=url or f"https://news.example/{n}.html", source_name="s", title=f"标题{n}", text=body,
        fetched_at=datetime(2025, 2, 9, tzinfo=UTC), content_hash=f"hash-{text or n}", outlet="news.example",
        cited_by_id=cited_by,
    )


def _pending(article: Article, **kwargs: object) -> PendingArticle:
    match = TopicMatch(topic="six", score=1.0, relevant=True, matched=("六小龙",))
    return PendingArticle(article, [match], **kwargs)  # type: ignore[arg-type]


def _rows(engine: sa.Engine) -> list[Article]:
    with Session(engine) as session:
        return list(session.exec(select(Article).order_by(Article.id)).all())  # type: ignore[arg-type]


def test_a_batch_stores_each_article_once_with_its_matches_storyline_and_terms(engine: sa.Engine) -> None:
    repository = Repository(engine, analyzer=SearchAnalyzer())
    storylines = StorylineIndex.from_engine(engine)
    first, same_url = _article(1), _article(1)
    copy_a, copy_b = _article(2, text=TEXT), _article(3, text=TEXT)  # same content hash, two URLs
    results = write_batch(repository, storylines, [_pending(a) for a in (first, same_url, copy_a, copy_b)])
    assert [r.is_new for r in results] == [True, False, True, True]
    assert all(r.error is None for r in results)
    rows = _rows(engine)
    assert [row.url for row in rows] == [first.url, copy_a.url, copy_b.url]
    assert all(row.storyline_id is not None for row in rows)
    assert rows[1].storyline_id == rows[2].storyline_id != rows[0].storyline_id  # the copy joined by its hash
    with Session(engine) as session:
        assert len(session.exec(select(ArticleTopic)).all()) == 3
    # Indexed for search in the same transaction (the console's search reads the index alone).
    found = ConsoleQueries(engine, repository.analyzer).find_articles(CoverageFilter(relevant_only=False,
                                                                                     query="六小龙"), limit=10)
    assert sorted(item.article.url for item in found.items) == [copy_a.url, copy_b.url]


def test_a_failing_batch_is_stored_one_article_at_a_time_so_the_bad_one_costs_only_itself(
    engine: sa.Engine,
) -> None:
    repository = Repository(engine)
    storylines = StorylineIndex.from_engine(engine)
    good = [_article(n) for n in range(4)]
    bad = _article(9, cited_by=999_999)  # cites an article that does not exist: an integrity error
    results = write_batch(repository, storylines, [_pending(a) for a in (*good[:2], bad, *good[2:])])
    assert [r.error is not None for r in results] == [False, False, True, False, False]
    assert "database error" in (results[2].error or "")
    rows = _rows(engine)
    assert sorted(row.url for row in rows) == sorted(a.url for a in good)
    assert all(row.storyline_id is not None for row in rows)


def test_storing_forgets_the_urls_failures(engine: sa.Engine) -> None:
    repository = Repository(engine)
    repository.record_url_failure("https://news.example/1.html", "s", "timeout", retry_at=lambda n, now: now)
    write_batch(repository, StorylineIndex.from_engine(engine),
                [_pending(_article(1), clear_urls=("https://news.example/1.html",))])
    with Session(engine) as session:
        assert session.exec(select(UrlFailure)).all() == []


def test_writer_stores_in_batches_of_the_set_size_off_the_event_loop(engine: sa.Engine) -> None:
    repository = Repository(engine)
    storylines = StorylineIndex.from_engine(engine)
    batches: list[tuple[int, str]] = []

    def write(items: Sequence[PendingArticle]) -> list[Stored]:
        batches.append((len(items), threading.current_thread().name))
        return write_batch(repository, storylines, items)

    async def crawl() -> list[Stored]:
        writer = ArticleWriter(write, batch=3, delay=60)
        stored = [asyncio.ensure_future(writer.store(_pending(_article(n)))) for n in range(7)]
        await asyncio.sleep(0)
        await asyncio.wait(stored[:6])  # two full batches are written without waiting for the delay
        assert not stored[6].done()
        await writer.close()  # the last, partial batch is written at the end
        return [task.result() for task in stored]

    results = asyncio.run(crawl())
    assert [size for size, _ in batches] == [3, 3, 1]
    assert all(name.startswith("article-writer") for _, name in batches)
    assert all(r.is_new for r in results)
    assert len(_rows(engine)) == 7


def test_writer_writes_a_partial_batch_after_the_delay_while_articles_keep_arriving(engine: sa.Engine) -> None:
    repository = Repository(engine)
    storylines = StorylineIndex.from_engine(engine)
    counted: list[Stored] = []
    written_at: list[tuple[float, int]] = []

    async def crawl() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()

        def write(items: Sequence[PendingArticle]) -> list[Stored]:
            written_at.append((loop.time() - started, len(items)))
            return write_batch(repository, storylines, items)

        # Never quiet for 0.3 s: only the delay can end the first batch.
        writer = ArticleWriter(write, batch=50, delay=0.5, quiet=0.3)

        async def trickle(n: int) -> None:
            await asyncio.sleep(0.1 * n)
            await writer.store(_pending(_article(n), on_stored=counted.append))

        await asyncio.gather(*(trickle(n) for n in range(10)))
        await writer.close()

    asyncio.run(crawl())
    first_at, first_size = written_at[0]
    assert 0.45 <= first_at < 0.8, written_at
    assert 3 <= first_size <= 7, written_at  # what arrived within the delay, not all ten
    assert len(counted) == 10 and len(_rows(engine)) == 10


def test_a_batch_is_written_once_articles_stop_arriving_not_after_the_whole_delay(engine: sa.Engine) -> None:
    # The last articles of a crawl used to wait out `store_delay` (0.5 s by default) before
    # the crawl could end: a daemon's run of 20 feeds spent 0.4 of its 0.7 s waiting.
    repository = Repository(engine)
    storylines = StorylineIndex.from_engine(engine)
    sizes: list[int] = []

    def write(items: Sequence[PendingArticle]) -> list[Stored]:
        sizes.append(len(items))
        return write_batch(repository, storylines, items)

    async def crawl() -> tuple[float, float]:
        writer = ArticleWriter(write, batch=50, delay=4)  # quiet after a tenth of it: 0.4 s
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(writer.store(_pending(_article(n))) for n in range(2)))
        alone = loop.time() - started

        async def trickle(n: int) -> Stored:
            await asyncio.sleep(0.1 * (n - 2))  # one every 0.1 s: closer together than the quiet gap
            return await writer.store(_pending(_article(n)))

        started = loop.time()
        await asyncio.gather(*(trickle(n) for n in range(2, 10)))
        trickled = loop.time() - started
        await writer.close()
        return alone, trickled

    alone, trickled = asyncio.run(crawl())
    assert 0.3 <= alone < 2, alone
    assert sizes == [2, 8]  # articles arriving closer together than the quiet gap still share a batch
    assert 0.3 + 0.7 <= trickled < 3, trickled
    assert len(_rows(engine)) == 10


def test_a_crash_loses_only_the_unwritten_batch_and_its_pages_are_fetched_again(
    tmp_path: Path, database_url: str
) -> None:
    routes = slow_site(articles=4, delay=0)
    routes["a/3.html"] = replace(routes["a/3.html"], delay=60)  # keeps the crawl running until it is killed
    with StaticSite(routes) as site:
        sources = [{"name": "slow", "kind": "feed", "url": site.url("feed.xml")}]
        config = crawl_config(tmp_path, database_url, sources, store_delay=60, download_timeout=90)
        assert run_cli("db", "upgrade", config=config).returncode == 0
        process = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config), "crawl"],
                                   cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not all(site.hits(f"a/{n}.html") for n in range(4)) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2)  # the three fast pages are extracted and wait in the writer's batch
        finally:
            process.kill()
            process.communicate()
        assert stored(database_url) == {}  # nothing half-written, and no URL marked as seen
        again = crawl(crawl_config(tmp_path, database_url, sources, download_timeout=1))
        assert again.returncode == 0, again.stderr
        assert sorted(stored(database_url)) == sorted(site.url(f"a/{n}.html") for n in range(3))
        assert [site.hits(f"a/{n}.html") for n in range(3)] == [2, 2, 2]  # fetched again, not skipped as known
