"""A feed that is not well-formed and yields nothing usable is an error, not an empty success."""

from __future__ import annotations

import pytest

from crawler.parse.feeds import NotAFeedError, parse_feed

URL = "https://news.example.cn/rss.xml"


def test_invalid_xml_with_no_usable_entry_is_refused() -> None:
    with pytest.raises(NotAFeedError, match="not well-formed"):
        parse_feed(b"<rss version='2.0'><channel><<<>>>><item></rss>", URL)


def test_valid_feed_whose_entries_have_no_links_is_refused() -> None:
    body = b"<rss version='2.0'><channel><title>t</title><item><title>a</title></item></channel></rss>"
    with pytest.raises(NotAFeedError, match="no link"):
        parse_feed(body, URL)


def test_empty_but_valid_feed_is_an_empty_list() -> None:
    assert parse_feed(b"<rss version='2.0'><channel><title>t</title></channel></rss>", URL) == []


def test_empty_body_is_refused() -> None:
    with pytest.raises(NotAFeedError, match="empty"):
        parse_feed(b"", URL)


def test_truncated_feed_keeps_what_it_could_read() -> None:
    body = (b"<rss version='2.0'><channel><title>t</title><item><title>a</title><link>https://x.cn/a</link></item>"
            b"<item><title>b")
    assert [e.url for e in parse_feed(body, URL)] == ["https://x.cn/a"]
