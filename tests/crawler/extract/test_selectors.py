"""Per-source selectors: used first when they match, reported when they stop matching.

The fixture zh_selectors.html is a page whose headline, date and author sit in
markup no rule would guess; renaming its classes simulates the layout change
that makes a scraper break silently.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.extract.article import extract_article, extract_with_overrides
from crawler.extract.page import parse_html
from crawler.extract.selectors import apply_selectors, select
from crawler.spiders.context import CrawlContext, SourceTally
from crawler.spiders.source import SourceSpider
from scheduler.config import SelectorsConfig, SourceConfig
from scheduler.demo.site import Route, StaticSite
from storage.clock import utc_now
from storage.types import FeedEntry
from tests.conftest import TEST_DATA, run_cli, write_config

PAGES = TEST_DATA / "pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://gov.example.cn/xwzx/2025/0601.html"
SELECTORS = SelectorsConfig(body="div.wz p.zw", title="h2.bt", date="span.sj", author='//span[@class="zz"]')
FIRST = "今年以来，青山县投入资金一点二亿元"


def page(*, layout_changed: bool = False) -> bytes:
    html = (PAGES / "zh_selectors.html").read_text(encoding="utf-8")
    if layout_changed:
        html = html.replace('class="wz"', 'class="article"').replace('class="bt"', 'class="headline"')
    return html.encode("utf-8")


def test_matching_selectors_give_every_field() -> None:
    extraction = extract_with_overrides(page(), URL, selectors=SELECTORS)
    article = extraction.article
    assert extraction.missed_selectors == ()
    assert article.title == "青山县完成农村公路提质改造"
    assert article.published == datetime(2025, 6, 1, 14, 20, tzinfo=SHANGHAI)
    assert article.author == "孙明"
    assert article.text.startswith(FIRST)
    assert "编者按" not in article.text
    assert len(article.text.split("\n")) == 3


def test_without_selectors_the_automatic_rules_miss_what_the_source_knows() -> None:
    # What the selectors are for: the generic <title> and the editor's note.
    article = extract_article(page(), URL)
    assert article.title == "新闻详情"
    assert article.text.startswith("编者按")


def test_selectors_that_stop_matching_are_reported_and_fields_fall_back() -> None:
    extraction = extract_with_overrides(page(layout_changed=True), URL, selectors=SELECTORS)
    assert extraction.missed_selectors == ("body=div.wz p.zw", "title=h2.bt")
    article = extraction.article
    assert FIRST in article.text  # automatic extraction took over
    assert article.title == "新闻详情"
    # The selectors that still match are still used.
    assert article.author == "孙明"
    assert article.published == datetime(2025, 6, 1, 14, 20, tzinfo=SHANGHAI)


def test_extract_article_accepts_selectors_too() -> None:
    assert extract_article(page(), URL, selectors=SELECTORS).title == "青山县完成农村公路提质改造"


def test_unset_selectors_are_neither_used_nor_reported() -> None:
    extraction = extract_with_overrides(page(), URL, selectors=SelectorsConfig(title="h2.bt"))
    assert extraction.missed_selectors == ()
    assert extraction.article.title == "青山县完成农村公路提质改造"
    assert extraction.article.text.startswith("编者按")


@pytest.mark.parametrize(
    ("selectors", "field", "value"),
    [
        (
            SelectorsConfig(date='//meta[@name="pubdate"]/@content'),
            "published",
            datetime(2025, 6, 1, 14, 20, tzinfo=SHANGHAI),
        ),
        (
            SelectorsConfig(date='meta[name="pubdate"]'),
            "published",
            datetime(2025, 6, 1, 14, 20, tzinfo=SHANGHAI),
        ),
        (SelectorsConfig(title="(//h2)[1]"), "title", "青山县完成农村公路提质改造"),
        (SelectorsConfig(title="(//h2)[1]/text()"), "title", "青山县完成农村公路提质改造"),
        (SelectorsConfig(body="//div[@class='wz']/p[@class='zw']"), "body", None),
    ],
)
def test_xpath_and_attribute_selectors(selectors: SelectorsConfig, field: str, value: object) -> None:
    tree = parse_html(page().decode("utf-8"))
    assert tree is not None
    overrides = apply_selectors(tree, selectors, SHANGHAI)
    assert overrides.missed == ()
    if field == "body":
        assert (overrides.body or "").startswith(FIRST)
    else:
        assert getattr(overrides, field) == value


@pytest.mark.parametrize(
    "selectors",
    [
        # Does not compile: the loader refuses it, so build it past validation to test the fallback.
        SelectorsConfig.model_construct(body="div[unclosed", title=None, date=None, author=None),
        SelectorsConfig(body="//div[@class='nothing-here']"),  # matches nothing
        SelectorsConfig(body="div.foot ~ nonexistent"),
        SelectorsConfig(date="div.top"),  # matches, but holds no date
        SelectorsConfig(author="div.box"),  # matches a whole section, not a name
    ],
)
def test_unusable_selectors_count_as_misses(selectors: SelectorsConfig) -> None:
    extraction = extract_with_overrides(page(), URL, selectors=selectors)
    assert len(extraction.missed_selectors) == 1
    assert extraction.article.title == "新闻详情"


def test_select_reads_css_and_xpath() -> None:
    tree = parse_html(page().decode("utf-8"))
    assert tree is not None
    assert [e.get("class") for e in select(tree, "span.sj")] == ["sj"]
    assert [e.get("class") for e in select(tree, '//span[@class="zz"]')] == ["zz"]
    assert select(tree, "//meta[@name='pubdate']/@content") == ["2025-06-01 14:20:00"]


# --- the spider reports misses where `mediawatch crawl` shows them -----------------------------


def spider_for(selectors: SelectorsConfig) -> SourceSpider:
    source = SourceConfig(
        name="qingshan", kind="feed", url="https://gov.example.cn/rss.xml", selectors=selectors
    )
    # parse_article reads only these parts of the crawl context (no storage, no topics).
    context = SimpleNamespace(source=source, local_tz=SHANGHAI, tally=SourceTally(), pool=None, clock=utc_now)
    return SourceSpider(cast(CrawlContext, context))


def parse(spider: SourceSpider, body: bytes, url: str = URL) -> list[Any]:
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html; charset=utf-8"}, request=Request(url)
    )
    async def collect() -> list[Any]:  # parse_article is an async generator (it may await a worker process)
        return [item async for item in spider.parse_article(response, entry=FeedEntry(url=url), canonical=url)]

    return asyncio.run(collect())


def test_spider_uses_the_sources_selectors() -> None:
    spider = spider_for(SELECTORS)
    [item] = parse(spider, page())
    assert item.article.title == "青山县完成农村公路提质改造"
    assert spider.tally.errors == []


def test_spider_warns_and_notes_a_selector_that_stopped_matching(caplog: pytest.LogCaptureFixture) -> None:
    spider = spider_for(SELECTORS)
    with caplog.at_level(logging.WARNING, logger="crawler.spiders.source"):
        [item] = parse(spider, page(layout_changed=True))
        parse(spider, page(layout_changed=True), URL.replace("0601", "0602"))
    assert FIRST in item.article.text  # the article is still stored, extracted automatically
    assert spider.tally.failed == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("source=qingshan" in w and URL in w and "body=div.wz p.zw" in w for w in warnings)
    assert len(warnings) == 4  # two selectors on two pages
    # One note per selector per run, naming the first page it missed on.
    assert spider.tally.errors == [
        f"selector body=div.wz p.zw matched nothing (layout change?), first on {URL}",
        f"selector title=h2.bt matched nothing (layout change?), first on {URL}",
    ]


@pytest.mark.slow
def test_crawl_output_shows_a_selector_that_stopped_matching(tmp_path: Path) -> None:
    feed = (
        "<rss version='2.0'><channel><title>青山县</title><item><title>青山县完成农村公路提质改造</title>"
        "<link>{base}/a.html</link><pubDate>Sun, 01 Jun 2025 14:20:00 +0800</pubDate></item></channel></rss>"
    )
    routes = {
        "feed": Route(body=feed.encode(), content_type="application/rss+xml", templated=True),
        "a.html": Route(body=page(layout_changed=True)),
    }
    with StaticSite(routes) as site:
        source = {
            "name": "qingshan",
            "kind": "feed",
            "url": site.url("feed"),
            "allow_private": True,
            "selectors": {"body": "div.wz p.zw"},
        }
        config = write_config(
            tmp_path / "mediawatch.toml",
            {
                "database": {"url": f"sqlite:///{tmp_path / 'mw.db'}"},
                "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 20},
                "topics": [{"name": "roads", "keywords": ["公路"]}],
                "sources": [source],
            },
        )
        result = run_cli("crawl", config=config)
    assert result.returncode == 0, result.stderr
    assert "selector body=div.wz p.zw matched" in result.stdout
