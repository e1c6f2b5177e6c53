"""The Scrapy settings every crawl runs with, checked through Scrapy's own behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils import misc
from scrapy.utils.test import get_crawler

from crawler.config import CrawlerConfig
from crawler.fetch.settings import scrapy_settings
from crawler.spiders.source import SourceSpider
from tests.support.crawl import crawl_config


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


def test_a_crawl_imports_neither_of_the_scrapy_consoles_it_turns_off(tmp_path: Path) -> None:
    # Scrapy 2.19's remote-control extension imports aiohttp's client and server (about 0.1 s
    # of every crawl process's start-up) even when REMOTE_CONTROL_ENABLED turns it off.
    config = crawl_config(tmp_path, f"sqlite:///{tmp_path}/m.db",
                          [{"name": "dead", "kind": "feed", "url": "http://127.0.0.1:9/f"}])
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded:', sorted(m for m in ('aiohttp', 'scrapy.extensions.remote_control',"
        " 'scrapy.extensions.telnet') if m in sys.modules)))\n"
        f"sys.argv = ['mediawatch', '--config', {str(config)!r}, 'crawl']\n"
        "from scheduler.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "dead" in done.stdout, done.stderr  # the crawl ran
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"
