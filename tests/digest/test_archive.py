"""The archive folder on its own: names, pages, index and feed, with and without a public URL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import feedparser

from digest.archive import Archive, topic_slug
from digest.render import render_digest
from digest.select import select_digest
from digest.view import DigestView
from tests.digest.test_render import NOW, SHANGHAI, sample_articles, sample_view


def archive_one(archive: Archive, digest_id: int = 1, hours: int = 0, view: DigestView | None = None) -> tuple[Path, Path]:
    view = view or sample_view()
    rendered = render_digest(view)
    record = archive.record_for(view, subject=rendered.subject, digest_id=digest_id,
                                created_at=NOW + timedelta(hours=hours))
    paths = archive.write_page(record, rendered)
    archive.write_indexes(view.topic)
    return paths


def test_pages_are_named_by_local_time_and_id_in_a_folder_per_topic(tmp_path: Path) -> None:
    html, text = archive_one(Archive(tmp_path, tz=SHANGHAI), digest_id=42)

    assert html == tmp_path / "nanjing-six-dragons" / "2025-02-12-0800-42.html"
    assert text.with_suffix(".html") == html and text.read_text(encoding="utf-8").startswith("南京“六小龙”之问 · The Nanjing question\n")
    assert not list(tmp_path.rglob("*.tmp"))


def test_unsafe_topic_names_get_a_safe_distinct_folder() -> None:
    assert topic_slug("nanjing-six-dragons") == "nanjing-six-dragons"
    assert topic_slug("六小龙") == "六小龙"
    assert topic_slug("../etc") != topic_slug("etc") and "/" not in topic_slug("../etc")
    assert topic_slug("a b") != topic_slug("a-b")
    assert topic_slug("..").startswith("topic-")


def test_the_index_escapes_scraped_subjects_and_lists_newest_first(tmp_path: Path) -> None:
    archive = Archive(tmp_path, tz=SHANGHAI)
    hostile = select_digest("nanjing-six-dragons", [sample_articles()[4]], now=NOW, tz=SHANGHAI, since=None,
                            seed=None, outlets={}, coverage=[])
    archive_one(archive, digest_id=1, hours=0, view=hostile)
    archive_one(archive, digest_id=2, hours=24)

    index = (tmp_path / "nanjing-six-dragons" / "index.html").read_text(encoding="utf-8")
    feed = feedparser.parse((tmp_path / "nanjing-six-dragons" / "feed.xml").read_bytes())

    assert index.index('href="2025-02-13-0800-2.html"') < index.index('href="2025-02-12-0800-1.html"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index and "<script>" not in index
    assert feed.bozo == 0 and "<script>alert(1)</script>" in feed.entries[1].title  # plain text in Atom
    assert 'href="feed.xml"' in index


def test_without_a_public_url_links_are_relative_and_emails_name_the_path(tmp_path: Path) -> None:
    archive = Archive(tmp_path, tz=SHANGHAI)
    archive_one(archive)
    record = archive.records()[0]

    links = archive.links_for(record)
    feed = feedparser.parse((tmp_path / "nanjing-six-dragons" / "feed.xml").read_bytes())

    assert links.page is None and links.page_path == "nanjing-six-dragons/2025-02-12-0800-1.html"
    assert feed.bozo == 0 and feed.entries[0].link == "2025-02-12-0800-1.html"


def test_with_a_public_url_emails_and_feeds_link_absolutely(tmp_path: Path) -> None:
    archive = Archive(tmp_path, tz=SHANGHAI, base_url="https://digests.example/mw/")
    archive_one(archive)
    record = archive.records()[0]

    links = archive.links_for(record)
    feed = feedparser.parse((tmp_path / "nanjing-six-dragons" / "feed.xml").read_bytes())

    assert links.page == "https://digests.example/mw/nanjing-six-dragons/2025-02-12-0800-1.html"
    assert links.index == "https://digests.example/mw/nanjing-six-dragons/index.html"
    assert feed.bozo == 0
    assert feed.entries[0].link == links.page
    assert feed.feed.links[-1].rel == "self"
    assert feed.feed.links[-1].href == "https://digests.example/mw/nanjing-six-dragons/feed.xml"
    assert "六小龙" in feed.entries[0].content[0].value  # the whole digest, for feed readers


def test_a_page_taken_back_disappears_from_the_index(tmp_path: Path) -> None:
    archive = Archive(tmp_path, tz=SHANGHAI)
    archive_one(archive, digest_id=1)
    html, _ = archive_one(archive, digest_id=2, hours=1)

    archive.remove_digest("nanjing-six-dragons", 2)
    archive.write_indexes("nanjing-six-dragons")

    assert not html.exists()
    assert [r.digest_id for r in archive.records()] == [1]
    assert "-2.html" not in (tmp_path / "index.html").read_text(encoding="utf-8")
