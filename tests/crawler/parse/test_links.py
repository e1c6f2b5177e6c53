"""resolve_link and url_problem on their own: links as scraped, read against a page, told apart from junk."""

from __future__ import annotations

import pytest

from crawler.parse.links import resolve_link, url_problem

FEED = "http://news.example.cn/rss.xml"


@pytest.mark.parametrize("href", ["http://", "https://", "http:///a.html", "https:///?id=1", "http://#x", "HTTP://"])
def test_a_link_with_a_scheme_and_no_host_is_kept_as_it_is_and_refused(href: str) -> None:
    # urljoin reads "http://" against an http page as the page itself: a feed entry linking
    # "http://" fetched the feed as its article ("not an HTML page"), and "http:///a.html"
    # was requested from a host named "a.html". Such a link is junk; the spider refuses it.
    assert resolve_link(FEED, href) == href
    assert url_problem(href) == "no host"


@pytest.mark.parametrize(("href", "url"), [
    ("/a.html", "http://news.example.cn/a.html"),
    ("//cdn.example.cn/b.html", "http://cdn.example.cn/b.html"),
    ("c.html", "http://news.example.cn/c.html"),
    ("https://other.example.cn/d.html", "https://other.example.cn/d.html"),
])
def test_ordinary_links_resolve_against_the_page(href: str, url: str) -> None:
    assert resolve_link(FEED, href) == url
    assert url_problem(url) is None
