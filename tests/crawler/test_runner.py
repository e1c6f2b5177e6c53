"""Crawling end to end: the CLI against real HTTP servers on 127.0.0.1 and a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scheduler.demo import DEMO_SITE, DEMO_TOPIC, demo_sources
from scheduler.demo.site import Route, StaticSite
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import REPO_ROOT, run_cli, write_config

EXPECTED = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))


def _config(tmp_path: Path, database_url: str, sources: list[dict[str, Any]], **crawler: Any) -> Path:
    return write_config(
        tmp_path / "mediawatch.toml",
        {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 20, **crawler},
            "topics": [DEMO_TOPIC],
            "sources": sources,
        },
    )


def _stored(database_url: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        return {item.article.url: item for item in Repository(engine).list_articles(relevant_only=False)}
    finally:
        engine.dispose()


def test_crawl_stores_every_demo_article_once_and_recrawl_adds_nothing(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    config = _config(tmp_path, database_url, demo_sources(demo_site.base_url))
    first = run_cli("crawl", config=config)
    assert first.returncode == 0, first.stderr
    for source in EXPECTED["sources"]:
        assert source["name"] in first.stdout
    stored = _stored(database_url)
    assert len(stored) == len(EXPECTED["articles"])

    second = run_cli("crawl", config=config)
    assert second.returncode == 0, second.stderr
    assert len(_stored(database_url)) == len(EXPECTED["articles"])
    # The second run skips known URLs before downloading them.
    article_paths = [a["path"] for a in EXPECTED["articles"]]
    assert all(demo_site.hits(path) == 1 for path in article_paths)


def test_crawled_articles_have_correct_text_title_and_topic_matches(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    config = _config(tmp_path, database_url, demo_sources(demo_site.base_url))
    assert run_cli("crawl", config=config).returncode == 0
    stored = _stored(database_url)
    for expected in EXPECTED["articles"]:
        item = stored[demo_site.url(expected["path"])]
        assert item.article.title == expected["title"], expected["path"]
        assert expected["body_snippet"] in item.article.text, expected["path"]
        assert item.article.published_at is not None
        assert item.article.published_at.tzinfo is not None
        relevant = any(m.relevant for m in item.matches)
        assert relevant == expected["on_topic"], expected["path"]


def test_gbk_page_behind_wrong_utf8_header_is_stored_without_mojibake(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    gbk = next(a for a in EXPECTED["articles"] if a["encoding"] == "gbk")
    donghai = [s for s in demo_sources(demo_site.base_url) if s["name"] == gbk["source"]]
    config = _config(tmp_path, database_url, donghai)
    assert run_cli("crawl", "--source", gbk["source"], config=config).returncode == 0
    article = _stored(database_url)[demo_site.url(gbk["path"])].article
    assert article.title == gbk["title"]
    assert gbk["body_snippet"] in article.text
    assert "\ufffd" not in article.text


def test_private_addresses_are_refused_unless_the_source_allows_them(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    # A name, resolved when fetched: an address written in the configuration is refused at load.
    base_url = demo_site.base_url.replace("127.0.0.1", "localhost")
    sources = [dict(s, allow_private=False) for s in demo_sources(base_url)][:1]
    result = run_cli("crawl", config=_config(tmp_path, database_url, sources))
    assert result.returncode == 1
    assert "allow_private" in result.stdout + result.stderr
    assert demo_site.requests == []


def test_one_failing_source_does_not_stop_the_others(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    broken_routes = {
        "feed.xml": Route(body=b"oops", status=500, content_type="text/plain"),
        "notafeed.xml": Route(body=b"<html><body>hello</body></html>", content_type="application/rss+xml"),
        "list.html": Route(
            body=b'<ul class="x"><li><a href="/big.html">big</a></li><li><a href="/gone.html">gone</a></li>'
            b'<li><a href="/empty.html">empty</a></li><li><a href="/slow.html">slow</a></li></ul>',
        ),
        "big.html": Route(body=b"<html><body><p>" + b"x" * (3 * 1024 * 1024) + b"</p></body></html>"),
        "empty.html": Route(body=b"<html><body><nav><a href='/'>home</a></nav></body></html>"),
        "slow.html": Route(body=b"<html><body><p>late</p></body></html>", delay=4),
    }
    with StaticSite(broken_routes) as broken:
        sources = [
            {"name": "server-error", "kind": "feed", "url": broken.url("feed.xml"), "allow_private": True},
            {"name": "not-a-feed", "kind": "feed", "url": broken.url("notafeed.xml"), "allow_private": True},
            {"name": "bad-pages", "kind": "listing", "url": broken.url("list.html"), "link_selector": "ul.x a",
             "allow_private": True},
            *[s for s in demo_sources(demo_site.base_url) if s["name"] == "jinling"],
        ]
        config = _config(tmp_path, database_url, sources, max_page_bytes=1024 * 1024, download_timeout=2)
        result = run_cli("crawl", config=config)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert "failed" in lines["server-error"] and "HTTP 500" in lines["server-error"]
    assert "failed" in lines["not-a-feed"]
    assert "failed" in lines["bad-pages"]
    assert "ok" in lines["jinling"]
    stored = _stored(database_url)
    assert len(stored) == 3  # jinling's three articles, nothing from the broken site


def test_every_source_failing_exits_1(tmp_path: Path, database_url: str) -> None:
    with StaticSite({"feed.xml": Route(body=b"no", status=503, content_type="text/plain")}) as site:
        sources = [{"name": "down", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}]
        result = run_cli("crawl", config=_config(tmp_path, database_url, sources))
    assert result.returncode == 1
    assert "HTTP 503" in result.stdout


def test_robots_txt_forbidding_the_feed_is_obeyed(tmp_path: Path, database_url: str) -> None:
    routes = {
        "robots.txt": Route(body=b"User-agent: *\nDisallow: /news/\n", content_type="text/plain"),
        "news/feed.xml": Route(body=b"<rss version='2.0'><channel></channel></rss>", content_type="application/rss+xml"),
    }
    with StaticSite(routes) as site:
        sources = [{"name": "polite", "kind": "feed", "url": site.url("news/feed.xml"), "allow_private": True}]
        result = run_cli("crawl", config=_config(tmp_path, database_url, sources))
        assert site.hits("news/feed.xml") == 0
    assert result.returncode == 1
    assert "robots.txt" in result.stdout


def test_manual_crawls_in_parallel_store_each_article_once(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    config = _config(tmp_path, database_url, demo_sources(demo_site.base_url))
    run_cli("db", "upgrade", config=config)
    command = [sys.executable, "-m", "scheduler", "--config", str(config), "crawl"]
    processes = [
        subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        # Exit 1 only when every source was busy in another of the three (nothing crawled).
        assert process.returncode == 0 or "crawled by another process" in stderr, stderr
        assert "locked" not in stderr
    assert len(_stored(database_url)) == len(EXPECTED["articles"])


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_feed_formats_are_followed_to_their_articles(tmp_path: Path, database_url: str, fmt: str) -> None:
    article = ("<html><head><title>南京追问六小龙</title></head><body><article><h1>南京追问六小龙</h1>"
               + "<p>杭州六小龙引发南京反思，江苏官媒连发三问，讨论创新环境与产业生态。</p>" * 6
               + "</article></body></html>").encode()
    feeds = {
        "rss": ("application/rss+xml", "<rss version='2.0'><channel><title>t</title><item><title>南京追问六小龙</title>"
                "<link>{base}/a.html</link><pubDate>Sun, 09 Feb 2025 10:00:00 +0800</pubDate></item></channel></rss>"),
        "atom": ("application/atom+xml", "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><id>x</id>"
                 "<updated>2025-02-09T10:00:00+08:00</updated><entry><title>南京追问六小龙</title><id>y</id>"
                 "<link rel='alternate' href='{base}/a.html'/><updated>2025-02-09T10:00:00+08:00</updated></entry></feed>"),
        "json": ("application/feed+json", '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
                 '[{"id": "1", "url": "{base}/a.html", "title": "南京追问六小龙", "date_published": "2025-02-09T10:00:00+08:00"}]}'),
    }
    content_type, body = feeds[fmt]
    routes = {"feed": Route(body=body.encode(), content_type=content_type, templated=True), "a.html": Route(body=article)}
    with StaticSite(routes) as site:
        sources = [{"name": fmt, "kind": "feed", "url": site.url("feed"), "allow_private": True}]
        result = run_cli("crawl", config=_config(tmp_path, database_url, sources))
    assert result.returncode == 0, result.stderr
    [item] = _stored(database_url).values()
    assert item.article.title == "南京追问六小龙"
    assert item.article.published_at is not None and item.article.published_at.isoformat().startswith("2025-02-09T02:00")


def test_syndicated_copy_joins_the_original_storyline(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    config = _config(tmp_path, database_url, demo_sources(demo_site.base_url))
    assert run_cli("crawl", config=config).returncode == 0
    stored = _stored(database_url)
    storyline = {path: stored[demo_site.url(path)].article.storyline_id for path in (a["path"] for a in EXPECTED["articles"])}
    assert all(storyline.values())
    for article in EXPECTED["articles"]:
        if article["syndicated_with"]:
            assert storyline[article["path"]] == storyline[article["syndicated_with"]]
    # Everything else is a story of its own, although all share the topic's keywords.
    assert len(set(storyline.values())) == len(EXPECTED["articles"]) - 1


def test_each_source_reports_its_own_time_and_its_whole_note(tmp_path: Path, database_url: str) -> None:
    # Sources share one crawl: every row showed the whole crawl's time (a 404 in 0.3 s read 13.1), and
    # the note was cut at 80 characters, hiding the fix a refusal suggests.
    from scheduler.demo.site import Route
    from tests.support.crawl import crawl, crawl_config
    from tests.support.faults import FaultServer, article_html, rss

    routes = {"slow.xml": Route(body=rss([("南京一", "{base}/a1.html"), ("南京二", "{base}/a2.html")]),
                                content_type="application/rss+xml", templated=True),
              "a1.html": Route(body=article_html("南京追问六小龙一"), delay=2),
              "a2.html": Route(body=article_html("南京追问六小龙二"), delay=2),
              "gone.xml": Route(body=b"gone", status=404, content_type="text/plain")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [
            {"name": "slow", "kind": "feed", "url": site.url("slow.xml")},
            {"name": "gone", "kind": "feed", "url": site.url("gone.xml")},
            {"name": "private", "kind": "feed", "url": site.url("slow.xml").replace("127.0.0.1", "localhost"),
             "allow_private": False},
        ], concurrency_per_host=1)
        result = crawl(config)
    rows = {cells[0]: cells for line in result.stdout.splitlines()
            if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 8 and cells[0]}
    slow, gone = float(rows["slow"][6]), float(rows["gone"][6])
    assert slow >= 4 and gone < slow - 2, result.stdout
    assert "allow_private" in result.stdout.replace("\n", " ").replace("│", " "), result.stdout
