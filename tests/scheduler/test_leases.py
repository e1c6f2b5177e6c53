"""Source leases with real processes: a crashed crawl frees its source at once, a live one keeps it.

Before: after `kill -9` mid-crawl the next `mediawatch crawl` printed "skipped: busy",
exited 0 and left the run `running` forever, for the lease's 30 minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from crawler.leases import renewing_leases
from scheduler.demo.site import Route, StaticSite
from scheduler.status import CUT_RUN_REASON
from storage.db import create_engine
from storage.processes import holder_is_dead
from storage.repository import Repository
from tests.conftest import REPO_ROOT, run_cli, write_config

TOPIC = {"name": "t", "keywords": ["六小龙"]}
ARTICLE = (
    "<html><head><title>南京六小龙 {n}</title></head><body><article><h1>南京六小龙 {n}</h1>"
    + "<p>" + "南京为什么没有杭州六小龙那样的公司？这是第{n}篇报道，讨论创新环境与政策。" * 12 + "</p>"
    + "</article></body></html>"
)


def slow_site(articles: int, delay: float) -> dict[str, Route]:
    items = "".join(
        f"<item><title>南京六小龙 {n}</title><link>{{base}}/a/{n}.html</link></item>" for n in range(articles)
    )
    routes = {"feed.xml": Route(body=f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>".encode(),
                                content_type="application/rss+xml", templated=True)}
    for n in range(articles):
        routes[f"a/{n}.html"] = Route(body=ARTICLE.format(n=n).encode(), delay=delay)
    return routes


def articles_fetched(site: StaticSite) -> int:
    """Requests for any of `slow_site`'s article pages: a crawl is under way once there is one.

    Not a named page's: the crawl's order is Scrapy's (a/0 came last of 16), and waiting for
    a page fetched late kept these tests waiting out most of a slow crawl.
    """
    return sum(1 for path, _ in site.requests if path.startswith("/a/"))


def _config(tmp_path: Path, database_url: str, site: StaticSite, **daemon: str) -> Path:
    return write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, "retry_times": 0, "concurrency_per_host": 2},
        "daemon": {"lease": "5m", **daemon},
        "topics": [TOPIC],
        "sources": [{"name": "slow", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
    })


def _repository(database_url: str) -> Repository:
    return Repository(create_engine(database_url))


def wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_crawl_after_kill_9_takes_the_source_over_and_closes_the_dead_run(tmp_path: Path, database_url: str) -> None:
    with StaticSite(slow_site(articles=30, delay=0.5)) as site:  # about 8 s a crawl: killed well before its end
        config = _config(tmp_path, database_url, site)
        assert run_cli("db", "upgrade", config=config).returncode == 0
        repository = _repository(database_url)
        crawler = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(config), "crawl"], cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        try:
            wait_for(lambda: articles_fetched(site) > 0)  # mid-crawl: the lease is held, a run is open
            state = repository.get_source("slow")
            assert state is not None and state.lease_owner and f":{crawler.pid}:" in state.lease_owner
            crawler.send_signal(signal.SIGKILL)
            crawler.wait(timeout=10)
        finally:
            if crawler.poll() is None:
                crawler.kill()
        assert [r.status for r in repository.runs_for("slow")] == ["running"]
        # Before anyone takes the source over, status already tells the cut run from a live one
        # (it said "running" until the next crawl or daemon start).
        shown = run_cli("status", "--json", config=config)
        [slow] = [s for s in json.loads(shown.stdout)["sources"] if s["name"] == "slow"]
        assert (slow["last_status"], slow["last_error"]) == ("interrupted", CUT_RUN_REASON)
        started = time.monotonic()
        again = run_cli("crawl", config=config, timeout=180)
        took = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert "busy" not in again.stderr + again.stdout
    statuses = [r.status for r in repository.runs_for("slow")]
    assert statuses == ["ok", "interrupted"]  # newest first: the dead run is closed, the new one crawled
    assert repository.count_articles() == 30
    assert took < 120
    repository.engine.dispose()


def test_ctrl_c_stops_a_crawl_keeps_what_it_stored_and_exits_130(tmp_path: Path, database_url: str) -> None:
    # Ctrl-C raised KeyboardInterrupt out of the reactor without stopping it: the process then
    # hung for ever at exit, waiting for Twisted's thread pool, and had to be killed with -9.
    with StaticSite(slow_site(articles=30, delay=1.0)) as site:
        config = _config(tmp_path, database_url, site)
        assert run_cli("db", "upgrade", config=config).returncode == 0
        repository = _repository(database_url)
        crawler = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(config), "crawl"], cwd=REPO_ROOT, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        try:
            wait_for(lambda: repository.count_articles() >= 2)  # mid-crawl, with articles stored
            crawler.send_signal(signal.SIGINT)
            _, stderr = crawler.communicate(timeout=60)
        finally:
            if crawler.poll() is None:
                crawler.kill()
                crawler.communicate()
    assert crawler.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "mediawatch: interrupted"  # typer 0.2x exits 130 and says nothing
    assert "Traceback" not in stderr
    [run] = repository.runs_for("slow")
    assert run.status == "interrupted" and run.new >= 2
    state = repository.get_source("slow")
    assert state is not None and state.lease_owner is None
    repository.engine.dispose()


def test_busy_source_exits_1_and_says_so(tmp_path: Path, database_url: str) -> None:
    with StaticSite(slow_site(articles=1, delay=0)) as site:
        config = _config(tmp_path, database_url, site)
        assert run_cli("db", "upgrade", config=config).returncode == 0
        repository = _repository(database_url)
        repository.sync_sources([("slow", "feed", site.url("feed.xml"))])
        # This test process is alive and on this host: its lease must be respected.
        assert repository.try_lease("slow", f"{socket.gethostname()}:{os.getpid()}:test", timedelta(minutes=5))
        result = run_cli("crawl", config=config)
        repository.engine.dispose()
    assert result.returncode == 1
    assert "busy" in result.stdout + result.stderr and "another process" in result.stderr
    assert site.hits("feed.xml") == 0


def test_a_live_crawl_renews_its_lease_past_the_time_to_live(repository: Repository) -> None:
    repository.sync_sources([("s", "feed", "u")])
    ttl = timedelta(seconds=1)
    taken: list[bool] = []

    async def crawl_for_three_seconds() -> None:
        assert repository.try_lease("s", "host:1:me", ttl)
        async with renewing_leases(repository, ["s"], "host:1:me", ttl):
            await asyncio.sleep(2.5)  # 2.5 times the time-to-live
            taken.append(repository.try_lease("s", "host:2:other", ttl))

    asyncio.run(crawl_for_three_seconds())
    assert taken == [False]


def test_only_a_dead_process_on_this_host_counts_as_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()
    assert holder_is_dead(f"{host}:{child.pid}:x")
    assert not holder_is_dead(f"{host}:{os.getpid()}:x")
    assert not holder_is_dead(f"elsewhere:{child.pid}:x")  # another host: wait for the lease to expire
    assert not holder_is_dead("not-an-owner")
