"""parse_feed on its own: bytes and a base URL in, entries out (no crawl, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawler.parse.feeds import NotAFeedError, advertised_feeds, is_web_page, parse_feed, read_feed
from scheduler.demo import DEMO_SITE

BASE = "https://news.example/feeds/china.xml"


def demo_feed(name: str) -> bytes:
    return (DEMO_SITE / name).read_bytes().replace(b"{base}", b"https://demo.example")


def test_rss_entries_keep_link_title_date_author_and_summary_in_feed_order() -> None:
    entries = parse_feed(demo_feed("jiangnan/rss.xml"), "https://demo.example/jiangnan/rss.xml")

    first = entries[0]
    assert first.url == "https://demo.example/jiangnan/2025/02/10/gdp-gap.html"
    assert first.title == "1.85万亿元背后：南京与杭州的差距为何在拉大"
    assert first.published == datetime(2025, 2, 10, 0, 30, tzinfo=UTC)  # +08:00 read as such
    assert first.author == "赵一鸣"
    assert first.summary is not None and first.summary.startswith("2024年南京GDP")
    assert [e.published for e in entries] == sorted((e.published for e in entries), reverse=True)


def test_atom_entries_are_read() -> None:
    entries = parse_feed(demo_feed("jinling/atom.xml"), "https://demo.example/jinling/atom.xml")
    assert entries and all(e.url.startswith("https://demo.example/jinling/") for e in entries)
    assert all(e.title and e.published and e.published.tzinfo for e in entries)


def test_relative_links_resolve_against_the_feed_url_and_entries_without_a_link_are_dropped() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
      <item><title>relative</title><link>/2025/02/11/a.html</link></item>
      <item><title>no link at all</title></item>
      <item><title>guid only</title><guid isPermaLink="true">https://news.example/b.html</guid></item>
    </channel></rss>"""

    entries = parse_feed(body, BASE)

    assert [(e.title, e.url) for e in entries] == [
        ("relative", "https://news.example/2025/02/11/a.html"),
        ("guid only", "https://news.example/b.html"),
    ]


def test_an_entry_linking_to_the_feed_itself_counts_as_without_a_link() -> None:
    # feedparser reads "http://" (or "", or the feed's own URL) against the feed: the feed was
    # requested as the entry's article on every run and failed, "not an HTML page".
    body = f"""<rss version="2.0"><channel><title>t</title>
      <item><title>empty authority</title><link>https://</link></item>
      <item><title>itself</title><link>{BASE}</link></item>
      <item><title>real</title><link>/a.html</link></item>
    </channel></rss>""".encode()

    document = read_feed(body, BASE)

    assert [e.url for e in document.entries] == ["https://news.example/a.html"]
    assert document.unlinked == 2


def test_json_feed_items_become_entries() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "t",
        "items": [
            {"id": "1", "url": "https://news.example/1.html", "title": " 南京三问 ", "date_published": "2025-02-09T10:00:00+08:00",
             "authors": [{"name": "王晓明"}], "summary": "s"},
            {"id": "2", "title": "no url"},
        ],
    }

    [entry] = parse_feed(json.dumps(document, ensure_ascii=False).encode(), BASE)

    assert (entry.url, entry.title, entry.author) == ("https://news.example/1.html", "南京三问", "王晓明")
    assert entry.published == datetime(2025, 2, 9, 2, 0, tzinfo=UTC)


def test_json_feed_items_without_a_url_are_counted_as_unlinked_like_rss_entries() -> None:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "https://news.example/1.html", "title": "甲"},
        {"id": "2", "title": "only content", "content_text": "只有正文"},
        {"id": "3", "title": "a url that is not text", "url": 3},
        {"id": "4", "external_url": "https://other.example/4.html", "title": "丁"},
    ]}

    feed = read_feed(json.dumps(document, ensure_ascii=False).encode(), BASE)

    assert [e.url for e in feed.entries] == ["https://news.example/1.html", "https://other.example/4.html"]
    assert feed.unlinked == 2


def test_a_json_feed_whose_items_all_lack_a_url_is_refused_like_an_rss_one() -> None:
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t",
                "items": [{"id": "1", "content_text": "甲"}, {"id": "2", "content_html": "<p>乙</p>"}]}

    with pytest.raises(NotAFeedError, match="2 feed entries but no link in any of them"):
        read_feed(json.dumps(document).encode(), BASE)


def test_an_empty_but_valid_feed_yields_no_entries() -> None:
    assert parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>', BASE) == []


