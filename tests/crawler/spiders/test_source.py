"""The source spider through `mediawatch crawl` on loopback servers: what a run records, and which date wins."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from scheduler.demo.site import Route
from tests.conftest import REPO_ROOT
from tests.support.crawl import crawl, crawl_config, last_run, stored
from tests.support.faults import FaultServer, article_html, rss

INDEX = (b"<?xml version='1.0' encoding='utf-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
         b"<sitemap><loc>{base}/broken.xml</loc></sitemap></sitemapindex>")


def test_an_unreadable_child_sitemap_is_named_once_in_the_run_note(tmp_path: Path, database_url: str) -> None:
    routes = {"index.xml": Route(body=INDEX, content_type="application/xml", templated=True),
              "broken.xml": Route(body=b"<html><body>not a sitemap</body></html>", content_type="application/xml")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("index.xml")}])
        crawl(config)
    run = last_run(database_url, "s")
    assert run.status == "partial", run
    assert f"{site.url('broken.xml')}: not a sitemap (root element <html>)" in (run.error or "")
    assert (run.error or "").count(site.url("broken.xml")) == 1, run.error


RSS10 = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{base}/"><title>t</title><link>{base}/</link></channel>
  <item rdf:about="{base}/timed.html"><title>a</title><link>{base}/timed.html</link><dc:date>2025-02-12</dc:date></item>
  <item rdf:about="{base}/undated.html"><title>b</title><link>{base}/undated.html</link><dc:date>2025-02-12</dc:date></item>
</rdf:RDF>"""


