"""Benchmark: the web console's coverage list and search over 100,000 stored articles.

    python -m bench.web                          # SQLite in a temporary folder, 100k articles
    python -m bench.web --articles 20000         # smaller run
    python -m bench.web --database-url postgresql+psycopg://postgres@127.0.0.1:5432/empty_db

The database is filled by a bulk loader: synthetic Chinese articles made of real jieba
dictionary words (Zipf-weighted by their dictionary frequency, with the debate's terms
sprinkled in), one topic relevant to about a third of them, storylines of one to four
copies, and the search index built by the real analyzer (each article is three
paragraphs from a pool of 3,000, each paragraph segmented once, so loading takes a
minute, not an hour). Then the real console is served by uvicorn on 127.0.0.1 and
each request below is timed over HTTP, signed in, `--repeat` times after one warm-up:
the first coverage page, a filtered one, a deep page, and searches for a common term,
a rare one and a traditional-script phrase. Target: under 200 ms each (median).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
import sqlalchemy as sa

from crawler.search_terms import SearchAnalyzer
from scheduler.app import build_app
from scheduler.config import config_from_mapping
from storage.models import Article, ArticleTopic, Storyline
from storage.search import write_terms

TARGET_MS = 200.0
TOPIC = "nanjing-six-dragons"
SOURCES = [f"outlet-{n:02d}" for n in range(40)]
LANGUAGES = ["zh-Hans"] * 8 + ["zh-Hant", "en"]
TERMS = ("六小龙", "杭州", "南京", "DeepSeek", "深度求索", "宇树科技", "人工智能", "大模型", "营商环境", "创投")
RARE = "量子纠缠"  # a real dictionary word put in 0.05 % of articles
BASE = datetime(2025, 2, 12, tzinfo=UTC)
PASSWORD = "bench-password"


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], list[float]]:
    """The 30,000 most frequent words of jieba's dictionary and their cumulative weights."""
    import itertools

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    ranked = sorted(((f, w) for w, f in tokenizer.FREQ.items() if f > 0 and len(w) > 1), reverse=True)[:30_000]
    words = [w for _, w in ranked]
    return words, list(itertools.accumulate(f for f, _ in ranked))


def _paragraphs(count: int, rng: random.Random) -> list[str]:
    words, weights = _vocabulary()
    out = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(4, 8)):
            picked = rng.choices(words, cum_weights=weights, k=rng.randint(8, 16))
            if rng.random() < 0.25:
                picked.insert(rng.randrange(len(picked)), rng.choice(TERMS))
            sentences.append("".join(picked) + rng.choice("，。。"))
        out.append("".join(sentences))
    return out


def load(engine: sa.Engine, articles: int, *, seed: int = 20250212) -> None:
    """Bulk-load `articles` synthetic articles with topics, storylines and search terms."""
    rng = random.Random(seed)
    analyzer = SearchAnalyzer()
    pool = _paragraphs(3_000, rng)
    started = time.monotonic()
    pool_terms = [analyzer.index_terms(p) for p in pool]
    rare_terms = analyzer.index_terms(RARE)
    print(f"segmented {len(pool)} paragraphs in {time.monotonic() - started:.1f}s", flush=True)
    article_table = Article.__table__  # type: ignore[attr-defined]
    topic_table = ArticleTopic.__table__  # type: ignore[attr-defined]
    storyline_table = Storyline.__table__  # type: ignore[attr-defined]
    batch = 2_000
    storyline_id, left_in_storyline = 0, 0
    started = time.monotonic()
    for start in range(1, articles + 1, batch):
        rows, topics, storylines, terms = [], [], [], []
        for number in range(start, min(start + batch, articles + 1)):
            picked = rng.sample(range(len(pool)), 3)
            title = pool[picked[0]][:24]
            text = "\n".join(pool[i] for i in picked)
            extra: list[str] = []
            if rng.random() < 0.0005:
                text += RARE + "。"
                extra = rare_terms
            if left_in_storyline == 0:
                storyline_id += 1
                left_in_storyline = rng.choice((1, 1, 1, 2, 3, 4))
                storylines.append({
                    "id": storyline_id, "first_article_id": number, "first_source_name": SOURCES[number % 40],
                    "first_reported_at": BASE, "created_at": BASE, "last_joined_at": BASE,
                    "article_count": left_in_storyline,
                })
            left_in_storyline -= 1
            fetched = BASE + timedelta(minutes=number)
            rows.append({
                "id": number, "url": f"https://{SOURCES[number % 40]}.example/{number}.html",
                "source_name": SOURCES[rng.randrange(40)], "title": title, "author": None,
                "published_at": fetched - timedelta(hours=rng.randint(0, 12)), "fetched_at": fetched,
                "language": rng.choice(LANGUAGES), "encoding": "utf-8", "text": text,
                "content_hash": f"{number:064x}", "storyline_id": storyline_id,
                "removed_at": fetched + timedelta(days=1) if rng.random() < 0.01 else None,
                "edited_at": None, "last_checked_at": None, "etag": None, "last_modified": None,
            })
            relevant = rng.random() < 0.33
            topics.append({"article_id": number, "topic": TOPIC, "score": rng.random() * 0.5 + (0.5 if relevant else 0),
                           "relevant": relevant, "matched": '["六小龙"]' if relevant else "[]"})
            terms.append((number, [t for i in picked for t in pool_terms[i]] + extra))
        with engine.begin() as connection:
            connection.execute(article_table.insert(), rows)
            connection.execute(topic_table.insert(), topics)
            if storylines:
                connection.execute(storyline_table.insert(), storylines)
            for article_id, article_terms in terms:
                write_terms(connection, article_id, article_terms)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(f"loaded {articles:,} articles in {time.monotonic() - started:.1f}s", flush=True)


