"""parse_sitemap on its own: url sets, Google News sitemaps and sitemap indexes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.parse.sitemaps import parse_sitemap
from scheduler.demo import DEMO_SITE
from storage.errors import ExtractionError

BASE = "https://news.example/sitemap.xml"


def test_google_news_sitemap_gives_titles_and_exact_publication_times() -> None:
    body = (DEMO_SITE / "haixi/sitemap.xml").read_bytes().replace(b"{base}", b"https://demo.example")

    entries, children = parse_sitemap(body, "https://demo.example/haixi/sitemap.xml")

    assert children == []
    first = entries[0]
    assert first.url == "https://demo.example/haixi/2025/02/11/hefei-question.html"
    assert first.title == "合肥也在追问：我们离“六小龙”还有多远"
    assert first.published == datetime(2025, 2, 11, 0, 0, tzinfo=UTC)


def test_a_plain_urlset_uses_lastmod_and_skips_urls_without_a_location() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc> https://news.example/a.html </loc><lastmod>2025-02-10T09:00:00+08:00</lastmod></url>
      <url><lastmod>2025-02-10</lastmod></url>
      <url><loc>/relative/b.html</loc></url>
    </urlset>"""

    entries, _ = parse_sitemap(body, BASE)

    assert [e.url for e in entries] == ["https://news.example/a.html", "https://news.example/relative/b.html"]
    assert entries[0].published == datetime(2025, 2, 10, 1, 0, tzinfo=UTC)
    assert entries[1].published is None


def test_a_sitemap_index_yields_only_its_children() -> None:
    body = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://news.example/sitemap-news.xml</loc></sitemap>
      <sitemap><loc>/sitemap-2025-02.xml</loc></sitemap></sitemapindex>"""

    assert parse_sitemap(body, BASE) == ([], ["https://news.example/sitemap-news.xml", "https://news.example/sitemap-2025-02.xml"])


@pytest.mark.parametrize("body", [b"<html><body>hello</body></html>", b"", b"<rss version='2.0'/>"])
def test_documents_that_are_not_sitemaps_are_refused(body: bytes) -> None:
    with pytest.raises(ExtractionError, match="sitemap"):
        parse_sitemap(body, BASE)


def test_a_robots_txt_yields_the_sitemaps_it_names_as_scrapys_sitemap_spider_reads_it() -> None:
    # A sitemap source given robots.txt (Scrapy's SitemapSpider takes one) failed: "not a readable sitemap".
    robots = (b"User-agent: *\nDisallow: /search/\nSitemap: https://news.example/sitemap_index.xml\n"
              b"sitemap:/news-sitemap.xml  \n# Sitemap: https://news.example/commented.xml\n")
    assert parse_sitemap(robots, "https://news.example/robots.txt") == (
        [], ["https://news.example/sitemap_index.xml", "https://news.example/news-sitemap.xml"])
    with pytest.raises(ExtractionError, match=r"robots\.txt names no sitemap"):
        parse_sitemap(b"User-agent: *\nDisallow:\n", "https://news.example/robots.txt")
