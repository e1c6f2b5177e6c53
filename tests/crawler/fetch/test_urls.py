"""URL canonicalisation and the fetch policy."""

from __future__ import annotations

import pytest

from crawler.fetch.policy import check_addresses, check_scheme, is_public_address
from crawler.fetch.urls import canonicalize_url
from storage.errors import ForbiddenURLError


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTP://News.Example.COM:80/a/b/?utm_source=x&id=3#frag", "http://news.example.com/a/b?id=3"),
        ("https://example.com/story/?spm=a.b.c&fbclid=1", "https://example.com/story"),
        ("https://example.com:443//double//slash/", "https://example.com/double/slash"),
        ("https://example.com/?b=2&a=1", "https://example.com/?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("http://127.0.0.1:8080/x.html", "http://127.0.0.1:8080/x.html"),
    ],
)
def test_canonical_url_drops_tracking_fragments_and_trailing_slashes(raw: str, canonical: str) -> None:
    assert canonicalize_url(raw) == canonical


def test_canonical_url_is_idempotent() -> None:
    url = "https://Example.com/a/?utm_medium=x&q=六小龙#top"
    assert canonicalize_url(canonicalize_url(url)) == canonicalize_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "http:///nohost"])
def test_only_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(ForbiddenURLError):
        check_scheme(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "::1", "fc00::1", "::ffff:127.0.0.1", "0.0.0.0"])
def test_private_and_loopback_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


def test_public_address_is_public() -> None:
    assert is_public_address("93.184.216.34")


def test_private_address_refused_unless_allowed() -> None:
    with pytest.raises(ForbiddenURLError, match="allow_private"):
        check_addresses("http://intranet/", ["10.0.0.5"], allow_private=False)
    check_addresses("http://intranet/", ["10.0.0.5"], allow_private=True)


def test_whitespace_left_behind_a_stripped_trailing_slash_goes_too() -> None:
    # "…/a /" lost its slash and kept the space, so canonicalising twice gave two spellings
    # (found by the property test in tests/test_properties.py).
    for url in ("http://example.com/a /", "http://example.com/a / /", "0 /"):
        once = canonicalize_url(url)
        assert canonicalize_url(once) == once, url
    assert canonicalize_url("http://example.com/a /") == "http://example.com/a"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # A CMS linking "../2025/a.html" from an absolute URL a feed printed as is: one article, two spellings.
        ("https://example.com/news/./2025/a.html", "https://example.com/news/2025/a.html"),
        ("https://example.com/news/list/../2025/a.html", "https://example.com/news/2025/a.html"),
        ("https://example.com/../../a.html", "https://example.com/a.html"),
        ("https://example.com/a/b/..", "https://example.com/a"),
        ("https://example.com/a/.", "https://example.com/a"),
        ("https://example.com/a..b/c.d./.e", "https://example.com/a..b/c.d./.e"),  # dots inside a name stay
    ],
)
def test_dot_segments_are_resolved(raw: str, canonical: str) -> None:
    assert canonicalize_url(raw) == canonical


def test_unicode_host_and_its_punycode_are_one_spelling() -> None:
    # Scrapy fetches a Unicode host as punycode; a feed may print either, and a full-width dot is a dot.
    expected = "http://xn--fiqs8s.xn--55qx5d.cn/a.html"
    for raw in ("http://中国.公司.cn/a.html", "http://XN--FIQS8S.xn--55qx5d.cn/a.html", "http://中国。公司。cn/a.html"):
        assert canonicalize_url(raw) == expected, raw


def test_a_host_idna_cannot_encode_is_kept_as_written() -> None:
    # Not this function's job to refuse it: the fetch fails and names it. Stable all the same.
    once = canonicalize_url("http://a\u200db.例子/x")
    assert canonicalize_url(once) == once
