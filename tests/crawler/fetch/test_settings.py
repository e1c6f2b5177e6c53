"""The Scrapy settings every crawl runs with, checked through Scrapy's own behaviour."""

from __future__ import annotations

import pytest
from scrapy.utils import misc
from scrapy.utils.test import get_crawler

from crawler.config import CrawlerConfig
from crawler.fetch.settings import scrapy_settings
from crawler.spiders.source import SourceSpider


def test_a_feed_response_does_not_make_scrapy_read_the_callbacks_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scrapy checks each generator callback for a `return value` by reading its source and
    # parsing it (`ast`), for every response: its cache is keyed on the bound method, a new
    # object each time. That was about 1 ms a feed on the reactor, 0.3 s of a 300-feed poll.
    crawler = get_crawler(SourceSpider, settings_dict=scrapy_settings(CrawlerConfig()))
    spider = SourceSpider.__new__(SourceSpider)
    spider.settings = crawler.settings

    def parsed(_: object) -> bool:
        raise AssertionError("Scrapy parsed a callback's source")

    monkeypatch.setattr(misc, "is_generator_with_return_value", parsed)
    misc.warn_on_generator_with_return_value(spider, spider.parse_source)
