"""Discovery end to end: the CLI crawls a fake news-search engine, a fake RSSHub and cited links on 127.0.0.1.

The engine's result feed links three outlets through engine links: a redirect to
an article a listed source already stored, a Bing-style wrapper to a new outlet, and
a redirect to a reprint of the first story on another new outlet. The new outlet's
article cites two more pages: one on an allowed host, one not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest

from crawler.discovery.outlets import outlet_of
from scheduler.demo.site import StaticSite
from storage.db import create_engine
from storage.models import Article
from storage.repository import Repository
from tests.conftest import run_cli
from tests.crawler.discovery.support import (
    STORY_A,
    STORY_B,
    STORY_D,
    STORY_E,
    STORY_H,
    article,
    discovery_config,
    gnews_article_page,
    gnews_batchexecute,
    redirect,
    rss,
)

pytestmark = pytest.mark.slow
# A Google News id of the kind that hides the URL: base64 of a protobuf holding only an opaque key.
OPAQUE_ID = "CBMiTkFVX3lxTE1hX2V4YW1wbGVfb3BhcXVlX2tleQ"


class Web:
    """One StaticSite per outlet, all on 127.0.0.1."""

    def __init__(self, stack: ExitStack) -> None:
        names = ("known", "engine", "jinan", "reprint", "taizhou", "denied", "rsshub", "zaobao", "hkcolumn")
        self.sites: dict[str, StaticSite] = {n: stack.enter_context(StaticSite({})) for n in names}

    def __getattr__(self, name: str) -> StaticSite:
        return self.sites[name]


@pytest.fixture
def web() -> Iterator[Web]:
    with ExitStack() as stack:
        w = Web(stack)
        a_url = w.known.url("story/a.html")
        b_url = w.jinan.url("news/b.html")
        c_url = w.reprint.url("c.html")
        e_url = w.taizhou.url("opinion/e.html")
        w.known.routes.update({
            "feed.xml": rss("known outlet", [("南京之问", a_url)]),
            "story/a.html": article("江苏官媒三问南京：为何没有六小龙", STORY_A),
        })
        w.engine.routes.update({
            "rss/search": rss("search results", [
                ("南京之问 - known", w.engine.url("r/a")),
                ("济南之问 - jinan", w.engine.url("news/apiclick.aspx") + "?tid=1&url=" + quote(b_url, safe="")),
                ("南京之问 - reprint", w.engine.url("r/c")),
                ("南京為何沒有六小龍 - hk", w.engine.url(f"rss/articles/{OPAQUE_ID}") + "?oc=5"),
            ]),
            f"rss/articles/{OPAQUE_ID}": gnews_article_page(),
            "_/DotsSplashUi/data/batchexecute": gnews_batchexecute(w.hkcolumn.url("column/h.html")),
            "r/a": redirect(a_url),
            "r/c": redirect(w.engine.url("r/c2"), 301),  # two hops on the engine, then the publisher
            "r/c2": redirect(c_url),
        })
        cites = (
            f'<p>另据<a href="{e_url}">台州日报报道</a>，各地都在讨论。</p>'
            f'<p>来源：<a href="{w.denied.url("x/f.html")}">某网站</a></p>'
        )
        w.jinan.routes["news/b.html"] = article("济南之问：我们离六小龙还有多远", STORY_B, cites)
        w.reprint.routes["c.html"] = article("江苏官媒三问南京：为何没有六小龙", STORY_A)
        w.taizhou.routes["opinion/e.html"] = article("六小龙之问，每座城市都该回答", STORY_E)
        w.denied.routes["x/f.html"] = article("不该被抓取", STORY_E)
        w.rsshub.routes["zaobao/realtime/china"] = rss("联合早报 - RSSHub", [("三问南京", w.zaobao.url("story/d"))])
        w.zaobao.routes["story/d"] = article("江苏官媒三问南京引发热议", STORY_D)
        w.hkcolumn.routes["column/h.html"] = article("南京為何沒有六小龍", STORY_H)
        yield w


def _sources(web: Web) -> list[dict[str, Any]]:
    return [
        {"name": "known", "kind": "feed", "url": web.known.url("feed.xml"), "allow_private": True},
        {"name": "news-search", "kind": "search", "url": web.engine.url("rss/search") + "?q={query}&hl=zh-CN",
         "every": "1h", "allow_private": True},
        {"name": "zaobao-rsshub", "kind": "rsshub", "route": "/zaobao/realtime/china", "allow_private": True},
    ]


def _stored(database_url: str) -> dict[str, Article]:
    engine = create_engine(database_url)
    try:
        return {item.article.url: item.article for item in Repository(engine).list_articles(relevant_only=False)}
    finally:
        engine.dispose()


def test_search_rsshub_and_cited_links_store_publisher_urls_once_with_their_path(
    tmp_path: Path, database_url: str, web: Web
) -> None:
    config = discovery_config(
        tmp_path, database_url, _sources(web),
        rsshub_url=web.rsshub.base_url, outlink_hosts=[outlet_of(web.taizhou.base_url)],
    )
    listed = run_cli("crawl", "--source", "known", config=config)
    assert listed.returncode == 0, listed.stderr
    result = run_cli("crawl", config=config)
    assert result.returncode == 0, result.stderr + result.stdout

    stored = _stored(database_url)
    a, b, c = web.known.url("story/a.html"), web.jinan.url("news/b.html"), web.reprint.url("c.html")
    d, e = web.zaobao.url("story/d"), web.taizhou.url("opinion/e.html")
    h = web.hkcolumn.url("column/h.html")
    assert set(stored) == {a, b, c, d, e, h}
    # Publisher URLs only, never the engine's.
    assert not any(url.startswith(web.engine.base_url) for url in stored)

    # The story the listed source had is not stored again from search, nor downloaded again.
    assert stored[a].discovered_via == "listed" and stored[a].source_name == "known"
    assert not stored[a].new_outlet
    assert web.known.hits("story/a.html") == 1

    assert (stored[b].discovered_via, stored[b].source_name, stored[b].new_outlet) == ("search", "news-search", True)
    assert stored[b].outlet == outlet_of(b)
    # The reprint is its own row on a new outlet, in the first story's storyline.
    assert (stored[c].discovered_via, stored[c].new_outlet) == ("search", True)
    assert stored[c].storyline_id == stored[a].storyline_id
    assert (stored[d].discovered_via, stored[d].new_outlet) == ("rsshub", True)
    # The opaque Google News link was resolved by its page's signature and one batchexecute request.
    assert (stored[h].discovered_via, stored[h].new_outlet) == ("search", True)
    [(path, form)] = web.engine.posted
    assert path == "/_/DotsSplashUi/data/batchexecute"
    assert b"garturlreq" in unquote_to_bytes(form) and OPAQUE_ID.encode() in unquote_to_bytes(form)

    # The cited page is stored with the article that cited it; the host off the allow list is never asked.
    assert (stored[e].discovered_via, stored[e].cited_by_id, stored[e].new_outlet) == ("cited", stored[b].id, True)
    assert web.denied.requests == []

    # The wrapper was read off the link; only the redirects cost an engine request.
    assert web.engine.hits("news/apiclick.aspx") == 0
    assert web.engine.hits("r/a") == web.engine.hits("r/c") == web.engine.hits("r/c2") == 1
    assert web.engine.hits("rss/search") == 1

    # The engine is not asked again before its cadence, however often crawls are started.
    again = run_cli("crawl", "--source", "news-search", config=config)
    assert again.returncode == 0, again.stderr
    assert web.engine.hits("rss/search") == 1

    listing = run_cli("articles", "--json", "--limit", "10", config=config)
    assert listing.returncode == 0, listing.stderr
    records = {r["url"]: r for r in map(json.loads, listing.stdout.splitlines())}
    assert records[e]["discovered_via"] == "cited" and records[e]["cited_by"] == stored[b].id
    assert records[b]["new_outlet"] is True and records[a]["discovered_via"] == "listed"


def test_outlinks_respect_the_deny_list_and_the_run_budget(tmp_path: Path, database_url: str, web: Web) -> None:
    taizhou = outlet_of(web.taizhou.base_url)
    denied = discovery_config(
        tmp_path, database_url, _sources(web)[1:2],
        outlink_hosts=[taizhou, outlet_of(web.denied.base_url)], outlink_deny=[taizhou], max_outlinks_per_run=1,
    )
    result = run_cli("crawl", config=denied)
    assert result.returncode == 0, result.stderr
    assert web.taizhou.requests == []  # denied wins over allowed
    # The budget of one went to the other allowed host's page.
    assert web.denied.hits("x/f.html") == 1


@pytest.mark.parametrize("extract_processes", [0, 1])
def test_only_an_on_topic_article_has_its_citations_followed(
    tmp_path: Path, database_url: str, extract_processes: int
) -> None:
    # Both pages cite a report on another outlet; only the one about the story is followed,
    # whether the crawl's own thread or a worker process matched the pages.
    with StaticSite({}) as known, StaticSite({}) as cited:
        on_topic, off_topic = known.url("on.html"), known.url("off.html")
        cue = '<p>据<a href="{url}">日报报道</a>，各地都在讨论。</p>'
        known.routes.update({
            "feed.xml": rss("known outlet", [("南京之问", on_topic), ("西湖游客", off_topic)]),
            "on.html": article("江苏官媒三问南京：为何没有六小龙", STORY_A, cue.format(url=cited.url("news/x.html"))),
            "off.html": article("春节假期西湖游客超三百万", ["西湖景区春节假期接待游客超过三百万人次。"] * 3,
                                cue.format(url=cited.url("news/y.html"))),
        })
        cited.routes.update({"news/x.html": article("六小龙之问，每座城市都该回答", STORY_E),
                             "news/y.html": article("景区客流统计", ["客流统计。"] * 3)})
        config = discovery_config(
            tmp_path, database_url,
            [{"name": "known", "kind": "feed", "url": known.url("feed.xml"), "allow_private": True}],
            crawler={"extract_processes": extract_processes}, outlink_hosts=[outlet_of(cited.base_url)],
        )
        result = run_cli("crawl", config=config)
        assert result.returncode == 0, result.stderr
        assert cited.hits("news/x.html") == 1
        assert cited.hits("news/y.html") == 0
    stored = _stored(database_url)
    assert stored[cited.url("news/x.html")].discovered_via == "cited"
    assert {on_topic, off_topic} <= set(stored)


@pytest.mark.parametrize("extract_processes", [0, 1])
def test_an_article_citing_a_malformed_link_is_stored(tmp_path: Path, database_url: str, extract_processes: int) -> None:
    # With discovery on (the default), a link in the prose that urllib cannot parse raised
    # ValueError while the article's citations were collected: the article was dropped, and
    # the run said "ok", found 1, new 0, failed 0, on every crawl.
    with StaticSite({}) as known:
        page = known.url("on.html")
        cue = '<p>据<a href="http://[::1/news/x.html">日报报道</a>，另据<a href="http://127.0.0.1:99999/news/y.html">报道</a>。</p>'
        known.routes.update({
            "feed.xml": rss("known outlet", [("南京之问", page)]),
            "on.html": article("江苏官媒三问南京：为何没有六小龙", STORY_A, cue),
        })
        config = discovery_config(
            tmp_path, database_url,
            [{"name": "known", "kind": "feed", "url": known.url("feed.xml"), "allow_private": True}],
            crawler={"extract_processes": extract_processes},
        )
        result = run_cli("crawl", config=config)
        assert result.returncode == 0, result.stderr
    assert page in _stored(database_url)


def test_a_search_result_wrapping_a_malformed_url_is_refused_and_the_others_followed(
    tmp_path: Path, database_url: str
) -> None:
    # The publisher URL read off an engine's wrapper link was not checked: one urllib cannot
    # parse raised in unwrap_engine_link or canonicalize_url, ending the spider's generator, and
    # the whole search source stored nothing while its run said "ok", found 0.
    with StaticSite({}) as engine, StaticSite({}) as jinan:
        good = jinan.url("news/b.html")
        wrapped = [("坏链接 - x", "http://[::1/news/x.html"), ("坏端口 - y", "http://example.cn:99999/news/y.html"),
                   ("济南之问 - jinan", good)]
        engine.routes["rss/search"] = rss("search results", [
            (title, engine.url("news/apiclick.aspx") + "?tid=1&url=" + quote(url, safe="")) for title, url in wrapped])
        jinan.routes["news/b.html"] = article("济南之问：我们离六小龙还有多远", STORY_B)
        config = discovery_config(tmp_path, database_url, [
            {"name": "news-search", "kind": "search", "url": engine.url("rss/search") + "?q={query}&hl=zh-CN",
             "every": "1h", "allow_private": True}], outlinks=False)
        result = run_cli("crawl", config=config)
        assert result.returncode == 0, result.stderr
    assert list(_stored(database_url)) == [good]
    engine_db = create_engine(database_url)
    try:
        [run] = Repository(engine_db).runs_for("news-search", limit=1)
    finally:
        engine_db.dispose()
    assert run.refused == 2 and run.error is not None and "not a valid URL" in run.error, run
