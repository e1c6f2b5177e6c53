"""Sitemaps, including Google News sitemaps (and robots.txt naming them): bytes plus a base URL in, entries and child sitemaps out (pure)."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlsplit

from lxml import etree

from crawler.extract.dates import has_time_of_day, parse_datetime
from crawler.parse.links import resolve_link
from storage.errors import ExtractionError
from storage.types import FeedEntry

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The sitemaps a robots.txt names (`Sitemap:` lines, any case, a trailing comment dropped), in order.

    A sitemap source may point at a site's robots.txt, as Scrapy's SitemapSpider allows: the
    named sitemaps (an index, a news sitemap) are read as a sitemap index's children.
    """
    found: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped[:8].lower() != b"sitemap:":
            continue
        url = stripped[8:].split(b"#", 1)[0].strip().decode("utf-8", errors="replace")
        if url and resolve_link(base_url, url) not in found:
            found.append(resolve_link(base_url, url))
    if not found:
        raise ExtractionError(f"{base_url}: robots.txt names no sitemap (no 'Sitemap:' line)")
    return found


def parse_sitemap(body: bytes, base_url: str) -> tuple[list[FeedEntry], list[str]]:
    """Parse a sitemap (including Google News sitemaps).

    Returns (article entries, child sitemap URLs); a sitemap index yields only the latter.
    """
    if urlsplit(base_url).path.lower() == "/robots.txt":
        return [], robots_sitemaps(body, base_url)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractionError(f"{base_url}: not a readable sitemap ({exc})") from exc
    if root is None:
        raise ExtractionError(f"{base_url}: not a readable sitemap (empty document)")
    if not isinstance(root.tag, str):  # a comment or processing instruction, not an element
        raise ExtractionError(f"{base_url}: not a readable sitemap (no root element)")
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        children = [resolve_link(base_url, loc.strip()) for loc in root.xpath("//*[local-name()='sitemap']/*[local-name()='loc']/text()")]
        return [], children
    if tag != "urlset":
        raise ExtractionError(f"{base_url}: not a sitemap (root element <{tag}>)")
    entries = []
    for url in root.xpath("//*[local-name()='url']"):
        loc = url.xpath("string(*[local-name()='loc'])").strip()
        if not loc:
            continue
        title = url.xpath("string(*[local-name()='news']/*[local-name()='title'])").strip() or None
        date = (
            url.xpath("string(*[local-name()='news']/*[local-name()='publication_date'])").strip()
            or url.xpath("string(*[local-name()='lastmod'])").strip()
        )
        # A date without a time zone is ambiguous; it is read as UTC rather than guessed.
        published = parse_datetime(date, UTC) if date else None
        date_source = None
        if published is not None:
            date_source = "sitemap" if has_time_of_day(date) else "sitemap-day"
        entries.append(
            FeedEntry(url=resolve_link(base_url, loc), title=title, published=published, date_source=date_source)
        )
    return entries, []
