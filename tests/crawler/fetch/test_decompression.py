"""Compressed pages: decompressed once, their character set read from the decompressed page."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.fetch.middleware import DecompressionMiddleware
from scheduler.demo.site import Route
from storage.models import Article
from tests.conftest import run_cli
from tests.support.crawl import crawl, crawl_config, last_run, stored
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
    article = _crawled_page(tmp_path, database_url, Route(body=gzip.compress(page), content_type="text/html",
                                                          headers={"Content-Encoding": "gzip"}))
    assert (article.title, article.title_source) == ("南京追问六小龙：创新生态何在", "page")
    assert "杭州六小龙引发南京反思" in article.text


def _crawled_page(tmp_path: Path, database_url: str, page: Route) -> Article:
    """The article stored from `page`, served as a.html and listed in a feed, after one crawl."""
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": page}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    return stored(database_url)[site.url("a.html")].article


# Gzip bytes the server does not declare (no Content-Encoding): the standard `sitemap.xml.gz`,
# as `python -m http.server` serves it, and misconfigured servers that gzip a page twice over.
SITEMAP = (b"<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
           b"<url><loc>{base}/a.html</loc></url></urlset>")
INDEX = (b"<?xml version='1.0' encoding='utf-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
         b"<sitemap><loc>{base}/sitemap.xml.gz</loc></sitemap></sitemapindex>")


def _templated_gzip(body: bytes, base: str) -> bytes:
    return gzip.compress(body.replace(b"{base}", base.encode()))


@pytest.mark.parametrize("content_type", ["application/gzip", "application/x-gzip", "application/octet-stream"])
def test_a_gzipped_sitemap_without_content_encoding_is_read(
    tmp_path: Path, database_url: str, content_type: str
) -> None:
    with FaultServer({"a.html": Route(body=article_html("南京追问六小龙"))}) as site:
        site.routes["sitemap.xml.gz"] = Route(body=_templated_gzip(SITEMAP, site.base_url), content_type=content_type)
        config = crawl_config(tmp_path, database_url,
                              [{"name": "s", "kind": "sitemap", "url": site.url("sitemap.xml.gz")}])
        assert crawl(config).returncode == 0
    run = last_run(database_url, "s")
    assert (run.status, run.found, run.new) == ("ok", 1, 1), run
    assert stored(database_url)[site.url("a.html")].article.title == "南京追问六小龙"


def test_a_gzipped_child_sitemap_of_an_index_is_read(tmp_path: Path, database_url: str) -> None:
    routes = {"index.xml": Route(body=INDEX, content_type="application/xml", templated=True),
              "a.html": Route(body=article_html("南京追问六小龙"))}
    with FaultServer(routes) as site:
        site.routes["sitemap.xml.gz"] = Route(body=_templated_gzip(SITEMAP, site.base_url),
                                              content_type="application/gzip")
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("index.xml")}])
        assert crawl(config).returncode == 0
    run = last_run(database_url, "s")
    assert (run.status, run.found, run.new) == ("ok", 1, 1), run


def test_gzip_bytes_served_as_html_without_content_encoding_are_stored_as_the_page(
    tmp_path: Path, database_url: str
) -> None:
    article = _crawled_page(tmp_path, database_url, Route(body=gzip.compress(article_html("南京追问六小龙：创新生态何在")),
                                                          content_type="text/html; charset=utf-8"))
    assert (article.title, article.title_source) == ("南京追问六小龙：创新生态何在", "page")
    assert "杭州六小龙引发南京反思" in article.text
    assert article.encoding == "utf-8"


def test_a_gzipped_feed_without_content_encoding_is_read(tmp_path: Path, database_url: str) -> None:
    routes = {"a.html": Route(body=article_html("南京追问六小龙"))}
    with FaultServer(routes) as site:
        feed = rss([("南京追问", site.url("a.html"))])
        site.routes["feed.xml"] = Route(body=gzip.compress(feed), content_type=RSS)
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    run = last_run(database_url, "f")
    assert (run.status, run.found, run.new) == ("ok", 1, 1), run


def test_undeclared_gzip_that_does_not_decompress_is_refused_in_one_line(tmp_path: Path, database_url: str) -> None:
    broken = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4  # the magic, then no deflate stream
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=broken, content_type="text/html; charset=utf-8")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        crawl(config)
    assert site.url("a.html") not in stored(database_url)
    run = last_run(database_url, "f")
    assert (run.status, run.failed) == ("partial", 1), run
    [note] = [line for line in (run.error or "").splitlines() if "a.html" in line]
    assert "gzip" in note and "Content-Encoding" in note, note


def test_undeclared_gzip_is_bounded_by_max_page_bytes_once_inflated(tmp_path: Path, database_url: str) -> None:
    bomb = gzip.compress(b"<html>" + b"\0" * (8 * 1024 * 1024), compresslevel=9)  # about 8 KB on the wire
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True),
              "a.html": Route(body=bomb, content_type="text/html; charset=utf-8")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}],
                              max_page_bytes=1024 * 1024)
        crawl(config)
    assert site.url("a.html") not in stored(database_url)
    assert "max_page_bytes" in (last_run(database_url, "f").error or "")


def test_extract_prints_a_page_served_as_gzip_bytes_without_content_encoding() -> None:
    page = gzip.compress(article_html("南京追问六小龙：创新生态何在"))
    with FaultServer({"a.html": Route(body=page, content_type="text/html; charset=utf-8")}) as site:
        result = run_cli("extract", "--allow-private", site.url("a.html"))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["title"] == "南京追问六小龙：创新生态何在"
    assert printed["encoding"] == "utf-8"
    assert "杭州六小龙引发南京反思" in printed["text"]


def test_extract_reads_a_saved_page_that_is_gzipped(tmp_path: Path) -> None:
    # `curl --compressed` aside, a saved page is often the raw gzip bytes (`page.html.gz`, or a
    # browser cache file): extract printed mojibake for it, where a fetched page was decompressed.
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(gzip.compress(article_html("南京追问六小龙：创新生态何在")))
    result = run_cli("extract", str(saved), "--url", "https://example.org/a.html")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["title"] == "南京追问六小龙：创新生态何在"
    assert "杭州六小龙引发南京反思" in printed["text"]


def test_extract_refuses_a_saved_file_that_starts_like_gzip_but_is_not_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "page.html.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not gzip at all" * 10)
    result = run_cli("extract", str(broken))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"mediawatch: {broken}: starts like gzip but does not decompress (Unknown compression method); "
        "nothing extracted"
    ]


# Gzip bodies of every shape a server sends: what the middleware makes of each must be what
# Scrapy's own gunzip makes of it (the fast path takes only a whole, single-member stream).
def _gzip_shapes() -> dict[str, bytes]:
    page = article_html("南京追问六小龙", charset="utf-8") * 40
    whole = gzip.compress(page)
    corrupt_crc = whole[:-8] + bytes([whole[-8] ^ 0xFF]) + whole[-7:]
    return {
        "whole": whole,
        "two members": gzip.compress(page[:5000]) + gzip.compress(page[5000:]),
        "truncated": whole[: len(whole) // 2],
        "bad checksum": corrupt_crc,
        "trailing bytes": whole + b"\x00\x00garbage",
        "empty page": gzip.compress(b""),
    }


@pytest.mark.parametrize("shape", list(_gzip_shapes()))
@pytest.mark.parametrize("max_size", [0, 10_000, 10_000_000])
def test_gzip_bodies_of_every_shape_decompress_as_scrapys_gunzip_does(shape: str, max_size: int) -> None:
    from scrapy.utils._compression import _DecompressionMaxSizeExceeded
    from scrapy.utils.gz import gunzip

    body = _gzip_shapes()[shape]
    try:
        expected: bytes | type[Exception] = gunzip(body, max_size=max_size)
    except (_DecompressionMaxSizeExceeded, OSError, EOFError) as exc:
        expected = type(exc)
    try:
        got: bytes | type[Exception] = DecompressionMiddleware._decode(body, b"gzip", max_size)
    except (_DecompressionMaxSizeExceeded, OSError, EOFError) as exc:
        got = type(exc)
    assert got == expected


def test_a_page_one_byte_over_the_limit_is_refused_as_scrapy_refuses_it() -> None:
    from scrapy.utils._compression import _DecompressionMaxSizeExceeded

    body = gzip.compress(b"x" * 10_001)
    with pytest.raises(_DecompressionMaxSizeExceeded):
        DecompressionMiddleware._decode(body, b"gzip", 10_000)
    assert DecompressionMiddleware._decode(body, b"gzip", 10_001) == b"x" * 10_001


def test_a_feed_and_page_declared_gzip_but_sent_plain_are_read(tmp_path: Path, database_url: str) -> None:
    # A misconfigured server says "Content-Encoding: gzip" over plain bytes: the whole source failed
    # on "Not a gzipped file (b'<?')". Bytes without gzip's magic number cannot be gzip.
    routes = {"feed.xml": Route(body=rss([("南京追问", "{base}/a.html")]), content_type=RSS, templated=True,
                                headers={"Content-Encoding": "gzip"}),
              "a.html": Route(body=article_html("南京追问六小龙"), headers={"Content-Encoding": "gzip"})}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "f", "kind": "feed", "url": site.url("feed.xml")}])
        assert crawl(config).returncode == 0
    run = last_run(database_url, "f")
    assert (run.status, run.found, run.new) == ("ok", 1, 1), run
    assert stored(database_url)[site.url("a.html")].article.title == "南京追问六小龙"


def test_declared_gzip_that_starts_like_gzip_but_does_not_decompress_is_still_an_error() -> None:
    broken = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4
    with pytest.raises((OSError, EOFError, zlib.error)):
        DecompressionMiddleware._decode(broken, b"gzip", 0)
