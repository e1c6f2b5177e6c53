"""Links as scraped: read against a base URL, and told apart from text that is not a URL (pure)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit


def url_problem(url: str) -> str | None:
    """Why `url` is not a URL a request can be made for, else None.

    urllib refuses an unclosed IPv6 bracket or a port past 65535; scrapy.Request (w3lib's
    `safe_url_string`) also refuses text after an IPv6 host's bracket and a lone surrogate,
    which a JSON string can hold.
    """
    from w3lib.url import safe_url_string

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the host and port is what raises
        safe_url_string(url)
    except (ValueError, UnicodeError) as exc:
        return str(exc)
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return "no host"  # "http:///a.html" was requested from a host named "a.html"
    return None


def resolve_link(base_url: str, href: str) -> str:
    """`href` read against `base_url`, or `href` as it is when it cannot be read.

    Kept rather than dropped, so the spider refuses and counts it with its reason, as it
    does a `javascript:` link; urljoin's ValueError used to end the whole document's parse.
    """
    if _EMPTY_AUTHORITY.match(href):
        # urljoin reads "http://" against an http page as the page itself (a feed entry linking
        # "http://" fetched the feed as its article): kept, for url_problem to refuse.
        return href
    try:
        return urljoin(base_url, href)
    except ValueError:
        return href


_EMPTY_AUTHORITY = re.compile(r"(?i)https?://(?:[/?#]|$)")


def same_page(url: str, page_url: str) -> bool:
    """Whether `url` is `page_url` itself once canonical ("#top", a tracking parameter): a link back home."""
    from crawler.fetch.urls import canonicalize_url

    try:
        return canonicalize_url(url) == canonicalize_url(page_url)
    except ValueError:  # not a URL at all: the spider refuses it with its reason
        return False


def shown_link(url: str, limit: int = 200) -> str:
    """`url` as a run's note may name it: cut short, and a lone surrogate escaped (it cannot be stored or printed)."""
    return url[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
