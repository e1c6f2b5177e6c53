"""Listing pages: pick the article links out of a page with a CSS selector or an XPath (pure)."""

from __future__ import annotations

from cssselect import ExpressionError
from parsel import Selector

from crawler.fetch.urls import document_base
from crawler.parse.links import resolve_link, same_page
from storage.errors import ExtractionError


class InvalidSelectorError(ExtractionError):
    """A source's link selector is not valid CSS or XPath."""


def pick_links(html: str, base_url: str, *, css: str | None = None, xpath: str | None = None) -> list[str]:
    """Absolute links matched by a CSS selector or an XPath, in page order, once each.

    The selector may point at the `<a>` elements themselves or at their `href`
    attributes (`a::attr(href)`, `//a/@href`). Links in other schemes (`javascript:`,
    `mailto:`) are returned as they are: the spider refuses and counts them, as it does
    a feed's, rather than their vanishing here. Relative links are read against the
    page's `<base href>` when it has an http(s) one, as a browser reads them. Links back
    to the listing page itself ("#top", "#", "//") are navigation, not articles: left out.
    """
    selector = Selector(text=html or "<html></html>", base_url=base_url)
    if not (css or xpath):
        raise ValueError("pick_links needs css or xpath")
    page_url = base_url
    base_url = document_base(selector.root, base_url)
    try:
        nodes = selector.css(css) if css else selector.xpath(xpath or "")
    except (SyntaxError, ValueError, ExpressionError) as exc:  # cssselect's and lxml's ways of saying "invalid"
        kind, text = ("link_selector", css) if css else ("link_xpath", xpath)
        raise InvalidSelectorError(f"invalid {kind} {text!r}: {exc}") from exc
    links: list[str] = []
    for node in nodes:
        href = node.attrib.get("href") if node.root is not None and not isinstance(node.root, str) else node.get()
        if not href or not isinstance(href, str):
            continue
        absolute = resolve_link(base_url, href.strip())
        if absolute not in links and not same_page(absolute, page_url):
            links.append(absolute)
    return links
