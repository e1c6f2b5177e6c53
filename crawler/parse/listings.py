"""Listing pages: pick the article links out of a page with a CSS selector or an XPath (pure)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.etree
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
        element = node.root if node.root is not None and not isinstance(node.root, str) else None
        href = element.get("href") if element is not None else node.get()
        if not href or not isinstance(href, str):
            continue
        if element is not None and is_pager_link(element, resolve_link(base_url, href.strip()), page_url):
            continue
        absolute = resolve_link(base_url, href.strip())
        if absolute not in links and not same_page(absolute, page_url):
            links.append(absolute)
    return links


# What a pager's links say, once stripped of arrows and brackets: "下一页", "Next »", "[尾頁]".
_PAGER_WORDS = frozenset({
    "下一页", "上一页", "下页", "上页", "首页", "尾页", "末页", "下一頁", "上一頁", "下頁", "上頁", "首頁", "尾頁", "末頁",
    "next", "prev", "previous", "first", "last", "next page", "previous page", "older", "newer",
    "older posts", "newer posts", "older entries", "newer entries",
})
_ARROWS = " \t\n[](){}<>«»‹›←→…|/·-_.:（）【】〔〕「」"
_PAGE_QUERY = re.compile(r"(?:^|&)(?:page|p|pn|pg|paged|pageno|pageindex|page_no|start|offset)=\d", re.IGNORECASE)


def is_pager_link(element: lxml.etree._Element, url: str, listing_url: str) -> bool:
    """A pager's link (`rel="next"`, "下一页", "»", or "2" to `list_2.html`): a broad selector catches
    them with the articles, and each was fetched as one, the listing's next page stored under its title.

    A link without text (an image) is not judged. A number is a page number only where the link's URL
    says so (`?page=2`, `/page/2`, the listing's own name with `_2`): headlines can be numbers too.
    """
    rel = (element.get("rel") or "").lower().split()
    if "next" in rel or "prev" in rel or "previous" in rel:
        return True
    text = " ".join("".join(element.itertext()).split())
    if not text:
        return False
    core = " ".join(text.strip(_ARROWS).lower().split())
    if core == "" or core in _PAGER_WORDS:
        return True
    return core.isdigit() and len(core) <= 3 and _numbers_a_page(url, listing_url)


def _numbers_a_page(url: str, listing_url: str) -> bool:
    parts = urlsplit(url)
    if _PAGE_QUERY.search(parts.query) or re.search(r"/page/\d+/?$", parts.path):
        return True
    listing = urlsplit(listing_url).path
    stem = listing.rsplit("/", 1)[-1].split(".")[0] or "index"
    folder = listing.rsplit("/", 1)[0]
    return re.fullmatch(rf"{re.escape(folder)}/{re.escape(stem)}[_-]\d+(?:\.\w+)?", parts.path) is not None
