"""News-search sources: queries built from a topic, engine links turned into publisher URLs, engine cadence."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from crawler.config import ENGINE_EDITIONS, SourceConfig
from crawler.discovery.search import (
    build_query,
    decode_google_news_id,
    engine_due,
    search_urls,
    unwrap_engine_link,
)
from crawler.topics.config import TopicConfig

TOPIC = TopicConfig.model_validate({
    "name": "dragons",
    "groups": [
        {"name": "cohort", "weight": 0.3, "terms": ["六小龙|six little dragons"]},
        {"name": "city", "weight": 0.15, "terms": ["南京|Nanjing", "杭州|Hangzhou"]},
        {"name": "noise", "mode": "none", "weight": 0.9, "terms": ["股价"]},
    ],
})


def _search(**extra: object) -> SourceConfig:
    return SourceConfig.model_validate({"name": "s", "kind": "search", "engine": "google-news", "every": "2h", **extra})


def test_query_is_the_heaviest_group_in_the_editions_script() -> None:
    assert build_query(TOPIC, _search(edition="zh-CN")) == "六小龙"
    assert build_query(TOPIC, _search(edition="en")) == '"six little dragons"'
    # Taiwan and Hong Kong readers write 六小龍: both spellings are asked for.
    assert build_query(TOPIC, _search(edition="zh-TW")) == "六小龍 OR 六小龙"
    assert build_query(TOPIC, _search(edition="zh-HK")) == "六小龍 OR 六小龙"


def test_query_groups_are_anded_and_verbatim_query_wins() -> None:
    assert build_query(TOPIC, _search(query_groups=["cohort", "city"])) == "六小龙 (南京 OR 杭州)"
    assert build_query(TOPIC, _search(query="南京 六小龙 反思")) == "南京 六小龙 反思"
    keywords = TopicConfig(name="k", keywords=["六小龙|六小龍", "DeepSeek"])
    assert build_query(keywords, _search()) == "六小龙 OR 六小龍"


def test_the_search_url_is_the_engine_template_with_the_query_encoded() -> None:
    source = _search(edition="zh-HK")
    [url] = search_urls(source, [TOPIC])
    assert url.startswith("https://news.google.com/rss/search?q=")
    query = parse_qs(urlsplit(url).query)
    assert query["q"] == ["六小龍 OR 六小龙"] and query["ceid"] == ["HK:zh-Hant"]
    assert quote("六小龍 OR 六小龙", safe="") in url
    bing = SourceConfig.model_validate({"name": "b", "kind": "search", "engine": "bing-news", "edition": "en"})
    assert bing.url == ENGINE_EDITIONS["bing-news"]["en"]


def test_a_search_source_needs_a_query_slot_and_a_polite_cadence() -> None:
    with pytest.raises(ValueError, match=r"\{query\}"):
        SourceConfig.model_validate({"name": "s", "kind": "search", "url": "https://news.example/rss"})
    with pytest.raises(ValueError, match="15m"):
        _search(every="5m")
    with pytest.raises(ValueError, match="route"):
        SourceConfig.model_validate({"name": "r", "kind": "rsshub", "url": "http://rsshub:1200/x"})


def _old_google_id(url: str) -> str:
    payload = b"\x08\x13\x22" + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_wrapped_and_old_style_google_links_are_read_without_a_request() -> None:
    bing = "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=1&url=https%3a%2f%2fwww.jnnews.tv%2fp%2f1.html&c=1"
    assert unwrap_engine_link(bing) == "https://www.jnnews.tv/p/1.html"
    google = "https://www.google.com/url?rct=j&sa=t&url=https://news.tzrb.com/a/2.html&ct=ga"
    assert unwrap_engine_link(google) == "https://news.tzrb.com/a/2.html"
    article = f"https://news.google.com/rss/articles/{_old_google_id('https://www.hk01.com/a/3')}?oc=5"
    assert unwrap_engine_link(article) == "https://www.hk01.com/a/3"
    # A publisher's own link is already resolved.
    assert unwrap_engine_link("https://www.thepaper.cn/newsDetail_forward_1") == "https://www.thepaper.cn/newsDetail_forward_1"


def test_opaque_google_ids_and_unknown_engine_paths_are_left_to_the_redirect() -> None:
    opaque = base64.urlsafe_b64encode(b"\x08\x13\x22\x10AU_yqLxxxxxxxxxx\xd2\x01\x00").decode().rstrip("=")
    assert decode_google_news_id(opaque) is None
    assert unwrap_engine_link(f"https://news.google.com/rss/articles/{opaque}") is None
    assert decode_google_news_id("not base64 at all!") is None
    # A fixture engine on loopback is an engine host too when the source names it.
    assert unwrap_engine_link("http://127.0.0.1:9/r/1", ["127.0.0.1:9"]) is None
    assert unwrap_engine_link("http://127.0.0.1:8/a", ["127.0.0.1:9"]) == "http://127.0.0.1:8/a"


def test_an_engine_is_asked_again_only_when_its_cadence_allows() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    every = timedelta(hours=2)
    assert engine_due(None, now, every)
    assert not engine_due(now - timedelta(minutes=30), now, every)
    assert engine_due(now - timedelta(hours=2), now, every)
    assert engine_due(now - timedelta(hours=1, minutes=59, seconds=30), now, every)  # a tick early is not a second ask


def test_google_news_batchexecute_is_built_on_the_links_host_and_read_back() -> None:
    from urllib.parse import unquote

    from crawler.discovery import gnews
    from tests.crawler.discovery.support import gnews_article_page, gnews_batchexecute

    link = "https://news.google.com/rss/articles/CBMiOpaque?oc=5&hl=zh-CN"
    assert gnews.article_id(link) == "CBMiOpaque"
    params = gnews.decoding_params(gnews_article_page("SIG", "1739145600").body.decode())
    assert params == ("SIG", "1739145600")
    url, body = gnews.batchexecute_request(link, "CBMiOpaque", *params)
    assert url == "https://news.google.com/_/DotsSplashUi/data/batchexecute"
    assert 'garturlreq' in unquote(body) and "CBMiOpaque" in unquote(body) and "1739145600," in unquote(body)
    answer = gnews_batchexecute("https://www.hk01.com/a/1").body.decode()
    assert gnews.parse_batchexecute(answer) == "https://www.hk01.com/a/1"
    # Anything else is "no URL", never an exception.
    assert gnews.decoding_params("<html>no params</html>") is None
    for junk in ("", ")]}'\n\nnot json", '[["wrb.fr","Fbv4je","[\\"garturlres\\",\\"javascript:x\\"]"]]', "[1, 2]"):
        assert gnews.parse_batchexecute(junk) is None


def test_old_results_are_not_resolved_again_at_the_engines_expense() -> None:
    from crawler.discovery.search import worth_resolving

    asked = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert worth_resolving(asked - timedelta(hours=3), asked)  # may have been indexed after the last ask
    assert not worth_resolving(asked - timedelta(days=2), asked)  # was in the last answer, resolved then
    assert worth_resolving(None, asked) and worth_resolving(asked - timedelta(days=30), None)
