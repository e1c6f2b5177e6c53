"""jieba loads before a crawl downloads anything, and never on the reactor's thread.

Loading jieba's dictionary and HMM tables costs about a second of CPU (several under load).
Done lazily by the first page's matching or search indexing, it held the reactor while
downloads were in flight, and on a busy machine they passed their timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.search_terms import SearchAnalyzer
from scheduler.demo import demo_sources
from scheduler.demo.site import Route, StaticSite
from storage.console import ConsoleQueries, CoverageFilter
from storage.db import create_engine
from tests.conftest import REPO_ROOT
from tests.support.crawl import crawl_config

# One crawl in one process, logging which thread loaded jieba and when the first page came back.
CRAWL = """
import json, logging, sys, threading
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl_now, load_app_config

events = []

class Record(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if message.startswith("jieba dictionary loaded"):
            events.append({"event": "jieba", "thread": record.threadName})
        elif message.startswith("Crawled ("):
            events.append({"event": "crawled", "thread": record.threadName})

for name in ("crawler.topics.segment", "scrapy.core.engine"):
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Record())

app = build_app(load_app_config(sys.argv[1]))

async def main():
    events.append({"event": "reactor", "thread": threading.current_thread().name})
    return await crawl_now(app, app.config.select_sources(None), trigger="manual")

results = run_on_reactor(main)
app.close()
print(json.dumps({"events": events, "statuses": [r.status for r in results]}))
"""


@pytest.mark.parametrize("extract_processes", [0, 1])
def test_jieba_loads_off_the_reactor_before_the_first_download(
    tmp_path: Path, demo_site: StaticSite, extract_processes: int
) -> None:
    config = crawl_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", demo_sources(demo_site.base_url)[:1],
                          extract_processes=extract_processes)
    done = subprocess.run([sys.executable, "-c", CRAWL, str(config)], capture_output=True, text=True, timeout=180,
                          cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    events = outcome["events"]
    assert outcome["statuses"] == ["ok"], outcome
    reactor = events[0]["thread"]
    kinds = [e["event"] for e in events]
    if extract_processes:
        # The workers match and segment every page: this process never loads jieba (about 100 MB with the seed).
        assert "jieba" not in kinds, events
        return
    # This process loads jieba once (the search index and the matchers) ...
    assert kinds.count("jieba") == 1, events
    # ... before the crawl fetches its first page, on a thread of its own.
    assert kinds.index("jieba") < kinds.index("crawled"), events
    assert events[kinds.index("jieba")]["thread"] != reactor, events


def test_with_workers_texts_without_a_page_are_matched_and_indexed_there_too(tmp_path: Path) -> None:
    # A page without text (stored from its feed entry) and a garbled headline (stored under the
    # feed's title) were matched and segmented by the crawling process: jieba and the seed in the daemon.
    from tests.support.crawl import stored
    from tests.support.faults import FaultServer, article_html, rss

    garbled = article_html("南京追问六小龙").replace("南京追问六小龙".encode(), "南京追问六小龙".encode("gbk")[:-1] + b"\xff")
    video = b"<html><head><title>v</title></head><body><video src='v.mp4'></video></body></html>"
    feed = rss([("南京追问六小龙", "{base}/a.html"), ("南京六小龙视频", "{base}/v.html")]).replace(
        b"</title><link>{base}/v.html", "</title><description>南京追问六小龙的视频报道</description><link>{base}/v.html".encode())
    routes = {"feed.xml": Route(body=feed, content_type="application/rss+xml; charset=utf-8", templated=True),
              "a.html": Route(body=garbled), "v.html": Route(body=video)}
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              extract_processes=1)
        done = subprocess.run([sys.executable, "-c", CRAWL, str(config)], capture_output=True, text=True, timeout=180,
                              cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["statuses"] == ["ok"], outcome
    assert "jieba" not in [e["event"] for e in outcome["events"]], outcome
    articles = stored(database_url)
    garbled_item, video_item = articles[site.url("a.html")], articles[site.url("v.html")]
    assert garbled_item.article.title_source == "feed" and video_item.article.text_missing
    assert all(any(m.relevant for m in item.matches) for item in (garbled_item, video_item))
    engine = create_engine(database_url)
    try:
        found = ConsoleQueries(engine, SearchAnalyzer()).find_articles(CoverageFilter(query="视频报道", relevant_only=False))
        assert [item.article.url for item in found.items] == [site.url("v.html")]
    finally:
        engine.dispose()


# A first crawl after the warm-up, listing the Scrapy modules it still had to import.
FIRST_CRAWL = """
import json, sys
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl, load_app_config

app = build_app(load_app_config(sys.argv[1]))
app.warm_up()
reactor_before = "twisted.internet.reactor" in sys.modules
before = set(sys.modules)
results = crawl(app, None, trigger="manual")
app.close()
late = sorted(m for m in set(sys.modules) - before if m.startswith(("scrapy.", "twisted.")) and m != "twisted.internet.reactor")
print(json.dumps({"late": late, "reactor_before": reactor_before, "statuses": [r.status for r in results]}))
"""


def test_the_warm_up_imports_the_crawls_scrapy_components_without_installing_a_reactor(
    tmp_path: Path, demo_site: StaticSite
) -> None:
    # Scrapy imported its middlewares, extensions and HTTP handler (about 280 modules, 0.3 s)
    # as it built the first crawl's engine, on the reactor, while the page workers waited.
    config = crawl_config(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", demo_sources(demo_site.base_url)[:1],
                          extract_processes=1)
    done = subprocess.run([sys.executable, "-c", FIRST_CRAWL, str(config)], capture_output=True, text=True,
                          timeout=180, cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["statuses"] == ["ok"], outcome
    assert outcome["reactor_before"] is False  # the crawl still installs the asyncio reactor it needs
    assert outcome["late"] == [], outcome["late"]
