"""The reliability findings of issue 11, each reproduced on a loopback server through `mediawatch crawl`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scheduler.demo.site import Route
from storage.db import create_engine
from tests.conftest import run_cli
from tests.support.crawl import crawl, crawl_config, last_run, runs, source_state, stored
from tests.support.faults import FaultServer, article_html, redirect, rss, status

RSS = "application/rss+xml; charset=utf-8"


def rows(database_url: str, table: str) -> list[Any]:
    """Every row of a table (by name, so these tests also run, and fail, on a schema without it)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(f"SELECT * FROM {table}")).mappings())
    finally:
        engine.dispose()


# 1 -------------------------------------------------------------------------------------------
def test_non_http_links_in_a_feed_are_refused_and_the_rest_followed(tmp_path: Path, database_url: str) -> None:
    items = [("甲", "{base}/a.html"), ("乙", "javascript:alert(1)"), ("丙", "mailto:editor@example.cn"),
             ("丁", "{base}/b.html"), ("戊", "ftp://example.cn/c.html")]
    routes = {"feed.xml": Route(body=rss(items), content_type=RSS, templated=True),
              "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京丁"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    run = last_run(database_url, "f")
    assert (run.found, run.new, run.refused) == (5, 2, 3)
    assert run.error is not None and "javascript:alert(1)" in run.error


def test_feed_entries_without_a_link_are_counted_and_said(tmp_path: Path, database_url: str) -> None:
    # An entry with only a description, or only an enclosure, has no page to fetch: it was
    # dropped without a word, and the run read "ok", found 2 of a feed of 4 entries.
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            '<item><title>甲</title><link>{base}/a.html</link></item>'
            '<item><title>乙</title><description>只有摘要</description></item>'
            '<item><title>丙</title><enclosure url="{base}/c.mp3" type="audio/mpeg" length="1"/></item>'
            '<item><title>丁</title><link>{base}/b.html</link></item></channel></rss>')
    routes = {"feed.xml": Route(body=feed.encode(), content_type=RSS, templated=True),
              "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京丁"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    run = last_run(database_url, "f")
    assert (run.status, run.found, run.new, run.refused) == ("ok", 4, 2, 2)
    assert run.error is not None and "2 feed entries without a link" in run.error


def test_a_run_whose_article_pages_all_failed_names_a_failed_page_first(tmp_path: Path, database_url: str) -> None:
    # "all 3 article pages failed; first: refused javascript:void(0): only http(s) links are
    # followed": the first note of the run, a link that was never fetched, stood for the failures.
    listing = ('<ul class="news"><li><a href="javascript:void(0)">甲</a></li>'
               + "".join(f'<li><a href="/gone{i}.html">乙</a></li>' for i in range(3)) + "</ul>")
    routes = {"index.html": Route(body=listing.encode(), content_type="text/html; charset=utf-8")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [
            {"name": "l", "kind": "listing", "url": site.url("index.html"), "link_selector": "ul.news a"}])
        crawl(config)
    run = last_run(database_url, "l")
    assert (run.status, run.failed, run.refused) == ("failed", 3, 1)
    assert run.error is not None and run.error.startswith("all 3 article pages failed; first: http://"), run.error
    assert run.error.endswith(".html: HTTP 404"), run.error


def test_a_304_to_a_request_without_validators_fails_the_run(tmp_path: Path, database_url: str) -> None:
    # 304 means "what you have is current", an answer to If-None-Match or If-Modified-Since. A
    # server (or a proxy) answering it to a first, unconditional request was recorded as
    # not_modified, found 0, on every run: the feed was never read, and nothing said so.
    routes = {"feed.xml": Route(body=b"", status=304, content_type=RSS)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        crawl(config)
    run = last_run(database_url, "f")
    assert run.status == "failed"
    assert run.error is not None and "304 Not Modified" in run.error and "without" in run.error


def test_json_feed_items_without_a_url_are_counted_and_said_like_rss_entries(tmp_path: Path,
                                                                             database_url: str) -> None:
    # They were dropped without a word: the run read "ok", found 2 of a feed of 4 items.
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "{base}/a.html", "title": "甲"},
        {"id": "2", "title": "乙", "content_text": "只有正文"},
        {"id": "3", "title": "丙", "attachments": [{"url": "{base}/c.mp3", "mime_type": "audio/mpeg"}]},
        {"id": "4", "url": "{base}/b.html", "title": "丁"}]}, ensure_ascii=False)
    routes = {"feed.json": Route(body=feed.encode(), content_type="application/feed+json", templated=True),
              "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京丁"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.json")}])
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    run = last_run(database_url, "f")
    assert (run.status, run.found, run.new, run.refused) == ("ok", 4, 2, 2)
    assert run.error is not None and "2 feed entries without a link" in run.error


def test_non_http_links_on_a_listing_page_are_refused_like_a_feeds(tmp_path: Path, database_url: str) -> None:
    # The listing parser used to drop them before the spider saw them: found 2, refused 0.
    listing = ('<ul class="news"><li><a href="/a.html">甲</a></li><li><a href="javascript:void(0)">乙</a></li>'
               '<li><a href="mailto:editor@example.cn">丙</a></li><li><a href="/b.html">丁</a></li></ul>')
    routes = {"index.html": Route(body=listing.encode(), content_type="text/html; charset=utf-8"),
              "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京丁"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [
            {"name": "l", "kind": "listing", "url": site.url("index.html"), "link_selector": "ul.news a"}])
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    run = last_run(database_url, "l")
    assert (run.found, run.new, run.refused) == (4, 2, 2)
    assert run.error is not None and "javascript:void(0)" in run.error


def test_a_malformed_link_is_refused_and_the_rest_of_the_source_followed(tmp_path: Path, database_url: str) -> None:
    # One link Python cannot parse (an unclosed IPv6 bracket, a port past 65535) raised
    # ValueError in the parser or while deduplicating: every other link of the feed, listing
    # or sitemap was dropped, and the run said "ok", found 0.
    bad = ["http://[::1/x.html", "http://127.0.0.1:99999/y.html"]
    json_feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t",
                 "items": [{"id": str(i), "url": url} for i, url in enumerate(["{base}/a.html", *bad, "{base}/b.html"])]}
    # Two more that urlsplit reads but scrapy.Request refuses: text after an IPv6 host's bracket,
    # and a lone surrogate (a JSON string may hold one: "\ud800").
    json_feed["items"] += [{"id": "s", "url": "http://127.0.0.1/\ud800.html"}, {"id": "v", "url": "http://[::1]x/z.html"}]
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               + "".join(f"<url><loc>{url}</loc></url>" for url in ["{base}/a.html", *bad, "{base}/b.html"])
               + "</urlset>")
    listing = "<ul class='news'>" + "".join(f"<li><a href='{url}'>x</a></li>"
                                            for url in ["/a.html", *bad, "http://[::1]x/z.html", "/b.html"]) + "</ul>"
    routes = {
        "feed.xml": Route(body=rss([("甲", "{base}/a.html"), ("乙", bad[0]), ("丙", bad[1]), ("丁", "{base}/b.html")]),
                          content_type=RSS, templated=True),
        "feed.json": Route(body=json.dumps(json_feed).encode(), content_type="application/feed+json", templated=True),
        "sitemap.xml": Route(body=sitemap.encode(), content_type="application/xml", templated=True),
        "index.html": Route(body=listing.encode(), content_type="text/html; charset=utf-8"),
        "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京丁")),
    }
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             + "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in [*bad, "{base}/sitemap.xml"]) + "</sitemapindex>")
    routes["index.xml"] = Route(body=index.encode(), content_type="application/xml", templated=True)
    sources = [{"name": "rss", "kind": "feed", "url": "feed.xml"}, {"name": "json", "kind": "feed", "url": "feed.json"},
               {"name": "sitemap", "kind": "sitemap", "url": "sitemap.xml"},
               {"name": "listing", "kind": "listing", "url": "index.html", "link_selector": "ul.news a"}]
    with FaultServer(routes) as site:
        sources.append({"name": "index", "kind": "sitemap", "url": "index.xml"})
        config = crawl_config(tmp_path, database_url, [dict(s, url=site.url(s["url"])) for s in sources])
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    index_run = last_run(database_url, "index")
    assert index_run.status == "partial" and index_run.error is not None
    assert "sitemap http://127.0.0.1:99999/y.html is not a valid URL" in index_run.error
    assert index_run.found == 4  # the good child sitemap was still read
    for source in sources[:-1]:
        run = last_run(database_url, source["name"])
        # Each one refused and named (feedparser itself drops the unclosed bracket from an RSS item).
        assert run.status == "ok" and run.refused >= 1 and run.found == 2 + run.refused, (source["name"], run)
        assert run.error is not None and "http://127.0.0.1:99999/y.html: not a valid URL" in run.error, source


