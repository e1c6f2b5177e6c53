"""Politeness across sources: per-host limits and robots.txt hold for the whole crawl, not per source."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from scheduler.demo.site import Route
from tests.support.crawl import crawl, crawl_config, runs, stored
from tests.support.faults import FaultServer, article_html, rss


def test_concurrency_per_host_and_robots_hold_across_sources_on_one_host(tmp_path: Path, database_url: str) -> None:
    routes = {"robots.txt": Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")}
    sources = []
    for name in ("one", "two", "three"):
        links = "".join(f"<li><a href='/{name}/{i}.html'>x</a></li>" for i in range(3))
        routes[f"{name}/list.html"] = Route(body=f"<ul class='x'>{links}</ul>".encode())
        for i in range(3):
            routes[f"{name}/{i}.html"] = Route(body=article_html(f"{name} 南京 {i}"), delay=0.3)
        sources.append({"name": name, "kind": "listing", "url": "", "link_selector": "ul.x a"})
    with FaultServer(routes) as site:
        for source in sources:
            source["url"] = site.url(f"{source['name']}/list.html")
        config = crawl_config(tmp_path, database_url, sources, concurrency_per_host=1)
        result = crawl(config)
        assert result.returncode == 0, result.stderr
        assert site.max_in_flight == 1
        assert site.hits("robots.txt") == 1
    assert len(stored(database_url)) == 9
    recorded = runs(database_url)
    for name in ("one", "two", "three"):
        [run] = recorded[name]
        assert (run.status, run.found, run.new, run.failed) == ("ok", 3, 3, 0)


def test_a_story_two_sources_list_in_one_run_is_fetched_once(tmp_path: Path, database_url: str) -> None:
    routes = {
        "feed.xml": Route(body=rss([("南京甲", "{base}/a.html")]), content_type="application/rss+xml", templated=True),
        "list.html": Route(body=b"<ul class='x'><li><a href='/a.html'>x</a></li></ul>"),
        "a.html": Route(body=article_html("南京甲")),
    }
    with FaultServer(routes) as site:
        sources = [{"name": "f", "kind": "feed", "url": site.url("feed.xml")},
                   {"name": "l", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"}]
        assert crawl(crawl_config(tmp_path, database_url, sources)).returncode == 0
        assert site.hits("a.html") == 1
    recorded = runs(database_url)
    assert sorted((recorded[n][-1].new, recorded[n][-1].duplicate) for n in ("f", "l")) == [(0, 1), (1, 0)]


def test_a_crawl_delay_in_robots_txt_spaces_the_hosts_requests(tmp_path: Path, database_url: str) -> None:
    # robots.txt's Crawl-delay was read by nobody: two requests at a time went to a host asking for one a second.
    items = [(f"南京{i}", f"{{base}}/{i}.html") for i in range(3)]
    routes = {"robots.txt": Route(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"),
              "feed.xml": Route(body=rss(items), content_type="application/rss+xml", templated=True),
              **{f"{i}.html": Route(body=article_html(f"南京 {i}")) for i in range(3)}}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              concurrency_per_host=2)
        assert crawl(config).returncode == 0
        starts = [at for path, at in site.arrivals if path != "/robots.txt"]
    assert len(starts) == 4 and len(stored(database_url)) == 3
    assert min(later - earlier for earlier, later in pairwise(starts)) >= 0.95


def test_a_crawl_delay_is_read_for_our_user_agent_and_capped() -> None:
    from scrapy.robotstxt import ProtegoRobotParser

    from crawler.fetch.robots import MAX_CRAWL_DELAY, crawl_delay

    def delay(body: bytes) -> float:
        return crawl_delay(ProtegoRobotParser(body, None), "mediawatch/1.0 (+https://example.org)")

    assert delay(b"User-agent: mediawatch\nCrawl-delay: 2\n\nUser-agent: *\nCrawl-delay: 10\n") == 2
    assert delay(b"User-agent: *\nCrawl-delay: 0.5\n") == 0.5
    assert delay(b"User-agent: *\nCrawl-delay: 86400\n") == MAX_CRAWL_DELAY
    assert delay(b"User-agent: *\nCrawl-delay: soon\n") == 0
    assert delay(b"User-agent: *\nCrawl-delay: -3\n") == 0
    assert delay(b"User-agent: *\nDisallow: /private/\n") == 0
