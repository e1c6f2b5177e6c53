"""Meta-refresh redirects: followed as Scrapy follows them, without decoding pages that declare none."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.fetch.middleware import MetaRefreshMiddleware
from scheduler.demo.site import Route
from tests.support.crawl import crawl, crawl_config, stored
from tests.support.faults import FaultServer, article_html, rss

REFRESHES = [
    b'<html><head><meta http-equiv="refresh" content="0; url=/real.html"></head><body></body></html>',
    b"<HTML><HEAD><META HTTP-EQUIV=REFRESH CONTENT='0;URL=/real.html'></HEAD></HTML>",
    '<html><head><meta charset="gbk"><title>南京</title><meta http-equiv="Refresh" content="0;url=/real.html">'
    "</head></html>".encode("gbk"),
    # UTF-16: no ASCII bytes spell "refresh", so the bytes cannot rule it out.
    '<html><head><meta http-equiv="refresh" content="0;url=/real.html"></head></html>'.encode("utf-16"),
]


def _middleware() -> MetaRefreshMiddleware:
    return MetaRefreshMiddleware.from_crawler(get_crawler())


@pytest.mark.parametrize("body", REFRESHES, ids=["plain", "upper-case", "gbk", "utf-16"])
def test_a_meta_refresh_is_followed(body: bytes) -> None:
    request = Request("http://127.0.0.1/a.html")
    response = HtmlResponse(request.url, body=body, request=request)
    redirected = _middleware().process_response(request, response)
    assert isinstance(redirected, Request) and redirected.url == "http://127.0.0.1/real.html"


def test_a_page_that_declares_no_refresh_is_passed_on_undecoded() -> None:
    # Scrapy's middleware decoded every page (`response.text`) on the crawl's one thread to
    # look for a refresh in its first 4,096 characters; the worker decodes it again anyway.
    body = article_html("南京追问六小龙", charset="gbk")
    request = Request("http://127.0.0.1/a.html")
    response = HtmlResponse(request.url, body=body, request=request)
    assert _middleware().process_response(request, response) is response
    assert response._cached_ubody is None


def test_a_refresh_in_the_body_text_alone_is_not_a_redirect() -> None:
    body = b"<html><head><title>t</title></head><body><p>Press F5 to refresh the page.</p></body></html>"
    request = Request("http://127.0.0.1/a.html")
    response = HtmlResponse(request.url, body=body, request=request)
    assert _middleware().process_response(request, response) is response


def test_a_crawl_stores_the_page_a_meta_refresh_leads_to(tmp_path: Path, database_url: str) -> None:
    routes = {
        "feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type="application/rss+xml",
                          templated=True),
        "a.html": Route(body=REFRESHES[1], content_type="text/html"),
        "real.html": Route(body=article_html("南京追问六小龙：创新生态何在"), content_type="text/html"),
    }
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
        assert site.hits("real.html") == 1
    assert [row.article.title for row in stored(database_url).values()] == ["南京追问六小龙：创新生态何在"]
