"""Listing pages and sitemaps: pick the article links out of a page (pure functions)."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector

from crawler.dates import parse_datetime
from storage.errors import ExtractionError
from storage.types import FeedEntry


def pick_links(html: str, base_url: str, *, css: str | None = None, xpath: str | None = None) -> list[str]:
    """Absolute http(s) links matched by a CSS selector or an XPath, in page order, once each.

    The selector may point at the `<a>` elements themselves or at their `href`
    attributes (`a::attr(href)`, `//a/@href`).
    """
    selector = Selector(text=html, base_url=base_url)
    if css:
        nodes = selector.css(css)
    elif xpath:
        nodes = selector.xpath(xpath)
    else:
        raise ValueError("pick_links needs css or xpath")
    links: list[str] = []
    for node in nodes:
        href = node.attrib.get("href") if node.root is not None and not isinstance(node.root, str) else node.get()
        if not href:
            continue
        absolute = urljoin(base_url, href.strip())
        if absolute.startswith(("http://", "https://")) and absolute not in links:
            links.append(absolute)
    return links


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def parse_sitemap(body: bytes, base_url: str) -> tuple[list[FeedEntry], list[str]]:
    """Parse a sitemap (including Google News sitemaps).

    Returns (article entries, child sitemap URLs); a sitemap index yields only the latter.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body.lstrip(), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ExtractionError(f"{base_url}: not a readable sitemap ({exc})") from exc
    if root is None:
        raise ExtractionError(f"{base_url}: not a readable sitemap (empty document)")
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        children = [urljoin(base_url, loc.strip()) for loc in root.xpath("//*[local-name()='sitemap']/*[local-name()='loc']/text()")]
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
        entries.append(FeedEntry(url=urljoin(base_url, loc), title=title, published=published))
    return entries, []
