"""Outlink discovery: the reports an article cites, picked from its HTML.

`cited_links` is pure (HTML and the page's URL in, candidate URLs out). A link is a
candidate when it sits in the article's prose (a paragraph, quote or list item, not
the navigation) and either names a citation cue next to it ("据……报道", "原标题",
"来源", "转载自", "according to", …) or points at another outlet. Links that cannot
be an article (the site root, images, scripts, mail) are dropped.
Whether a candidate is fetched is decided elsewhere: the allow/deny list and the
per-run budget (`crawler.discovery.context`), after the article proved on topic.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree
from scrapy.crawler import Crawler

from crawler.discovery.outlets import outlet_of
from crawler.fetch.urls import canonicalize_url, document_base
from crawler.parse.links import resolve_link, url_problem
from storage.types import FeedEntry

logger = logging.getLogger(__name__)

CUES = re.compile(
    r"据.{0,30}?报道|原标题|来源[:：]|来自|转载自|转自|引自|援引|综合.{0,10}报道|"
    r"according to|reported by|first reported|originally published|source:",
    re.IGNORECASE,
)
PROSE_TAGS = {"p", "blockquote", "li", "figcaption", "td", "span", "em", "strong", "b", "i", "font"}
NOT_ARTICLE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|pdf|zip|mp4|mp3|css|js)$", re.IGNORECASE)
MAX_CANDIDATES = 20


def _in_prose(anchor: lxml.html.HtmlElement) -> bool:
    for ancestor in anchor.iterancestors():
        tag = ancestor.tag if isinstance(ancestor.tag, str) else ""
        if tag in ("nav", "header", "footer", "aside"):
            return False
        if tag in ("p", "blockquote", "li", "figcaption", "article"):
            return True
    return False


def _context_text(anchor: lxml.html.HtmlElement) -> str:
    parent = anchor.getparent()
    while parent is not None and (parent.tag if isinstance(parent.tag, str) else "") in PROSE_TAGS - {"p", "li", "blockquote"}:
        parent = parent.getparent()
    return parent.text_content() if parent is not None else anchor.text_content()


def _looks_like_article(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    path = parts.path.strip("/")
    return bool(path) and not NOT_ARTICLE.search(path)


def cited_links(html: str | bytes, page_url: str) -> list[str]:
    """Canonical URLs of the articles a page cites, cued citations first, at most MAX_CANDIDATES."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    page = canonicalize_url(page_url)
    page_outlet = outlet_of(page_url)
    base_url = document_base(tree, page_url)
    cued: list[str] = []
    other: list[str] = []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if not _in_prose(anchor):  # first: most links are navigation, and resolving URLs costs more
            continue
        url = resolve_link(base_url, href)
        if url_problem(url) is not None:  # it raised here, and the article citing it was lost
            continue
        if not _looks_like_article(url):
            continue
        canonical = canonicalize_url(url)
        if canonical == page or canonical in cued or canonical in other:
            continue
        if CUES.search(_context_text(anchor)):
            cued.append(canonical)
        elif outlet_of(url) != page_outlet:
            other.append(canonical)
    return (cued + other)[:MAX_CANDIDATES]


def follow_citations(crawler: Crawler, spider: Any, context: Any, article_id: int, candidates: Sequence[str]) -> int:
    """Schedule the cited pages of a stored on-topic article of `context`'s source; returns how many.

    A candidate is fetched once: not if stored already, not if tried this run, only if
    its host passes the allow/deny list, and only while the run's budget lasts.
    """
    discovery = context.discovery
    known = context.repository.known_urls(candidates)
    scheduled = 0
    for url in candidates:
        if url in known:
            continue
        if not discovery.settings.outlink_allowed(url):
            logger.debug("source=%s cited %s: host not allowed", context.source.name, url)
            continue
        if not discovery.take(url):
            continue
        crawler.engine.crawl(spider.article_request(context, url, FeedEntry(url=url), url, mediawatch_cited_by=article_id))
        scheduled += 1
    if scheduled:
        logger.info("source=%s article=%s following %d cited page(s)", context.source.name, article_id, scheduled)
    return scheduled