@pytest.mark.parametrize(
    "body",
    [b"<html><body><h1>Not a feed</h1></body></html>", b"", b"{\"not\": \"a json feed\"}"],
    ids=["html", "empty", "json"],
)
def test_documents_that_are_not_feeds_are_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(NotAFeedError, match=r"news\.example"):
        parse_feed(body, BASE)


RSS10 = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://news.example/"><title>t</title><link>https://news.example/</link></channel>
  <item rdf:about="https://news.example/1.html"><title>a</title><link>https://news.example/1.html</link>
    <dc:date>{date}</dc:date></item>
</rdf:RDF>"""
RSS20 = ("<rss version='2.0'><channel><title>t</title><item><title>a</title><link>https://news.example/1.html</link>"
         "<pubDate>{date}</pubDate></item></channel></rss>")
ATOM = ("<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry><title>a</title>"
        "<link href='https://news.example/1.html'/><updated>{date}</updated></entry></feed>")
JSON_FEED = ('{{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
             '"items": [{{"id": "1", "url": "https://news.example/1.html", "date_published": "{date}"}}]}}')


@pytest.mark.parametrize(
    ("template", "date"),
    [(RSS10, "2025-02-12"), (RSS20, "Wed, 12 Feb 2025"), (RSS20, "2025-02-12"), (ATOM, "2025-02-12"),
     (JSON_FEED, "2025-02-12")],
    ids=["rss10-dc-date", "rss20-rfc822-day", "rss20-iso-day", "atom-updated", "json-feed"],
)
def test_a_feed_date_without_a_time_of_day_is_only_a_day(template: str, date: str) -> None:
    [entry] = parse_feed(template.format(date=date).encode(), BASE)

    # Kept for a page that has no date of its own, but marked: it must not beat the page's exact time.
    assert entry.published == datetime(2025, 2, 12, tzinfo=UTC)
    assert entry.date_source == "feed-day"


@pytest.mark.parametrize(
    ("template", "date"),
    [(RSS10, "2025-02-12T10:00+08:00"), (RSS20, "Wed, 12 Feb 2025 10:00:00 +0800"),
     (ATOM, "2025-02-12T02:00:00Z"), (JSON_FEED, "2025-02-12T10:00:00+08:00"),
     (RSS20, "Wed, 12 Feb 2025 00:00:00 GMT")],
    ids=["rss10-dc-date", "rss20", "atom-updated", "json-feed", "rss20-midnight"],
)
def test_a_feed_date_with_a_time_of_day_is_exact(template: str, date: str) -> None:
    [entry] = parse_feed(template.format(date=date).encode(), BASE)

    assert entry.published is not None
    assert entry.date_source == "feed"


@pytest.mark.parametrize(
    ("template", "date"),
    [(RSS20, "Thu, 01 Jan 1970 00:00:00 +0000"), (RSS20, "Mon, 01 Jan 0001 00:00:00 GMT"),
     (ATOM, "1970-01-01T00:00:00Z"), (RSS10, "0001-01-01T00:00:00Z"), (JSON_FEED, "1970-01-01T00:00:00Z")],
    ids=["rss20-epoch", "rss20-year-1", "atom-epoch", "rss10-year-1", "json-feed-epoch"],
)
def test_a_placeholder_feed_date_is_no_date(template: str, date: str) -> None:
    # A CMS's empty date printed as the Unix epoch or year 1: stored as published then, it
    # put the article first in its storyline, stretched the digest's chart over decades and
    # was off every topic with a `since`. Page and JSON Feed dates outside 1990-2100 were
    # already dropped; RSS and Atom dates were not.
    [entry] = parse_feed(template.format(date=date).encode(), BASE)
    assert entry.published is None


def test_control_characters_in_feed_titles_authors_and_summaries_are_dropped() -> None:
    # A title "\x1b]0;pwned\x07" (raw, or as &#27; in a lenient parse) was kept and printed to the
    # operator's terminal by `mediawatch articles`; JSON escapes "\u001b" the same way.
    rss = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
           b"<item><title>\xe5\x8d\x97\xe4\xba\xac \x1b]0;pwned\x07 &#27;[31m\xe4\xb8\x89\xe9\x97\xae</title>"
           b"<link>https://news.example/1.html</link><author>\x1b[2J\xe7\x8e\x8b</author>"
           b"<description>s \x1b[2J\x0c d</description></item></channel></rss>")
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "https://news.example/1.html", "title": "南京 \x1b]0;pwned\x07 三问",
         "authors": [{"name": "\x1b[2J王"}], "summary": "s \x1b[2J\x0c d"}]}
    for entry in (*parse_feed(rss, BASE), *parse_feed(json.dumps(document).encode(), BASE)):
        values = (entry.title or "", entry.author or "", entry.summary or "")
        assert not [c for v in values for c in v if c not in "\n\t" and (c < " " or "\x7f" <= c <= "\x9f")], values
        assert entry.title is not None and entry.title.startswith("南京 ") and entry.title.endswith("三问")


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidi_overrides_in_feed_titles_are_dropped_and_right_to_left_letters_kept() -> None:
    # "南京\u202e六小龙之问" displays the rest of the line reversed: in the digest and the console the
    # override ran on past the headline, through the outlet's name and date after it.
    title = "南京\u202e六小龙\u2067之问\u202c \u05e9\u05dc\u05d5\u05dd\u200f \u0633\u0644\u0627\u0645"
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
           f"<item><title>{title}</title><link>https://news.example/1.html</link>"
           f"<author>\u202e王</author><description>s\u2066 d</description></item></channel></rss>").encode()
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": "https://news.example/1.html", "title": title, "authors": [{"name": "\u202e王"}],
         "summary": "s\u2066 d"}]}
    for entry in (*parse_feed(rss, BASE), *parse_feed(json.dumps(document).encode(), BASE)):
        assert (entry.title, entry.author, entry.summary) == (
            "南京六小龙之问 \u05e9\u05dc\u05d5\u05dd\u200f \u0633\u0644\u0627\u0645", "王", "s d")


def test_a_title_the_feed_marks_up_as_html_is_read_as_plain_text() -> None:
    # Feeds put markup and entities in titles (CDATA in RSS, type="html" in Atom). The title was kept as
    # markup, so a page stored from its entry was titled "南京 &amp; 杭州 <b>六小龙</b>" in lists and digests.
    rss = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>
      <item><title><![CDATA[南京 &amp; 杭州 <b>六小龙</b>]]></title><link>https://news.example/1.html</link></item>
      <item><title>AT&amp;T &lt;3 六小龙</title><link>https://news.example/2.html</link></item>
      <item><title><![CDATA[1 < 2 & 3 > 2]]></title><link>https://news.example/3.html</link></item>
    </channel></rss>""".encode()
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title type="html">&lt;i&gt;Two&lt;/i&gt; &amp;amp; 六小龙</title><link href="https://news.example/4.html"/>
      <id>4</id></entry>
      <entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x <b>y</b></div></title>
      <link href="https://news.example/5.html"/><id>5</id></entry></feed>""".encode()

    titles = [entry.title for entry in (*parse_feed(rss, BASE), *parse_feed(atom, BASE))]

    assert titles == ["南京 & 杭州 六小龙", "AT&T <3 六小龙", "1 < 2 & 3 > 2", "Two & 六小龙", "x y"]


def test_a_web_page_names_the_feeds_it_advertises_in_page_order() -> None:
    page = b"""<html><head><meta charset="gbk">
    <link rel="stylesheet" href="/s.css">
    <link rel="alternate" hreflang="en" href="/en/">
    <link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
    <link rel="Alternate Feed" type="Application/Atom+XML; charset=utf-8" href="https://other.example/atom">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="alternate" type="application/rss+xml">
    <link rel="alternate" type="application/rss+xml" href="http://[::1/feed">
    </head><body><a href="/rss2.xml" type="application/rss+xml">RSS</a></body></html>"""
    assert advertised_feeds(page, "https://news.example/china/", "text/html") == [
        "https://news.example/rss.xml", "https://other.example/atom", "https://news.example/china/feed.json"]
    assert advertised_feeds(b"<html><body><p>home</p></body></html>", "https://news.example/", "text/html") == []
    assert advertised_feeds(b"\x89PNG\r\n\x1a\n\0\0", "https://news.example/", "image/png") == []


def test_a_web_page_is_told_from_a_broken_feed() -> None:
    # Only a plain page gets "is a web page, not a feed": a broken feed must still read as one.
    assert is_web_page(b"\xef\xbb\xbf <!-- cms --><!DOCTYPE HTML><html><body><p>a & b", None)
    assert is_web_page(b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", "application/xml")
    assert is_web_page(b"<head><title>home</title></head><p>a & b", "text/html; charset=utf-8")
    # Many servers send feeds as text/html: a feed's root element settles it.
    assert not is_web_page(b"<?xml version='1.0'?><rss version='2.0'><channel><<<>>>></rss>", "text/html")
    assert not is_web_page(b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "text/html")
    assert not is_web_page(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "text/html")
    assert not is_web_page(b"<root><item/></root>", "application/xml")
