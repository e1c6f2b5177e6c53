"""Links as scraped: read against a base URL, and told apart from text that is not a URL (pure)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit


def url_problem(url: str) -> str | None:
    """Why `url` is not a URL Python can read (an unclosed IPv6 bracket, a port past 65535), else None."""
    try:
        urlsplit(url).port  # noqa: B018 -- parsing the host and port is what raises
    except ValueError as exc:
        return str(exc)
    return None


def resolve_link(base_url: str, href: str) -> str:
    """`href` read against `base_url`, or `href` as it is when it cannot be read.

    Kept rather than dropped, so the spider refuses and counts it with its reason, as it
    does a `javascript:` link; urljoin's ValueError used to end the whole document's parse.
    """
    try:
        return urljoin(base_url, href)
    except ValueError:
        return href
