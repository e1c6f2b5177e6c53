"""The digest archive: every sent digest as an HTML page and a text file, with indexes and feeds.

Layout under `[digest] archive_dir`::

    index.html                            every digest of every topic, newest first
    feed.xml                              Atom feed of the same
    <topic>/index.html                    one topic's digests, newest first
    <topic>/feed.xml                      Atom feed of that topic's digests
    <topic>/<YYYY-MM-DD-HHMM>-<id>.html   the digest (times in [digest] timezone)
    <topic>/<YYYY-MM-DD-HHMM>-<id>.txt    its text version
    <topic>/<YYYY-MM-DD-HHMM>-<id>.json   what the indexes and feeds need to list it

The indexes and feeds are rebuilt from the `.json` files alone, so the folder can be
copied to a web server, or its database lost, and still make sense. Files are
written to a temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.render import DigestLinks, RenderedDigest, html_environment
from digest.view import DigestView

logger = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ArchivedDigest:
    """One archived digest, as its `.json` file records it."""

    digest_id: int
    topic: str
    slug: str
    stem: str
    subject: str
    created_at: str  # ISO 8601 with offset
    article_count: int
    outlet_count: int
    removed_count: int = 0  # absent from records written before takedowns were reported
    edited_count: int = 0
    title: str = ""  # the topic's display title (absent from older records: the topic name is shown)

    @property
    def display_title(self) -> str:
        return self.title or self.topic

    @property
    def summary(self) -> str:
        """'3 new article(s) from 2 outlet(s), 1 removed on <topic>', for feeds."""
        counts = [f"{self.article_count} new article(s) from {self.outlet_count} outlet(s)"]
        counts += [f"{n} {label}" for n, label in ((self.removed_count, "removed"), (self.edited_count, "edited")) if n]
        return f"{', '.join(counts)} on {self.display_title}"

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def html_name(self) -> str:
        return f"{self.stem}.html"

    @property
    def text_name(self) -> str:
        return f"{self.stem}.txt"


def topic_slug(topic: str) -> str:
    """A folder name for a topic: the name itself when it is safe, else a cleaned name plus a hash."""
    cleaned = re.sub(r"[^\w.-]+", "-", topic).strip("-.")
    if cleaned == topic and cleaned:
        return cleaned
    digest = hashlib.sha1(topic.encode("utf-8")).hexdigest()[:6]
    return f"{cleaned or 'topic'}-{digest}"


class Archive:
    """Reads and writes one archive folder."""

    def __init__(self, root: Path, *, tz: ZoneInfo, base_url: str | None = None) -> None:
        self.root = Path(root)
        self.tz = tz
        self.base_url = base_url.rstrip("/") if base_url else None

    # -- naming ------------------------------------------------------------------
    def record_for(self, view: DigestView, *, subject: str, digest_id: int, created_at: datetime) -> ArchivedDigest:
        """Name and describe a digest's archive files (nothing is written yet)."""
        local = created_at.astimezone(self.tz)
        return ArchivedDigest(
            digest_id=digest_id,
            topic=view.topic,
            slug=topic_slug(view.topic),
            stem=f"{local.strftime('%Y-%m-%d-%H%M')}-{digest_id}",
            subject=subject,
            created_at=local.isoformat(),
            article_count=view.article_count,
            outlet_count=view.outlet_count,
            removed_count=view.removed_count,
            edited_count=view.edited_count,
            title=view.display_title,
        )

    def links_for(self, record: ArchivedDigest) -> DigestLinks:
        """How an email points at this digest's archived page."""
        page_path = f"{record.slug}/{record.html_name}"
        if self.base_url:
            return DigestLinks(
                page=f"{self.base_url}/{page_path}", index=f"{self.base_url}/{record.slug}/index.html",
                page_path=page_path,
            )
        return DigestLinks(page_path=page_path)

    def topic_dir(self, topic: str) -> Path:
        return self.root / topic_slug(topic)

    # -- pages -------------------------------------------------------------------
    def write_page(self, record: ArchivedDigest, rendered: RenderedDigest) -> tuple[Path, Path]:
        """Write the digest's HTML, text and `.json`; returns the HTML and text paths."""
        folder = self.root / record.slug
        folder.mkdir(parents=True, exist_ok=True)
        html_path, text_path = folder / record.html_name, folder / record.text_name
        _write_atomic(html_path, rendered.html)
        _write_atomic(text_path, rendered.text)
        _write_atomic(folder / f"{record.stem}.json", json.dumps(asdict(record), ensure_ascii=False, indent=2) + "\n")
        logger.info("archived digest %s of %r at %s", record.digest_id, record.topic, html_path)
        return html_path, text_path

    def remove_page(self, record: ArchivedDigest) -> None:
        """Take back a page whose digest was not delivered (its articles go to the next one)."""
        folder = self.root / record.slug
        for name in (f"{record.stem}.json", record.html_name, record.text_name):
            (folder / name).unlink(missing_ok=True)

    def remove_digest(self, topic: str, digest_id: int) -> None:
        """Remove the pages of a digest by id (a stale digest released after a crash)."""
        for record in self.records(topic):
            if record.digest_id == digest_id:
                self.remove_page(record)

    def records(self, topic: str | None = None) -> list[ArchivedDigest]:
        """Archived digests, newest first."""
        pattern = f"{topic_slug(topic)}/*.json" if topic is not None else "*/*.json"
        found = []
        for path in self.root.glob(pattern):
            try:
                found.append(ArchivedDigest(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("skipping unreadable archive record %s: %s", path, exc)
        found.sort(key=lambda r: (r.created, r.digest_id), reverse=True)
        return found

    # -- indexes and feeds -------------------------------------------------------
    def write_indexes(self, topic: str) -> list[Path]:
        """Rebuild the topic's and the archive's index.html and feed.xml."""
        written = []
        folder = self.topic_dir(topic)
        folder.mkdir(parents=True, exist_ok=True)
        topic_records = self.records(topic)
        all_records = self.records()
        shown = topic_records[0].display_title if topic_records else topic
        for target, records, prefix, title in (
            (folder, topic_records, "", f"Digests: {shown}"),
            (self.root, all_records, None, "All digests"),
        ):
            index = target / "index.html"
            _write_atomic(index, self._render_index(records, title=title, prefix=prefix))
            feed = target / "feed.xml"
            _write_atomic(feed, self._render_feed(records[:FEED_ENTRIES], title=title, prefix=prefix, folder=target))
            written += [index, feed]
        return written

    def _href(self, record: ArchivedDigest, name: str, prefix: str | None) -> str:
        """A link to a file of `record`: absolute under `base_url`, else relative to the index."""
        if self.base_url:
            return f"{self.base_url}/{record.slug}/{name}"
        return name if prefix == "" else f"{record.slug}/{name}"

    def _render_index(self, records: list[ArchivedDigest], *, title: str, prefix: str | None) -> str:
        rows = [
            {
                "record": r,
                "when": r.created.strftime("%Y-%m-%d %H:%M"),
                "html": self._href(r, r.html_name, prefix),
                "text": self._href(r, r.text_name, prefix),
            }
            for r in records
        ]
        template = html_environment().get_template("index.html.j2")
        return template.render(title=title, rows=rows, show_topic=prefix is None, timezone=str(self.tz))

    def _render_feed(self, records: list[ArchivedDigest], *, title: str, prefix: str | None, folder: Path) -> str:
        ET.register_namespace("", ATOM)

        def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
            element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
            if text is not None:
                element.text = _xml_text(text)
            return element

        feed = ET.Element(f"{{{ATOM}}}feed")
        scope = "all" if prefix is None else (records[0].slug if records else folder.name)
        add(feed, "id", f"tag:mediawatch,2025:digests/{scope}")
        add(feed, "title", title)
        updated = records[0].created if records else datetime.fromtimestamp(0).astimezone(self.tz)
        add(feed, "updated", updated.isoformat())
        author = add(feed, "author")
        add(author, "name", "mediawatch")
        add(feed, "generator", "mediawatch")
        folder_url = f"{self.base_url}/{'' if prefix is None else scope + '/'}" if self.base_url else ""
        add(feed, "link", rel="alternate", type="text/html", href=f"{folder_url}index.html")
        if self.base_url:  # a self link must be absolute
            add(feed, "link", rel="self", type="application/atom+xml", href=f"{folder_url}feed.xml")
        for record in records:
            entry = add(feed, "entry")
            add(entry, "id", f"tag:mediawatch,2025:digest/{record.slug}/{record.digest_id}")
            add(entry, "title", record.subject)
            add(entry, "published", record.created.isoformat())
            add(entry, "updated", record.created.isoformat())
            add(entry, "link", rel="alternate", type="text/html", href=self._href(record, record.html_name, prefix))
            add(entry, "link", rel="alternate", type="text/plain", href=self._href(record, record.text_name, prefix))
            add(entry, "category", term=record.topic)
            add(entry, "summary", record.summary)
            body = self._page_body(record)
            if body:
                add(entry, "content", body, type="html")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"

    def _page_body(self, record: ArchivedDigest) -> str | None:
        path = self.root / record.slug / record.html_name
        try:
            html = path.read_text(encoding="utf-8")
        except OSError:
            return None
        match = _BODY.search(html)
        return match.group(1).strip() if match else html


def _xml_text(text: str) -> str:
    """Drop the characters XML 1.0 forbids (a scraped title can hold them)."""
    return _XML_ILLEGAL.sub("", text)


def _write_atomic(path: Path, content: str) -> None:
    """Write beside `path` under a unique name, then rename: readers and other writers never see half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