class _Server:
    """The console on 127.0.0.1 in a thread (a uvicorn server that leaves signals alone)."""

    def __init__(self, app: Any) -> None:
        from scheduler.web.auth import hash_password
        from scheduler.web.crawls import RequestCrawls
        from scheduler.web.server import build_server

        environ = {"MEDIAWATCH_WEB_PASSWORD_HASH": hash_password(PASSWORD), "MEDIAWATCH_WEB_SECRET_KEY": "bench"}
        self.server = build_server(app, RequestCrawls(app), host="127.0.0.1", port=0, environ=environ)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> str:
        from scheduler.web.server import bound_port

        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{bound_port(self.server)}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


REQUESTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("coverage, first page", "/", {}),
    ("coverage, topic + outlet filter", "/", {"topic": TOPIC, "source": "outlet-07"}),
    ("coverage, page 50", "/", {"page": "50"}),
    ("search, common term 南京", "/search", {"q": "南京"}),
    ("search, rare term", "/search", {"q": RARE}),
    ("search, traditional 六小龍 杭州", "/search", {"q": "六小龍 杭州"}),
    ("search + topic filter", "/search", {"q": "人工智能", "topic": TOPIC}),
    ("API search, 50 records with text", "/api/articles", {"q": "深度求索"}),
)


def measure(base_url: str, repeat: int) -> list[tuple[str, float, float, int]]:
    import re

    results = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        assert client.post("/login", data={"csrf_token": token, "password": PASSWORD}).status_code == 303
        for label, path, params in REQUESTS:
            client.get(path, params=params)  # warm-up: caches, jieba, the query planner
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.get(path, params=params)
                timings.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (label, answer.status_code)
            rows = answer.text.count('<td class="headline">') if path != "/api/articles" else len(answer.json()["articles"])
            timings.sort()
            results.append((label, statistics.median(timings), timings[int(len(timings) * 0.95) - 1], rows))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000, help="articles to load (default 100000)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per kind (default 20)")
    parser.add_argument("--database-url", help="an EMPTY database to use (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        config = config_from_mapping({
            "database": {"url": url},
            "topics": [{"name": TOPIC, "keywords": ["六小龙"]}],
            "sources": [{"name": s, "kind": "feed", "url": f"https://{s}.example/rss.xml"} for s in SOURCES],
            "web": {"secure_cookies": False},
        }, environ={})
        app = build_app(config)
        try:
            if app.repository.count_articles():
                parser.error("the database is not empty")
            load(app.engine, args.articles)
            with _Server(app) as base_url:
                results = measure(base_url, args.repeat)
        finally:
            app.close()
    print(f"\n{args.articles:,} articles on {app.engine.dialect.name}; median and p95 of {args.repeat} requests "
          f"over HTTP (target: median under {TARGET_MS:.0f} ms)")
    print(f"{'request':<36} {'median ms':>10} {'p95 ms':>8} {'rows':>5}")
    slow = 0
    for label, median, p95, rows in results:
        verdict = "ok" if median < TARGET_MS else "SLOW"
        slow += verdict == "SLOW"
        print(f"{label:<36} {median:>10.1f} {p95:>8.1f} {rows:>5}  {verdict}")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