def test_exact_page_time_beats_a_date_only_feed_date(tmp_path: Path, database_url: str) -> None:
    timed = article_html("南京甲").replace(
        b"</head>", b"<meta property='article:published_time' content='2025-02-12T10:00+08:00'></head>")
    routes = {"feed.rdf": Route(body=RSS10, content_type="application/rdf+xml", templated=True),
              "timed.html": Route(body=timed), "undated.html": Route(body=article_html("南京乙"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.rdf")}])
        assert crawl(config).returncode == 0
    articles = stored(database_url)
    exact = articles[site.url("timed.html")].article
    assert exact.published_at is not None and exact.published_at.isoformat() == "2025-02-12T02:00:00+00:00"
    assert exact.date_source == "page"
    # A page with no date of its own still gets the feed's day, marked as only a day.
    day = articles[site.url("undated.html")].article
    assert day.published_at is not None and day.published_at.date().isoformat() == "2025-02-12"
    assert day.date_source == "feed-day"


# One crawl in one process with the feed parser broken (a bug, not a bad feed), printing each run's outcome.
BROKEN_PARSER = """
import json, sys
import crawler.spiders.source as spider_module
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl_now, load_app_config

def broken(*args, **kwargs):
    raise RuntimeError("parser bug")

spider_module.read_feed = broken
app = build_app(load_app_config(sys.argv[1]))

async def main():
    return await crawl_now(app, app.config.select_sources(None), trigger="manual")

results = run_on_reactor(main)
app.close()
print(json.dumps([[r.status, r.error] for r in results]))
"""


def test_a_bug_in_the_spider_fails_the_run_with_the_error(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=rss([("南京", "/a.html")]), content_type="application/rss+xml"),
              "a.html": Route(body=article_html("南京"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        done = subprocess.run([sys.executable, "-c", BROKEN_PARSER, str(config)], capture_output=True, text=True,
                              timeout=180, cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    [[status, error]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == "failed"
    assert "RuntimeError('parser bug')" in error
    run = last_run(database_url, "f")
    assert run.status == "failed" and "parser bug" in (run.error or ""), run


FUTURE_FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>{base}/ahead.html</link><pubDate>Tue, 01 Jan 2099 10:00:00 +0800</pubDate></item>
<item><title>b</title><link>{base}/today.html</link><pubDate>{today}</pubDate></item>
</channel></rss>"""


def test_a_feed_date_in_the_future_gives_way_to_the_fetch_time(tmp_path: Path, database_url: str) -> None:
    # A CMS's scheduled or mistyped date was stored as is: the article sat at the top of every
    # newest-first list and in no digest window until 2099.
    today = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    feed = FUTURE_FEED.replace("{today}", today).encode()
    routes = {"feed.xml": Route(body=feed, content_type="application/rss+xml", templated=True),
              "ahead.html": Route(body=article_html("南京甲")), "today.html": Route(body=article_html("南京乙"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    articles = stored(database_url)
    ahead = articles[site.url("ahead.html")].article
    assert ahead.published_at is not None and ahead.published_at.year < 2099
    assert abs(ahead.published_at - ahead.fetched_at) < timedelta(minutes=1)
    assert ahead.date_source == "fetched"
    assert "in the future" in (last_run(database_url, "f").error or "")
    recent = articles[site.url("today.html")].article
    assert recent.date_source == "feed" and recent.published_at is not None
    assert recent.published_at < recent.fetched_at - timedelta(minutes=30)


def test_a_finished_crawls_spider_is_freed() -> None:
    # The daemon builds a crawler and a spider for every run. A spider that Scrapy's signal
    # dispatcher (a module-level registry) held strongly lived for ever, with its crawler and
    # every source's context: the daemon grew by about 0.2 MB a run (300 MB after 200 runs).
    import gc
    import weakref

    from scrapy.utils.test import get_crawler

    from crawler.config import CrawlerConfig
    from crawler.fetch.settings import scrapy_settings
    from crawler.spiders.source import SourceSpider

    crawler = get_crawler(SourceSpider, settings_dict=scrapy_settings(CrawlerConfig()))
    spider = SourceSpider.from_crawler(crawler)
    freed = weakref.ref(spider), weakref.ref(crawler)
    del spider, crawler
    gc.collect()
    assert [ref() for ref in freed] == [None, None]


HOME = (b"<html><head><title>Daily</title>"
        b"<link rel='alternate' type='application/rss+xml' href='{base}/feed.xml'></head><body>home</body></html>")


def test_a_feed_source_given_a_web_page_reads_the_feed_the_page_advertises(tmp_path: Path, database_url: str) -> None:
    # A site's home page as a feed source's url (Miniflux finds the feed from it) failed every run:
    # "not a readable feed (not well-formed XML …)".
    routes = {"index.html": Route(body=HOME, content_type="text/html", templated=True),
              "feed.xml": Route(body=rss([("南京甲", "{base}/a.html")]), content_type="application/rss+xml",
                                templated=True),
              "a.html": Route(body=article_html("南京甲"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("index.html")}])
        assert crawl(config).returncode == 0
    assert list(stored(database_url)) == [site.url("a.html")]
    run = last_run(database_url, "f")
    assert run.status == "ok", run
    assert run.error == (f"{site.url('index.html')} is a web page, not a feed; read the feed it advertises, "
                         f"{site.url('feed.xml')} (set the source's url to it)")


# A site's page that names no feed (the parse error it gave fell at the first HTML-only token).
PLAIN_HOME = (b"<!DOCTYPE html>\n<html><head><title>Daily</title></head><body>"
              b"<p>Tea &amp; toast <input checked disabled></p><script>if (a < b && c) {}</script></body></html>")
BROKEN_RSS = b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title><<<>>>></rss>"


def test_a_feed_source_given_a_web_page_advertising_no_feed_says_so(tmp_path: Path, database_url: str) -> None:
    # It read "not a readable feed (not well-formed XML: <unknown>:2:79: not well-formed (invalid
    # token))": an XML parser's complaint about a page that was never meant to be XML.
    routes = {"index.html": Route(body=PLAIN_HOME, content_type="text/html; charset=utf-8"),
              "undeclared.html": Route(body=PLAIN_HOME, content_type="application/octet-stream"),
              # Many servers send feeds as text/html: a malformed one is still a malformed feed.
              "feed.xml": Route(body=BROKEN_RSS, content_type="text/html; charset=utf-8")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [
            {"name": "page", "kind": "feed", "url": site.url("index.html")},
            {"name": "undeclared", "kind": "feed", "url": site.url("undeclared.html")},
            {"name": "broken", "kind": "feed", "url": site.url("feed.xml")}])
        crawl(config)
    for name, path in (("page", "index.html"), ("undeclared", "undeclared.html")):
        run = last_run(database_url, name)
        assert run.status == "failed", run
        assert run.error == f"{site.url(path)} is a web page, not a feed, and advertises none (check the source's url)"
    broken = last_run(database_url, "broken")
    assert broken.status == "failed", broken
    assert (broken.error or "").startswith(f"{site.url('feed.xml')}: not a readable feed (not well-formed XML"), broken


def test_an_advertised_feed_that_fails_fails_the_source(tmp_path: Path, database_url: str) -> None:
    routes = {"index.html": Route(body=HOME, content_type="text/html", templated=True)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("index.html")}])
        crawl(config)
    run = last_run(database_url, "f")
    assert run.status == "failed", run
    assert site.url("feed.xml") in (run.error or "") and "404" in (run.error or ""), run.error


def test_a_sitemap_source_may_be_the_sites_robots_txt(tmp_path: Path, database_url: str) -> None:
    urlset = (b"<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
              b"<url><loc>{base}/a.html</loc><lastmod>2025-02-12</lastmod></url></urlset>")
    routes = {"robots.txt": Route(body=b"User-agent: *\nDisallow: /private/\nSitemap: {base}/news.xml\n",
                                  content_type="text/plain", templated=True),
              "news.xml": Route(body=urlset, content_type="application/xml", templated=True),
              "a.html": Route(body=article_html("南京甲"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("robots.txt")}])
        assert crawl(config).returncode == 0
    assert list(stored(database_url)) == [site.url("a.html")]
    run = last_run(database_url, "s")
    assert (run.status, run.found, run.new) == ("ok", 1, 1), run
