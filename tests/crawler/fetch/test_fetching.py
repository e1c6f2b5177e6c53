"""Fetching behaviour: retries with backoff for 5xx, none for 4xx; `mediawatch extract`."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from scheduler.demo import DEMO_SITE, DEMO_TOPIC
from scheduler.demo.site import Route, StaticSite
from tests.conftest import run_cli, write_config
from tests.support.crawl import crawl, crawl_config, last_run
from tests.support.faults import FaultServer, huge, reset, streamed

RSS = ("<rss version='2.0'><channel><title>t</title><item><title>南京六小龙</title><link>{base}/a.html</link>"
       "</item></channel></rss>")
ARTICLE = ("<html><head><title>南京六小龙</title></head><body><article><h1>南京六小龙</h1>"
           + "<p>江苏官媒追问南京为何没有杭州六小龙，引发各地讨论创新生态与营商环境的热议。</p>" * 5
           + "</article></body></html>").encode()


def _crawl(tmp_path: Path, database_url: str, site: StaticSite, **crawler: object):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, **crawler},
        "topics": [DEMO_TOPIC],
        "sources": [{"name": "s", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
    })
    return run_cli("crawl", config=config)


def test_server_errors_are_retried_with_backoff(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=RSS.encode(), content_type="application/rss+xml", templated=True, fail_first=2),
              "a.html": Route(body=ARTICLE)}
    with StaticSite(routes) as site:
        started = time.monotonic()
        result = _crawl(tmp_path, database_url, site, retry_times=2, retry_backoff=0.5)
        elapsed = time.monotonic() - started
        assert site.hits("feed.xml") == 3
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 1 │" in result.stdout  # one new article
    assert elapsed >= 1.5  # waited 0.5 s, then 1 s, between the tries


def test_client_errors_are_not_retried(tmp_path: Path, database_url: str) -> None:
    with StaticSite({"feed.xml": Route(body=b"gone", status=404, content_type="text/plain")}) as site:
        result = _crawl(tmp_path, database_url, site, retry_times=3, retry_backoff=0.1)
        assert site.hits("feed.xml") == 1
    assert result.returncode == 1
    assert "HTTP 404" in result.stdout


def test_extract_prints_the_gbk_page_title_and_text_without_mojibake() -> None:
    expected = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))
    gbk = next(a for a in expected["articles"] if a["encoding"] == "gbk")
    page = DEMO_SITE / gbk["path"]
    result = run_cli("extract", str(page), "--content-type", "text/html; charset=utf-8",
                     "--url", "http://127.0.0.1/" + gbk["path"])
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["title"] == gbk["title"]
    assert gbk["body_snippet"] in printed["text"]
    assert printed["encoding"] == "gb18030"


def test_extract_fetches_urls_and_prints_one_line_per_page(demo_site: StaticSite) -> None:
    expected = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))
    pages = expected["articles"][:2]
    result = run_cli("extract", "--allow-private", *(demo_site.url(p["path"]) for p in pages))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["title"] for line in lines] == [p["title"] for p in pages]


def test_extract_refuses_loopback_urls_unless_allowed(demo_site: StaticSite) -> None:
    result = run_cli("extract", demo_site.url("jiangnan/rss.xml"))
    assert result.returncode == 1
    # One line naming the flag: the crawler's log line used to come first, advising a config
    # key (`allow_private = true on the source`) that `extract` does not read.
    assert result.stderr.splitlines() == [
        f"mediawatch: {demo_site.url('jiangnan/rss.xml')}: host resolves to non-public address 127.0.0.1; "
        "pass --allow-private to allow it"
    ]
    assert demo_site.requests == []


def test_extract_names_what_is_wrong_with_a_malformed_url() -> None:
    # It said "http://[::1: not fetched", with no reason.
    result = run_cli("extract", "http://[::1")
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["mediawatch: http://[::1: not a valid URL: Invalid IPv6 URL"]


def test_extract_of_an_empty_argument_is_a_usage_error() -> None:
    # It read the current folder: "mediawatch: : cannot read: Is a directory".
    result = run_cli("extract", "")
    assert result.returncode == 2
    assert "an empty argument is neither a file nor a URL" in result.stderr
    assert "Traceback" not in result.stderr and "Is a directory" not in result.stderr


def test_extract_on_a_page_without_an_article_exits_non_zero(tmp_path: Path) -> None:
    page = tmp_path / "nav.html"
    page.write_text("<html><body><nav><a href='/'>首页</a><a href='/news'>新闻</a></nav></body></html>", encoding="utf-8")
    result = run_cli("extract", str(page))
    assert result.returncode == 1
    assert "no article" in result.stderr


def test_a_reset_or_refused_connection_is_said_in_words(tmp_path: Path) -> None:
    # Scrapy 2.19 wraps Twisted's errors in its own: a reset before any answer read
    # "[<twisted.python.failure.Failure twisted.internet.error.ConnectionLost: ...>]" in a
    # run's note and in `status`, and a refused connection "Connection was refused by other side: 111: ...".
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/feed.xml"
    config = write_config(tmp_path / "mediawatch.toml", {"crawler": {"retry_times": 0}, "topics": [DEMO_TOPIC]})
    with FaultServer(faults={"reset": reset()}) as server:
        result = run_cli("extract", "--allow-private", server.url("reset"), closed, config=config)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"mediawatch: {server.url('reset')}: the connection closed before any answer arrived",
        f"mediawatch: {closed}: connection refused",
    ]


def test_a_page_over_max_page_bytes_without_a_content_length_is_said_in_words(tmp_path: Path, database_url: str) -> None:
    # With a Content-Length a large page is refused before its body; sent in chunks, Scrapy stops
    # it part way with a bare DownloadCancelledError, and the run's note read "DownloadCancelledError".
    feed = RSS.replace("</channel>", "<item><title>南京</title><link>{base}/b.html</link></item></channel>")
    routes = {"feed.xml": Route(body=feed.encode(), content_type="application/rss+xml", templated=True)}
    with FaultServer(routes, {"a.html": streamed(4), "b.html": huge(4)}) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              max_page_bytes=1024 * 1024)
        crawl(config)
    run = last_run(database_url, "f")
    assert (run.status, run.failed) == ("partial", 2), run
    assert f"{site.url('a.html')}: page larger than max_page_bytes (stopped after 1048576 bytes)" in (run.error or "")
    assert f"{site.url('b.html')}: page larger than max_page_bytes (refused)" in (run.error or "")
