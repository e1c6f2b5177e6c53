"""Distributed crawling: the daemon enqueues, two `mediawatch worker`s crawl, one is killed mid-way.

Real parts only: Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432, five loopback
sites (one port each: a host each) of 100 article pages, and the CLI as subprocesses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scheduler.demo.site import Route, StaticSite
from tests.conftest import PG_ENV, REPO_ROOT, write_config

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOSTS, PAGES = 5, 100


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    if not _answers(6379):
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis

    prefix = f"mwtest-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not _answers(5432):
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    admin = sa.create_engine(os.environ.get(PG_ENV, PG_DEFAULT), isolation_level="AUTOCOMMIT")
    name = f"mw_workers_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _article(host: int, n: int) -> bytes:
    sentences = " ".join(f"Sentence {k} of story {n} on host {host} about Nanjing and Hangzhou." for k in range(40))
    return (f"<html><head><title>Host {host} story {n}</title></head><body><article><h1>Host {host} story {n}</h1>"
            f"<p>{sentences}</p><p>{sentences}</p></article></body></html>").encode()


def _site(host: int) -> StaticSite:
    routes = {f"a/{n}.html": Route(body=_article(host, n), delay=0.03) for n in range(PAGES)}
    items = "".join(f"<item><title>Story {n}</title><link>{{base}}/a/{n}.html</link></item>" for n in range(PAGES))
    routes["feed.xml"] = Route(
        body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>h{host}</title>{items}</channel></rss>'.encode(),
        content_type="application/rss+xml", templated=True,
    )
    return StaticSite(routes)


def _start(config: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config), "--log-level", "info",
                                 *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)


def _wait(condition: Any, timeout: float, what: str, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    tails = "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                      for log in logs)
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


@pytest.mark.timeout(300)
def test_two_workers_share_the_crawl_and_a_killed_workers_job_is_taken_over(
    tmp_path: Path, redis_prefix: str, postgres_url: str
) -> None:
    sites = [_site(h) for h in range(HOSTS)]
    for site in sites:
        site.__enter__()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": postgres_url},
            "crawler": {"obey_robots": False, "autothrottle": False, "concurrency_per_host": 2, "retry_times": 0},
            "topics": [{"name": "cities", "keywords": ["Nanjing"]}],
            "sources": [{"name": f"host{h}", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True,
                         "every": "1h"} for h, site in enumerate(sites)],
            "daemon": {"jitter": "1s", "heartbeat": "1s"},
            "recheck": {"enabled": False},
            "queue": {"url": REDIS_URL, "prefix": redis_prefix, "claim_after": "3s"},
        })
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log", tmp_path / "daemon.log"]
        # The schema first, so three processes do not race to create it.
        engine = sa.create_engine(postgres_url)
        from storage.migrate import ensure_schema

        ensure_schema(engine)
        worker_a = _start(config, "worker", "--name", "A", log=logs[0])
        worker_b = _start(config, "worker", "--name", "B", log=logs[1])
        processes += [worker_a, worker_b]
        processes.append(_start(config, "run", "--no-digests", log=logs[2]))

        def count(sql: str, **params: Any) -> Any:
            with engine.connect() as connection:
                return connection.execute(sa.text(sql), params).scalar()

        # Kill A in the middle of a job: it has a running crawl that has stored some pages, not all.
        def a_mid_job() -> str | None:
            assert all(p.poll() is None for p in processes), "a process exited early: see its log"
            source = count("SELECT source_name FROM crawl_run WHERE trigger = 'worker:A' AND status = 'running' "
                           "ORDER BY id DESC LIMIT 1")
            if source and 10 <= count("SELECT count(*) FROM article WHERE source_name = :s", s=source) < PAGES - 10:
                return str(source)
            return None

        killed_source = _wait(a_mid_job, 60, "worker A to be mid-way through a source", logs)
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait(10)
        hits_before_kill = Counter((h, path) for h, site in enumerate(sites) for path, _ in list(site.requests))
        stored_by_a = count("SELECT count(*) FROM article WHERE source_name = :s", s=killed_source)
        with engine.connect() as connection:
            stored_at_kill = {row[0] for row in connection.execute(sa.text("SELECT url FROM article"))}

        _wait(lambda: count("SELECT count(*) FROM article") == HOSTS * PAGES
              and count("SELECT count(*) FROM crawl_run WHERE status = 'ok'") >= HOSTS, 90,
              "every page to be stored", logs)

        # Every page stored exactly once.
        assert count("SELECT count(*) FROM article") == HOSTS * PAGES
        assert count("SELECT count(DISTINCT url) FROM article") == HOSTS * PAGES
        # Both workers did part of the work; B finished what A was doing when it died.
        assert stored_by_a >= 10
        assert count("SELECT count(*) FROM crawl_run WHERE trigger = 'worker:B' AND status = 'ok' AND new > 0") >= 1
        assert count("SELECT count(*) FROM crawl_run WHERE trigger = 'worker:B' AND status = 'ok' "
                     "AND source_name = :s", s=killed_source) == 1
        # A's cut run is recorded as interrupted with what it stored (it read found 0, new 0).
        assert count("SELECT count(*) FROM crawl_run WHERE trigger = 'worker:A' AND status = 'interrupted' "
                     "AND source_name = :s AND new >= :n AND found >= new", s=killed_source, n=stored_by_a) == 1
        # No page fetched twice, except those the killed worker had fetched and not yet stored when it
        # died (downloaded ahead, waiting for extraction): a killed process cannot store what it held.
        # A stored page is never fetched again, and nothing is fetched more than twice.
        hits = Counter((h, path) for h, site in enumerate(sites) for path, _ in site.requests if path.startswith("/a/"))
        refetched = {(h, path) for (h, path), n in hits.items() if n > 1}
        assert all(n <= 2 for n in hits.values()), hits.most_common(3)
        assert refetched <= set(hits_before_kill), refetched
        assert not {sites[h].url(path) for h, path in refetched} & stored_at_kill
        assert {h for h, _ in refetched} <= {int(killed_source.removeprefix("host"))}
        # Nothing is left in the queue (a worker acknowledges its job just after recording the run).
        from scheduler.queue import CrawlQueue

        queue = CrawlQueue(REDIS_URL, prefix=redis_prefix, claim_after=timedelta(seconds=3))
        _wait(lambda: queue.depth() == 0, 20, "the queue to empty", logs)
        queue.close()
        engine.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        for site in sites:
            site.__exit__(None, None, None)
