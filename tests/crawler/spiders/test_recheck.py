"""Edits and takedowns: a recheck marks removed articles, keeps edited versions, deletes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.recheck import judge_change, judge_response
from crawler.search_terms import SearchAnalyzer
from scheduler.demo import DEMO_TOPIC
from scheduler.demo.site import Route, StaticSite
from storage.console import ConsoleQueries, CoverageFilter
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import run_cli, write_config

PARAGRAPH = "江苏官媒追问南京为何没有杭州六小龙，{n}号评论员认为关键在于营商环境与容错文化。"


def _page(title: str, n: int, extra: str = "") -> bytes:
    body = "".join(f"<p>{PARAGRAPH.format(n=n)}第{i}段。</p>" for i in range(6))
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}{extra}</article></body></html>".encode()


@pytest.mark.parametrize(
    ("status", "final", "text", "outcome"),
    [
        (404, "https://a.example/news/2025/1.html", None, "removed"),
        (410, "https://a.example/news/2025/1.html", None, "removed"),
        (304, "https://a.example/news/2025/1.html", None, "not_modified"),
        (200, "https://a.example/", "首页", "removed"),
        (200, "https://a.example/news/2025/1.html", "抱歉，该内容已被删除", "removed"),
        (200, "https://a.example/news/2025/1.html", "正文" * 50, None),
        (503, "https://a.example/news/2025/1.html", None, "failed"),
    ],
)
def test_response_verdicts(status: int, final: str, text: str | None, outcome: str | None) -> None:
    verdict = judge_response(status, "https://a.example/news/2025/1.html", final, text)
    assert (verdict.outcome if verdict else None) == outcome


def test_small_edits_are_not_substantive_but_rewrites_are() -> None:
    text = "南京为何养不出六小龙？" * 40
    assert judge_change("标题", text, "标题", text + "。").outcome == "unchanged"
    assert judge_change("标题", text, "标題", text).outcome == "unchanged"  # same title in another script
    assert judge_change("标题", text, "新标题", text).outcome == "edited"
    assert judge_change("标题", text, "标题", text[: len(text) // 2]).outcome == "edited"


@pytest.mark.parametrize("extract_processes", [0, 1])
def test_recheck_marks_removed_and_keeps_edited_versions(tmp_path: Path, database_url: str,
                                                         extract_processes: int) -> None:
    links = "".join(f'<li><a href="/news/2025/{i}.html">{i}</a></li>' for i in range(4))
    routes = {
        "": Route(body=b"<html><body>front page</body></html>"),
        "list.html": Route(body=f'<ul class="n">{links}</ul>'.encode()),
        **{f"news/2025/{i}.html": Route(body=_page(f"南京六小龙之问 {i}", i)) for i in range(4)},
    }
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 0, "extract_processes": extract_processes},
            "topics": [DEMO_TOPIC],
            "sources": [{"name": "s", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.n a",
                         "allow_private": True}],
        })
        assert run_cli("crawl", config=config).returncode == 0
        site.routes["news/2025/0.html"] = Route(body=b"gone", status=404, content_type="text/plain")
        site.routes["news/2025/1.html"] = Route(body=b"", status=302, headers={"Location": "/"})
        site.routes["news/2025/2.html"] = Route(body=_page("南京六小龙之问（更新）", 2, "<p>编者按：本文已更新。</p>" * 3))
        result = run_cli("recheck", config=config)
    assert result.returncode == 0, result.stderr
    assert "removed 2" in result.stdout and "edited 1" in result.stdout and "unchanged 1" in result.stdout
    engine = create_engine(database_url)
    try:
        repository = Repository(engine)
        by_url = {a.article.url: a.article for a in repository.list_articles(relevant_only=False)}
        assert len(by_url) == 4  # nothing deleted
        gone = by_url[site.url("news/2025/0.html")]
        assert gone.removed_at is not None and "评论员" in gone.text
        assert by_url[site.url("news/2025/1.html")].removed_at is not None
        edited = by_url[site.url("news/2025/2.html")]
        assert edited.title == "南京六小龙之问（更新）" and edited.edited_at is not None
        [old] = repository.article_versions(edited.id or 0)
        assert old.title == "南京六小龙之问 2"
        # The edit's new words are searchable (segmented by a page worker when there are workers).
        found = ConsoleQueries(engine, SearchAnalyzer()).find_articles(CoverageFilter(query="编者按", relevant_only=False))
        assert [item.article.url for item in found.items] == [edited.url]
        unchanged = by_url[site.url("news/2025/3.html")]
        assert unchanged.removed_at is None and unchanged.edited_at is None and unchanged.last_checked_at is not None
    finally:
        engine.dispose()


def test_recheck_reaches_private_addresses_on_the_sources_own_host_only(tmp_path: Path) -> None:
    # allow_private covers the source's own host, as in the crawl: a stored article that now
    # redirects to another private host (here 0.0.0.0, which stays on this machine) is refused.
    routes = {
        "list.html": Route(body=b'<ul class="n"><li><a href="/news/2025/1.html">1</a></li></ul>'),
        "news/2025/1.html": Route(body=_page("南京六小龙之问 1", 1)),
        "robots.txt": Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"),
    }
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": f"sqlite:///{tmp_path / 'recheck.db'}"},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [DEMO_TOPIC],
            "sources": [{"name": "s", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.n a",
                         "allow_private": True}],
        })
        assert run_cli("crawl", config=config).returncode == 0
        port = site.base_url.rsplit(":", 1)[1]
        site.routes["news/2025/1.html"] = Route(body=b"", status=302, headers={"Location": f"http://0.0.0.0:{port}/secret"})
        result = run_cli("recheck", config=config, env={"MEDIAWATCH_TEST": "1"})
        secret_hits = site.hits("secret")
    assert result.returncode == 1, result.stderr  # its only article failed
    assert secret_hits == 0
    assert "failed 1" in result.stdout
    assert "robots.txt" not in result.stderr  # the source's own robots.txt is read, not refused


def test_recheck_says_why_its_articles_failed(tmp_path: Path) -> None:
    # With the site down it printed "re-checked 1 article(s): failed 1" and nothing else:
    # the reason was logged at info, below the default level, so nobody could see it.
    routes = {
        "list.html": Route(body=b'<ul class="n"><li><a href="/news/2025/1.html">1</a></li></ul>'),
        "news/2025/1.html": Route(body=_page("南京六小龙之问 1", 1)),
    }
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": f"sqlite:///{tmp_path / 'recheck.db'}"},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [DEMO_TOPIC],
            "sources": [{"name": "s", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.n a",
                         "allow_private": True}],
        })
        assert run_cli("crawl", config=config).returncode == 0
        article = site.url("news/2025/1.html")
    result = run_cli("recheck", config=config)  # the site is gone: the connection is refused
    assert result.stdout.splitlines() == [
        "re-checked 1 article(s): failed 1",
        f"  failed:  {article}: connection refused",
    ], result.stdout + result.stderr
    # Every article failed: exit 1, as `crawl` does when every source failed, so cron and
    # systemd see it (it exited 0, and a recheck that could reach nothing looked fine).
    assert result.returncode == 1, result.stderr


def test_recheck_honours_a_hosts_retry_after(tmp_path: Path, database_url: str) -> None:
    # The crawl stores a host's long Retry-After (host_state) and keeps away; recheck used to
    # fetch from that host anyway, and to keep hammering a host that said 429 mid-recheck.
    links = "".join(f'<li><a href="/news/2025/{i}.html">{i}</a></li>' for i in range(3))
    routes = {
        "list.html": Route(body=f'<ul class="n">{links}</ul>'.encode()),
        **{f"news/2025/{i}.html": Route(body=_page(f"南京六小龙之问 {i}", i)) for i in range(3)},
    }
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 2, "concurrency_per_host": 1},
            "topics": [DEMO_TOPIC],
            "sources": [{"name": "s", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.n a",
                         "allow_private": True}],
        })
        assert run_cli("crawl", config=config).returncode == 0
        # Mid-recheck: every article now answers 429 with an hour's Retry-After.
        for i in range(3):
            site.routes[f"news/2025/{i}.html"] = Route(body=b"slow down", status=429, content_type="text/plain",
                                                       headers={"Retry-After": "3600"})
        before = len(site.requests)
        first = run_cli("recheck", config=config)
        asked = [path for path, _ in site.requests[before:] if path.startswith("/news/")]
        # Stored: the next recheck sends nothing to that host, and says why.
        before = len(site.requests)
        second = run_cli("recheck", config=config)
        again = len(site.requests) - before
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert len(asked) == 1, asked  # the first 429 stops the rest: no retries, no other articles
    assert again == 0
    assert "waiting 3" in second.stdout, second.stdout
    engine = create_engine(database_url)
    try:
        assert set(Repository(engine).hosts_waiting()) == {"127.0.0.1"}
        # Not marked checked: they come first in the next recheck after the wait.
        assert all(a.article.last_checked_at is None for a in Repository(engine).list_articles(relevant_only=False))
    finally:
        engine.dispose()
