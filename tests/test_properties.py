"""Property tests: any bytes or strings give a result or a recorded error, never an unhandled exception.

Feed parsing, sitemap parsing, URL canonicalisation and digest rendering take input
from the outside world. Example counts are bounded so the suite stays quick.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.fetch.urls import canonicalize_url
from crawler.parse.feeds import read_feed
from crawler.parse.sitemaps import parse_sitemap
from digest.render import render_digest
from digest.select import select_digest
from storage.errors import ExtractionError
from storage.ledger import LedgerArticle
from storage.models import Article

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = "https://news.example.cn/feed.xml"

# Text a hostile or broken feed might hold: Chinese, markup, control characters, surrogates excluded.
TEXT = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["南京追问六小龙", "<script>alert(1)</script>", "a & b < c", "]]>", "\u202e", "\x00\x01", "&bogus;", "javascript:x"])


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    """RSS, Atom or JSON Feed documents built from arbitrary titles and links, in several encodings."""
    items = draw(st.lists(st.tuples(TEXT, TEXT | st.just("https://news.example.cn/a.html")), max_size=5))
    kind = draw(st.sampled_from(["rss", "atom", "json"]))
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "big5hkscs", "utf-16", "latin-1"]))
    declared = draw(st.sampled_from([encoding, "utf-8", "gbk", "utf-16", None, "bogus"]))
    if kind == "json":
        import json

        doc = json.dumps({"version": "https://jsonfeed.org/version/1.1",
                          "items": [{"id": str(i), "title": t, "url": u} for i, (t, u) in enumerate(items)]},
                         ensure_ascii=False)
    else:
        def esc(value: str) -> str:
            return value.replace("&", "&amp;").replace("<", "&lt;") if draw(st.booleans()) else value

        if kind == "rss":
            body = "".join(f"<item><title>{esc(t)}</title><link>{esc(u)}</link></item>" for t, u in items)
            doc = f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>"
        else:
            body = "".join(f"<entry><title>{esc(t)}</title><link href='{esc(u)}'/></entry>" for t, u in items)
            doc = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{body}</feed>"
        if declared:
            doc = f"<?xml version='1.0' encoding='{declared}'?>" + doc
    data = doc.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data if encoding == "utf-8" else data
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


@BOUNDED
@given(st.binary(max_size=2000) | feeds(), st.sampled_from([None, "application/rss+xml", "text/html; charset=gbk",
                                                          "application/xml; charset=utf-16", "text/xml; charset=bogus"]))
def test_parse_feed_gives_entries_or_an_extraction_error(body: bytes, content_type: str | None) -> None:
    try:
        document = read_feed(body, BASE, content_type)
    except ExtractionError as exc:
        assert str(exc)  # a reason a person can read
        return
    for entry in document.entries:
        assert entry.url.startswith(("http://", "https://", "javascript:", "mailto:")) or "://" not in entry.url
        assert entry.title is None or "\ufffd" not in entry.title


def _looks_double_encoded(text: str) -> bool:
    # feedparser repairs UTF-8 that was decoded as Latin-1 and encoded again ("Ã©" → "é"), on purpose.
    try:
        return text.encode("latin-1").decode("utf-8") != text
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False


TITLE = st.text(st.characters(categories=["L", "N", "P", "Zs"], exclude_characters="&<>"), min_size=1,
                max_size=30).filter(lambda t: not _looks_double_encoded(t))


@BOUNDED
@given(st.lists(TITLE.filter(lambda t: t.strip()), min_size=1, max_size=5),
       st.sampled_from(["utf-8", "gb18030", "utf-16", "big5hkscs"]), st.booleans())
def test_titles_survive_any_correctly_declared_encoding(titles: list[str], encoding: str, declare: bool) -> None:
    items = "".join(f"<item><title>{t}</title><link>https://news.example.cn/{i}.html</link></item>"
                    for i, t in enumerate(titles))
    doc = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    # Undeclared, only UTF-8 is certain (XML's default); a few undeclared GBK bytes are a guess.
    if declare or encoding != "utf-8":
        doc = f"<?xml version='1.0' encoding='{encoding}'?>" + doc
    try:
        body = doc.encode(encoding)
    except UnicodeEncodeError:
        return  # Big5 has no such characters: nothing to decode
    entries = read_feed(body, BASE, "application/rss+xml").entries
    assert [e.title for e in entries] == [t.strip() for t in titles]


@st.composite
def sitemaps(draw: st.DrawFn) -> bytes:
    urls = draw(st.lists(st.tuples(TEXT, st.sampled_from(["2025-02-09", "2025-02-09T09:00:00+08:00", "", "junk"])),
                         max_size=5))
    root = draw(st.sampled_from(["urlset", "sitemapindex", "html"]))
    child = "sitemap" if root == "sitemapindex" else "url"
    body = "".join(f"<{child}><loc>{loc}</loc><lastmod>{mod}</lastmod></{child}>" for loc, mod in urls)
    return f"<{root} xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{body}</{root}>".encode()


@BOUNDED
@given(st.binary(max_size=2000) | sitemaps())
def test_parse_sitemap_gives_entries_or_an_extraction_error(body: bytes) -> None:
    try:
        entries, children = parse_sitemap(body, "https://news.example.cn/sitemap.xml")
    except ExtractionError as exc:
        assert str(exc)
        return
    assert isinstance(entries, list) and isinstance(children, list)
    for entry in entries:
        assert entry.published is None or entry.published.tzinfo is not None


@BOUNDED
@given(st.text(max_size=200) | st.from_regex(r"https?://[a-zA-Z0-9.\[\]:-]{0,30}(/[^\s]{0,30})?(\?[^\s#]{0,40})?(#.*)?",
                                             fullmatch=True))
def test_canonicalize_url_gives_a_string_or_a_value_error(url: str) -> None:
    try:
        canonical = canonicalize_url(url)
    except ValueError:
        return  # e.g. a port out of range: the caller records it as a refused link
    assert isinstance(canonical, str)
    assert "#" not in canonical
    try:
        assert canonicalize_url(canonical) == canonical  # idempotent
    except ValueError:
        raise AssertionError(f"canonical form {canonical!r} of {url!r} is not itself canonicalisable") from None


NOW = datetime(2025, 2, 12, tzinfo=UTC)


@BOUNDED
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, st.floats(0, 1)), min_size=0, max_size=4), TEXT)
def test_digest_rendering_escapes_and_never_crashes(items: list[tuple[str, str, str, float]], title: str) -> None:
    articles = [
        LedgerArticle(
            Article(id=i + 1, url=url if url.startswith("javascript") else f"https://example.cn/{i}?q={url}", source_name=f"s{i}", title=headline or "x",
                    published_at=NOW - timedelta(hours=i), fetched_at=NOW, text=text, content_hash=f"h{i}",
                    storyline_id=i + 1),
            score, ("六小龙",),
        )
        for i, (headline, text, url, score) in enumerate(items)
    ]
    view = select_digest("topic", articles, now=NOW, tz=ZoneInfo("Asia/Shanghai"), since=None, seed=None,
                         outlets={}, coverage=[], title=title or "topic")
    rendered = render_digest(view)
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    # Whatever the scraped strings held, the email has no script, no event handler, no javascript: link.
    tree = lxml.html.fromstring(rendered.html)
    assert not tree.xpath("//script")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert not any(name.lower().startswith("on") for name in element.attrib), element.attrib
        assert not element.get("href", "").strip().lower().startswith("javascript:")
