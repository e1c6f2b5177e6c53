"""Listing pages: pick the article links out of a page with a CSS selector or an XPath (pure)."""

from __future__ import annotations

from urllib.parse import urljoin

from parsel import Selector


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