def test_a_sitemap_index_that_lists_itself_is_read_once(tmp_path: Path, database_url: str) -> None:
    # The index was fetched again for every mention of itself, down to Scrapy's depth limit
    # (four times here; an index listing itself five times cost 156 requests), and each
    # reading repeated its notes in the run's error.
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             "<sitemap><loc>{base}/index.xml</loc></sitemap><sitemap><loc>{base}/news.xml</loc></sitemap>"
             "<sitemap><loc>{base}/news.xml</loc></sitemap><sitemap><loc>ftp://example.cn/x.xml</loc></sitemap>"
             "</sitemapindex>")
    news = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<url><loc>{base}/a.html</loc></url></urlset>")
    routes = {"index.xml": Route(body=index.encode(), content_type="application/xml", templated=True),
              "news.xml": Route(body=news.encode(), content_type="application/xml", templated=True),
              "a.html": Route(body=article_html("南京甲"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("index.xml")}])
        assert crawl(config).returncode == 0
        assert site.hits("index.xml") == 1 and site.hits("news.xml") == 1
    assert list(stored(database_url)) == [site.url("a.html")]
    run = last_run(database_url, "s")
    assert run.error is not None and run.error.count("only http(s) URLs are fetched") == 1, run.error


def test_a_json_feed_entry_holding_a_lone_surrogate_is_stored(tmp_path: Path, database_url: str) -> None:
    # JSON may escape half a character ("\ud800"), which json.loads accepts and no database or
    # terminal takes: the article stored from such an entry failed in the pipeline with a
    # UnicodeEncodeError, and the run said "ok", found 1, new 0, failed 0.
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "{base}/video.html", "title": "南京\ud800之问", "summary": "六小龙\udfff 之问",
         "authors": [{"name": "\ud800"}]}]}
    routes = {"feed.json": Route(body=json.dumps(feed).encode(), content_type="application/feed+json", templated=True),
              "video.html": Route(body=b"<html><head><title></title></head><body><video></video></body></html>")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "j", "kind": "feed", "url": site.url("feed.json")}])
        assert crawl(config).returncode == 0
    article = stored(database_url)[site.url("video.html")].article
    assert (article.title, article.text) == ("南京之问", "六小龙 之问")
    assert last_run(database_url, "j").new == 1


