"""Compressed pages: decompressed once, their character set read from the decompressed page."""

from __future__ import annotations

import gzip
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.fetch.middleware import DecompressionMiddleware
from scheduler.demo.site import Route
from tests.support.crawl import crawl, crawl_config, stored
from tests.support.faults import FaultServer, article_html, rss

RSS = "application/rss+xml; charset=utf-8"


def test_a_gzip_page_is_decompressed_without_guessing_the_compressed_bytes_charset() -> None:
    page = article_html("南京追问六小龙", charset="gbk")
    compressed = HtmlResponse("http://127.0.0.1/a.html", body=gzip.compress(page),
                              headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
    middleware = DecompressionMiddleware.from_crawler(get_crawler())
    decompressed = middleware.process_response(Request(compressed.url), compressed)
    assert isinstance(decompressed, HtmlResponse)
    assert decompressed.body == page
    assert b"Content-Encoding" not in decompressed.headers
    assert "南京追问六小龙" in decompressed.text  # its charset read from the page's own <meta>
    # Scrapy's own middleware ran charset detection over the gzip bytes to copy an encoding it then dropped.
    assert compressed._cached_benc is None


def test_a_gzip_gbk_page_without_a_charset_header_is_stored_readable(tmp_path: Path, database_url: str) -> None:
    page = article_html("南京追问六小龙：创新生态何在", charset="gbk")
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=gzip.compress(page), content_type="text/html",
                              headers={"Content-Encoding": "gzip"})}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    article = stored(database_url)[site.url("a.html")].article
    assert (article.title, article.title_source) == ("南京追问六小龙：创新生态何在", "page")
    assert "杭州六小龙引发南京反思" in article.text