# 3 -------------------------------------------------------------------------------------------
def test_page_headline_beats_the_feed_title_and_recheck_sees_no_edit(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=article_html("南京追问六小龙：创新生态何在"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
        article = stored(database_url)[site.url("a.html")].article
        assert (article.title, article.feed_title, article.title_source) == (
            "南京追问六小龙：创新生态何在", "南京追问", "page")
        result = run_cli("recheck", config=config)
        assert result.returncode == 0, result.stderr
    assert "edited" not in result.stdout
    assert "unchanged 1" in result.stdout


def test_garbled_page_headline_falls_back_to_the_feed_title(tmp_path: Path, database_url: str) -> None:
    page = article_html("南京追问六小龙").replace("南京追问六小龙".encode(), "南京追问六小龙".encode("gbk")[:-1] + b"\xff")
    routes = {"feed.xml": Route(body=rss([("南京追问六小龙", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=page)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    article = stored(database_url)[site.url("a.html")].article
    assert (article.title, article.title_source) == ("南京追问六小龙", "feed")


# 4 -------------------------------------------------------------------------------------------
VIDEO = b"<html><head><title>video</title></head><body><nav><a href='/'>home</a></nav><video src='v.mp4'></video></body></html>"


def test_page_without_text_is_stored_from_the_feed_and_filled_in_on_recheck(tmp_path: Path, database_url: str) -> None:
    feed = rss([("南京六小龙视频", "{base}/v.html")]).replace(b"</title><link>", b"</title><description>"
                                                             + "南京追问六小龙的视频报道".encode() + b"</description><link>")
    routes = {"feed.xml": Route(body=feed, content_type=RSS, templated=True), "v.html": Route(body=VIDEO)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
        item = stored(database_url)[site.url("v.html")]
        assert item.article.text_missing
        assert item.article.title == "南京六小龙视频"
        assert "视频报道" in item.article.text
        assert item.article.published_at is not None
        assert any(m.relevant for m in item.matches)  # matched on what there is
        run = last_run(database_url, "f")
        assert (run.new, run.failed, run.status) == (1, 0, "ok")
        site.routes["v.html"] = Route(body=article_html("南京六小龙视频"))
        assert run_cli("recheck", config=config).returncode == 0
    article = stored(database_url)[site.url("v.html")].article
    assert not article.text_missing
    assert "杭州六小龙引发南京反思" in article.text


def test_a_feed_entry_linking_to_a_pdf_is_stored_from_the_entry_not_failed(tmp_path: Path, database_url: str) -> None:
    # Government and think-tank feeds link their reports as PDFs: each counted "not an HTML page",
    # failed on every run until given up on, and the report never reached a digest.
    feed = rss([("南京为何没有六小龙：调研报告", "{base}/report.pdf"), ("图", "{base}/photo.png")])
    routes = {"feed.xml": Route(body=feed, content_type=RSS, templated=True),
              "report.pdf": Route(body=b"%PDF-1.7\n" + bytes(range(256)) * 8, content_type="application/pdf"),
              "photo.png": Route(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    item = stored(database_url)[site.url("report.pdf")]
    assert item.article.text_missing
    assert item.article.title == "南京为何没有六小龙：调研报告"
    assert "\ufffd" not in item.article.text and "PDF" not in item.article.text
    assert site.url("photo.png") not in stored(database_url)  # an image is no coverage: failed as before
    run = last_run(database_url, "f")
    assert (run.new, run.failed) == (1, 1), run
    assert [row["url"] for row in rows(database_url, "url_failure")] == [site.url("photo.png")]


# 5 -------------------------------------------------------------------------------------------
def test_redirect_loop_is_counted_as_failed(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=rss([("甲", "{base}/loop1"), ("乙", "{base}/a.html")]), content_type=RSS,
                                templated=True),
              "a.html": Route(body=article_html("南京乙"))}
    faults = {"loop1": redirect("{base}/loop2"), "loop2": redirect("{base}/loop1")}
    with FaultServer(routes, faults) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    run = last_run(database_url, "f")
    assert (run.found, run.new, run.failed) == (2, 1, 1)
    assert run.error is not None and "redirect" in run.error and "loop1" in run.error


def test_redirected_article_is_stored_under_its_final_url_and_the_old_one_dedups(
    tmp_path: Path, database_url: str
) -> None:
    routes = {"feed.xml": Route(body=rss([("甲", "{base}/old.html")]), content_type=RSS, templated=True),
              "list.html": Route(body=b"<ul class='x'><li><a href='/new.html'>x</a></li></ul>"),
              "new.html": Route(body=article_html("南京甲"))}
    with FaultServer(routes, {"old.html": redirect("{base}/new.html?utm_source=rss")}) as site:
        sources = [{"name": "f", "kind": "feed", "url": site.url("feed.xml")},
                   {"name": "l", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"}]
        config = crawl_config(tmp_path, database_url, sources[:1])
        assert crawl(config).returncode == 0
        assert list(stored(database_url)) == [site.url("new.html")]
        [alias] = rows(database_url, "article_alias")
        assert alias["url"] == site.url("old.html")
        config = crawl_config(tmp_path, database_url, sources)
        assert crawl(config).returncode == 0
        assert site.hits("old.html") == 1 and site.hits("new.html") == 1
    assert len(stored(database_url)) == 1
    assert last_run(database_url, "l").duplicate == 1


# 6 -------------------------------------------------------------------------------------------
def test_invalid_xml_feed_is_failed_not_ok(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=b"<rss version='2.0'><channel><<<>>>><item></rss>", content_type=RSS)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        crawl(config)
    run = last_run(database_url, "f")
    assert run.status == "failed"
    assert run.error is not None and "not well-formed" in run.error


def test_listing_selector_that_matches_nothing_or_is_invalid_fails(tmp_path: Path, database_url: str) -> None:
    routes = {"list.html": Route(body=b"<ul class='y'><li><a href='/a.html'>x</a></li></ul>")}
    with FaultServer(routes) as site:
        nothing = {"name": "nothing", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"}
        crawl(crawl_config(tmp_path, database_url, [nothing]))
        run = last_run(database_url, "nothing")
        assert run.status == "failed" and "matched nothing" in (run.error or "")
        # An invalid selector is refused when the configuration is loaded, before any crawl.
        invalid = dict(nothing, name="invalid", link_selector="ul[[x a")
        result = crawl(crawl_config(tmp_path, database_url, [invalid]))
        assert result.returncode == 2 and "ul[[x a" in result.stdout + result.stderr


def test_feed_that_used_to_have_entries_and_now_has_none_fails(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=rss([("甲", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=article_html("南京甲"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
        site.routes["feed.xml"] = Route(body=rss([]), content_type=RSS)
        crawl(config)
    run = last_run(database_url, "f")
    assert run.status == "failed"
    assert "0 entries" in (run.error or "") and "found 1" in (run.error or "")


# 7 -------------------------------------------------------------------------------------------
def test_a_dead_article_link_does_not_make_the_source_unhealthy_and_is_not_refetched_every_run(
    tmp_path: Path, database_url: str
) -> None:
    links = "".join(f"<li><a href='/{name}'>x</a></li>" for name in ("a.html", "b.html", "c.html", "dead.html"))
    routes = {"list.html": Route(body=f"<ul class='x'>{links}</ul>".encode())}
    routes.update({name: Route(body=article_html(f"南京{name}")) for name in ("a.html", "b.html", "c.html")})
    with FaultServer(routes) as site:
        source = {"name": "l", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"}
        config = crawl_config(tmp_path, database_url, [source], unhealthy_after=3)
        for _ in range(4):
            assert crawl(config).returncode == 0
        assert site.hits("dead.html") == 1
    state = source_state(database_url, "l")
    assert state.healthy and state.consecutive_failures == 0
    statuses = [run.status for run in runs(database_url)["l"]]
    assert statuses[0] == "partial" and "failed" not in statuses
    [failure] = rows(database_url, "url_failure")
    assert failure["url"] == site.url("dead.html") and failure["failures"] == 1
    assert "HTTP 404" in (failure["last_error"] or "")


# 8 -------------------------------------------------------------------------------------------
def test_exact_page_time_beats_a_date_only_sitemap_lastmod(tmp_path: Path, database_url: str) -> None:
    sitemap = (b"<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
               b"<url><loc>{base}/a.html</loc><lastmod>2025-02-09</lastmod></url></urlset>")
    page = article_html("南京甲", extra="").replace(
        b"</head>", b"<meta property='article:published_time' content='2025-02-09T09:00:00+08:00'></head>")
    routes = {"sitemap.xml": Route(body=sitemap, content_type="application/xml", templated=True),
              "a.html": Route(body=page)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("sitemap.xml")}])
        assert crawl(config).returncode == 0
    article = stored(database_url)[site.url("a.html")].article
    assert article.published_at is not None and article.published_at.isoformat() == "2025-02-09T01:00:00+00:00"
    assert article.date_source == "page"


@pytest.mark.parametrize(("page_time", "expected"), [("2025-02-09T09:00:00+08:00", ("2025-02-09T01:00:00+00:00", "page")),
                                                    ("2099-02-09T09:00:00+08:00", ("2025-02-09T00:00:00+00:00", "sitemap-day"))])
def test_recheck_gives_a_day_only_date_the_pages_exact_time(tmp_path: Path, database_url: str, page_time: str,
                                                            expected: tuple[str, str]) -> None:
    # A page without text (a video, a paywall) is stored with its sitemap's bare day; once its text
    # is there, so is its exact time. Recheck filled in the text and kept midnight UTC, a day's
    # guess that can put it on the wrong side of a digest's window.
    sitemap = (b"<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
               b"<url><loc>{base}/v.html</loc><lastmod>2025-02-09</lastmod></url></urlset>")
    page = article_html("南京六小龙视频", extra="").replace(
        b"</head>", f"<meta property='article:published_time' content='{page_time}'></head>".encode())
    routes = {"sitemap.xml": Route(body=sitemap, content_type="application/xml", templated=True),
              "v.html": Route(body=VIDEO)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("sitemap.xml")}])
        assert crawl(config).returncode == 0
        before = stored(database_url)[site.url("v.html")].article
        assert (before.text_missing, before.date_source) == (True, "sitemap-day")
        site.routes["v.html"] = Route(body=page)
        assert run_cli("recheck", config=config).returncode == 0
    article = stored(database_url)[site.url("v.html")].article
    assert not article.text_missing
    # A page time in the future (a wrong zone, a scheduled post) is no better than the day: kept.
    assert article.published_at is not None
    assert (article.published_at.isoformat(), article.date_source) == expected


# 9 -------------------------------------------------------------------------------------------
def test_retry_after_is_honoured_per_host(tmp_path: Path, database_url: str) -> None:
    routes = {"feed.xml": Route(body=rss([("甲", "{base}/slow.html"), ("乙", "{base}/b.html")]), content_type=RSS,
                                templated=True),
              "b.html": Route(body=article_html("南京乙"))}
    with FaultServer(routes, {"slow.html": status(429, **{"Retry-After": "3600"})}) as site:
        source = {"name": "f", "kind": "feed", "url": site.url("feed.xml")}
        config = crawl_config(tmp_path, database_url, [source], retry_times=2, concurrency_per_host=1)
        crawl(config)
        assert site.hits("slow.html") == 1  # not retried after 2 s and 6 s
        [host] = rows(database_url, "host_state")
        assert host["host"] == "127.0.0.1" and host["not_before"] is not None
        before = len(site.requests)
        waiting = crawl(config)
        assert len(site.requests) == before  # the host is left alone until then
    run = last_run(database_url, "f")
    assert run.status == "skipped" and "Retry-After" in (run.error or "")
    # The operator is told why, not that another process is crawling it.
    assert waiting.returncode == 1
    assert "  f: skipped, 0 new" in waiting.stderr.splitlines(), waiting.stderr
    assert "another process" not in waiting.stderr and "asked us to wait" in waiting.stderr.splitlines()[-1]


def test_a_source_refused_because_its_host_said_wait_is_skipped_not_failed(tmp_path: Path, database_url: str) -> None:
    # Source "a"'s feed answered 429 with Retry-After: an hour. Source "b", on the same host,
    # was then refused before sending anything, and recorded as *failed*: three such crawls
    # made "b" unhealthy and doubled its interval, though it never got an answer. The next
    # crawl, which refuses it up front for the same reason, already recorded "skipped".
    routes = {"b.xml": Route(body=rss([("乙", "{base}/b.html")]), content_type=RSS, templated=True),
              "b.html": Route(body=article_html("南京乙"))}
    with FaultServer(routes, {"a.xml": status(429, **{"Retry-After": "3600"})}) as site:
        sources = [{"name": "a", "kind": "feed", "url": site.url("a.xml")},
                   {"name": "b", "kind": "feed", "url": site.url("b.xml")}]
        config = crawl_config(tmp_path, database_url, sources, concurrency_per_host=1)
        result = crawl(config)
        assert site.hits("a.xml") == 1 and site.hits("b.xml") == 0, result.stderr
    a, b = last_run(database_url, "a"), last_run(database_url, "b")
    assert a.status == "failed" and "429" in (a.error or "")
    assert b.status == "skipped" and "asked us to wait" in (b.error or ""), b
    assert source_state(database_url, "b").consecutive_failures == 0
    assert source_state(database_url, "a").consecutive_failures == 1
    assert "  b: skipped, 0 new" in result.stderr.splitlines(), result.stderr


# 11 ------------------------------------------------------------------------------------------
def test_listing_and_sitemap_are_fetched_conditionally(tmp_path: Path, database_url: str) -> None:
    sitemap = (b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>{base}/b.html</loc></url>"
               b"</urlset>")
    routes = {
        "list.html": Route(body=b"<ul class='x'><li><a href='/a.html'>x</a></li></ul>", headers={"ETag": '"l1"'}),
        "sitemap.xml": Route(body=sitemap, content_type="text/xml", templated=True,
                             headers={"Last-Modified": "Sun, 09 Feb 2025 02:00:00 GMT"}),
        "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京乙")),
    }
    with FaultServer(routes) as site:
        sources = [{"name": "l", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"},
                   {"name": "s", "kind": "sitemap", "url": site.url("sitemap.xml")}]
        config = crawl_config(tmp_path, database_url, sources)
        assert crawl(config).returncode == 0
        assert crawl(config).returncode == 0
        assert site.headers_of("list.html")[1].get("If-None-Match") == '"l1"'
        assert site.headers_of("sitemap.xml")[1].get("If-Modified-Since") == "Sun, 09 Feb 2025 02:00:00 GMT"
    assert last_run(database_url, "l").status == "not_modified"
    assert last_run(database_url, "s").status == "not_modified"


def test_title_choice_and_text_missing_hold_with_extraction_in_worker_processes(
    tmp_path: Path, database_url: str
) -> None:
    items = [("南京追问", "{base}/a.html"), ("南京六小龙视频", "{base}/v.html")]
    routes = {"feed.xml": Route(body=rss(items), content_type=RSS, templated=True),
              "a.html": Route(body=article_html("南京追问六小龙：创新生态何在")), "v.html": Route(body=VIDEO)}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              extract_processes=2)
        assert crawl(config).returncode == 0
    articles = stored(database_url)
    page = articles[site.url("a.html")]
    assert (page.article.title, page.article.title_source) == ("南京追问六小龙：创新生态何在", "page")
    assert any(m.relevant for m in page.matches)
    video = articles[site.url("v.html")].article
    assert video.text_missing and video.title == "南京六小龙视频"


def test_links_left_for_a_later_run_are_fetched_though_the_feed_is_unchanged(
    tmp_path: Path, database_url: str
) -> None:
    # A run capped at max_articles_per_run kept the feed's ETag: every later run got a 304 and
    # the deferred links were never fetched until the feed changed (a sitemap of 1,000 links
    # and a cap of 200 stayed at 200 articles).
    items = [(f"南京{n}", f"{{base}}/{n}.html") for n in range(5)]
    routes = {"feed.xml": Route(body=rss(items), content_type=RSS, templated=True),
              **{f"{n}.html": Route(body=article_html(f"南京六小龙{n}")) for n in range(5)}}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              max_articles_per_run=2)
        results = [crawl(config) for _ in range(5)]
    assert all(result.returncode == 0 for result in results)
    assert len(stored(database_url)) == 5
    # Nothing left for later after the third run: the next polls are 304s again.
    assert [(run.status, run.new) for run in runs(database_url)["f"]] == [
        ("ok", 2), ("ok", 2), ("ok", 1), ("not_modified", 0), ("not_modified", 0)]


def test_a_sitemap_index_that_never_changes_still_has_its_sitemaps_read(tmp_path: Path, database_url: str) -> None:
    # A sitemap index is a static list of sitemaps whose own content changes: a 304 for the
    # index ended the run, so a site's new articles were never seen again after the first run.
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             "<sitemap><loc>{base}/news.xml</loc></sitemap></sitemapindex>")

    def news(*pages: str) -> Route:
        urls = "".join(f"<url><loc>{{base}}/{page}</loc></url>" for page in pages)
        return Route(body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                          f"{urls}</urlset>".encode(), content_type="application/xml", templated=True)

    routes = {"index.xml": Route(body=index.encode(), content_type="application/xml", templated=True),
              "news.xml": news("a.html"), "a.html": Route(body=article_html("南京甲")),
              "b.html": Route(body=article_html("南京乙"))}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("index.xml")}])
        assert crawl(config).returncode == 0
        site.routes["news.xml"] = news("a.html", "b.html")
        assert crawl(config).returncode == 0
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    assert [(run.status, run.new) for run in runs(database_url)["s"]] == [("ok", 1), ("ok", 1), ("ok", 0)]


def test_a_sitemap_up_to_the_protocols_50_mb_is_read_past_max_page_bytes(tmp_path: Path, database_url: str) -> None:
    # The sitemap protocol allows 50 MB (uncompressed); max_page_bytes (10 MB by default) is a
    # bound for pages, and a site's legal 16 MB sitemap failed the source every run: "page
    # larger than max_page_bytes". Here the bound is 200 KB and the sitemaps about 400 KB.
    padding = "".join(f"<url><loc>{{base}}/old/{n:05d}-{'x' * 40}.html</loc><lastmod>2010-01-01</lastmod></url>"
                      for n in range(3500))

    def sitemap(page: str) -> bytes:
        return ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{{base}}/{page}</loc></url>{padding}</urlset>").encode()

    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             "<sitemap><loc>{base}/child.xml</loc></sitemap></sitemapindex>")
    routes = {"sitemap.xml": Route(body=sitemap("a.html"), content_type="application/xml", templated=True),
              "index.xml": Route(body=index.encode(), content_type="application/xml", templated=True),
              "child.xml": Route(body=sitemap("b.html"), content_type="application/xml", templated=True),
              "a.html": Route(body=article_html("南京甲")), "b.html": Route(body=article_html("南京乙")),
              "big.html": Route(body=article_html("南京丙", paragraphs=5000))}
    assert len(routes["sitemap.xml"].body) > 300_000 and len(routes["big.html"].body) > 300_000
    routes["feed.xml"] = Route(body=rss([("丙", "{base}/big.html")]), content_type=RSS, templated=True)
    with FaultServer(routes) as site:
        sources = [{"name": "s", "kind": "sitemap", "url": site.url("sitemap.xml")},
                   {"name": "i", "kind": "sitemap", "url": site.url("index.xml")},
                   {"name": "f", "kind": "feed", "url": site.url("feed.xml")}]
        config = crawl_config(tmp_path, database_url, sources, max_page_bytes=200_000, max_articles_per_run=1)
        assert crawl(config).returncode == 0
    assert sorted(stored(database_url)) == [site.url("a.html"), site.url("b.html")]
    assert last_run(database_url, "s").found == 3501
    assert last_run(database_url, "i").found == 3501
    # A page is still held to max_page_bytes.
    assert "larger than max_page_bytes" in (last_run(database_url, "f").error or "")
