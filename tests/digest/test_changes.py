"""Takedowns and edits in digests, end to end: a real database, a real SMTP server, an injected clock.

A recheck records a takedown with `Repository.mark_removed` and an edit with
`Repository.record_edit`; the digest after it reports each change once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlmodel import Session, select

from digest.deliver import SendReceipt, SmtpMailer, SmtpSettings
from digest.service import build_digest, send_digest
from scheduler.app import App
from storage.errors import PermanentDeliveryError
from storage.ledger import DigestLedger
from storage.models import Article, Source
from tests.digest.support import TITLE, TOPIC, FixedClock, SmtpSink, digest_config, make_app, parts, store

FIRST = "南京为什么没有六小龙？交汇点三问"
SECOND = "Why Nanjing has no six little dragons"


def send(app: App, sender: Any = None):  # type: ignore[no-untyped-def]
    return send_digest(app.digest_context(), TOPIC, sender=sender or SmtpMailer(SmtpSettings.from_config(app.config.smtp), sleep=[].append))


def first_digest(app: App, clock: FixedClock) -> tuple[int, int]:
    """Two articles, sent in the first digest; the clock then moves on an hour."""
    first = store(app.repository, FIRST, source="jiangnan")
    second = store(app.repository, SECOND, source="haixi-en", language="en", matched=("six little dragons",))
    assert send(app).article_count == 2
    clock.advance(hours=1)
    return first, second


def section(document: str, heading: str, following: Sequence[str]) -> str:
    """The part of a text digest from `heading` to the next of `following` (or the end)."""
    start = document.index(heading)
    ends = [document.index(h, start) for h in following if h in document[start:]]
    return document[start : min(ends) if ends else len(document)]


def html_section(html: str, heading: str) -> str:
    """One `<td class="section">` of the HTML digest, found by its heading."""
    start = html.index(f">{heading}</h2>")
    return html[start : html.index("</td></tr>", start)]


TEXT_SECTIONS = ("EDITED", "COVERAGE OVER TIME", "SOURCE HEALTH")
KEPT = "A copy of its text is kept in mediawatch's database"


def test_an_article_taken_down_after_it_was_sent_is_reported_once_and_its_text_is_kept(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    gone, _ = first_digest(app, clock)
    app.repository.mark_removed(gone)  # noticed at 09:00 Shanghai time
    clock.advance(hours=23)
    store(app.repository, "第二天：南京回应六小龙之问", source="donghai")

    second = send(app)

    assert second.article_count == 1 and second.removed_count == 1
    text, html = parts(sink.messages[1])
    removed = section(text, "REMOVED SINCE THE LAST DIGEST", TEXT_SECTIONS)
    assert FIRST in removed and "江南日报 · noticed removed 2025-02-12 09:00" in removed
    with Session(app.engine) as session:
        article = session.get(Article, gone)
        assert article is not None
    assert f"<{article.url}> (gone)" in removed
    # "(article #94)": an id only the operator's database knows, and no link to it; a reader
    # of the email is told where the copy is, in words.
    assert KEPT in removed and "#" not in removed
    assert SECOND not in removed
    block = html_section(html, "Removed since the last digest")
    assert FIRST in block and f'href="{article.url}"' in block and "2025-02-12 09:00" in block
    assert KEPT.lower() in block and f"#{gone}" not in block
    assert "1 removed" in sink.messages[1]["Subject"]
    assert article.text.startswith(FIRST) and article.removed_at == clock() - timedelta(hours=23)

    clock.advance(days=1)
    store(app.repository, "第三天：六小龙之问仍在发酵", source="donghai")
    third = send(app)

    assert third.article_count == 1 and third.removed_count == 0
    text, html = parts(sink.messages[2])
    assert "REMOVED" not in text and FIRST not in text and ">Removed" not in html


def test_a_digest_with_only_a_takedown_is_sent(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    gone, _ = first_digest(app, clock)
    app.repository.mark_removed(gone)
    clock.advance(hours=1)

    outcome = send(app)

    assert outcome.status == "sent" and outcome.article_count == 0 and outcome.removed_count == 1
    message = sink.messages[1]
    assert message["Subject"] == f"{TITLE}: no new articles, 1 removed, 2025-02-12 — removed: {FIRST}"
    text, html = parts(message)
    assert "No new articles · 1 removed" in text and "No new articles · 1 removed</div>" in html
    assert FIRST in section(text, "REMOVED SINCE THE LAST DIGEST", TEXT_SECTIONS)
    folder = Path(app.config.digest.archive_dir) / TOPIC
    assert "0 articles · 1 removed" in (folder / "index.html").read_text(encoding="utf-8")
    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.entries[0].summary == f"0 new article(s) from 0 outlet(s), 1 removed on {TITLE}"
    clock.advance(hours=1)
    assert send(app).status == "empty"  # reported once: nothing left to send
    assert len(sink.messages) == 2


def test_an_edit_is_reported_with_the_headline_it_replaced(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    _, edited = first_digest(app, clock)
    app.repository.record_edit(edited, title="Nanjing answers: we will grow our own dragons",
                               text="A rewritten story.", content_hash="rewritten")

    outcome = send(app)

    assert outcome.status == "sent" and outcome.edited_count == 1 and outcome.removed_count == 0
    text, html = parts(sink.messages[1])
    block = section(text, "EDITED SINCE THE LAST DIGEST", ("COVERAGE OVER TIME", "SOURCE HEALTH"))
    assert "- Nanjing answers: we will grow our own dragons" in block
    assert "Haixi Times · headline and text changed, found 2025-02-12 09:00" in block
    assert f"Headline before: {SECOND}" in block
    assert f"Headline before: {SECOND}" in html_section(html, "Edited since the last digest")
    assert [v.title for v in app.repository.article_versions(edited)] == [SECOND]
    clock.advance(hours=1)
    assert send(app).status == "empty"


def test_a_failed_digest_passes_its_takedowns_to_the_next_one(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    gone, _ = first_digest(app, clock)
    app.repository.mark_removed(gone)
    clock.advance(hours=1)
    sink.replies.append("554 5.7.1 rejected by policy")

    with pytest.raises(PermanentDeliveryError):
        send(app)
    clock.advance(hours=1)
    outcome = send(app)

    assert outcome.removed_count == 1
    assert FIRST in section(parts(sink.messages[1])[0], "REMOVED SINCE THE LAST DIGEST", TEXT_SECTIONS)
    assert [d.status for d in DigestLedger(app.engine).list_digests(TOPIC)] == ["sent", "failed", "sent"]


def test_a_takedown_noticed_while_a_digest_is_being_sent_goes_into_the_next_one(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    gone, _ = first_digest(app, clock)
    store(app.repository, "又一篇六小龙评论", source="donghai")
    real = SmtpMailer(SmtpSettings.from_config(app.config.smtp), sleep=[].append)

    def slow_server(message: EmailMessage, recipients: Sequence[str], **options: Any) -> SendReceipt:
        clock.advance(minutes=5)  # SMTP takes a while, and meanwhile a recheck finds the page gone
        app.repository.mark_removed(gone)
        return real(message, recipients, **options)

    during = send(app, sender=slow_server)
    clock.advance(hours=1)
    after = send(app)

    assert during.removed_count == 0 and after.removed_count == 1
    assert FIRST in section(parts(sink.messages[2])[0], "REMOVED SINCE THE LAST DIGEST", TEXT_SECTIONS)


def test_an_article_new_in_this_digest_and_already_gone_is_listed_in_both_sections(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    fresh = store(app.repository, FIRST)
    clock.advance(minutes=30)
    app.repository.mark_removed(fresh)

    outcome = send(app)

    assert outcome.article_count == 1 and outcome.removed_count == 1
    text, _ = parts(sink.messages[0])
    assert "NEW COVERAGE" in text and "also listed above" in section(text, "REMOVED", TEXT_SECTIONS)


def test_changes_to_articles_no_digest_of_the_topic_listed_are_not_reported(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    first_digest(app, clock)
    off_topic = store(app.repository, "南京天气预报", relevant=False, matched=())
    other_topic = store(app.repository, "宇树机器人上春晚", topic="hangzhou-robots", matched=("宇树",))
    app.repository.mark_removed(off_topic)
    app.repository.record_edit(other_topic, title="宇树机器人再上春晚", text="改写。", content_hash="x")
    clock.advance(hours=1)

    assert send(app).status == "empty"
    assert DigestLedger(app.engine).changes(TOPIC, since=None, until=clock()) == []


def test_a_preview_shows_pending_takedowns_and_records_nothing(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    gone, _ = first_digest(app, clock)
    app.repository.mark_removed(gone)

    preview = build_digest(app.digest_context(), TOPIC)

    assert FIRST in section(preview.text, "REMOVED SINCE THE LAST DIGEST", TEXT_SECTIONS)
    assert len(DigestLedger(app.engine).list_digests(TOPIC)) == 1
    assert send(app).removed_count == 1


def test_takedowns_beyond_max_per_section_are_counted_and_left_to_the_archive_page(
    database_url: str, tmp_path: Path, sink: SmtpSink, clock: FixedClock
) -> None:
    application = make_app(digest_config(database_url, tmp_path, smtp_port=sink.port, max_per_section=2), clock)
    try:
        ids = [store(application.repository, f"第{n}篇：南京六小龙") for n in range(5)]
        send(application)
        clock.advance(hours=1)
        for article_id in ids:
            application.repository.mark_removed(article_id)

        outcome = send(application)
    finally:
        application.close()

    assert outcome.removed_count == 5
    text, _ = parts(sink.messages[1])
    assert section(text, "REMOVED", TEXT_SECTIONS).count("noticed removed") == 2
    assert "...and 3 more removed articles" in text
    assert outcome.archive_text is not None
    assert outcome.archive_text.read_text(encoding="utf-8").count("noticed removed") == 5


def test_hostile_titles_of_removed_and_edited_articles_are_escaped_and_unsafe_links_dropped(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    hostile = store(app.repository, "<script>alert(1)</script> 六小龙", url="javascript:alert(1)")
    edited = store(app.repository, "<b>旧标题</b> 六小龙", source="donghai")
    send(app)
    clock.advance(hours=1)
    app.repository.mark_removed(hostile)
    app.repository.record_edit(edited, title="<img src=x onerror=alert(1)>\n新标题", text="新", content_hash="n")

    send(app)

    text, html = parts(sink.messages[1])
    assert "<script>" not in html and "<img" not in html and "<b>旧标题" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_section(html, "Removed since the last digest")
    assert "&lt;img src=x onerror=alert(1)&gt; 新标题" in html_section(html, "Edited since the last digest")
    assert "Headline before: &lt;b&gt;旧标题&lt;/b&gt; 六小龙" in html
    assert "javascript:" not in html.lower() and "javascript:" not in text.lower()
    assert all(h.startswith(("https://", "http://", "mailto:digest@mediawatch.test?"))
               for h in re.findall(r'href="([^"]*)"', html))
    assert "\n" not in sink.messages[1]["Subject"]


def test_source_health_shows_why_failing_and_silent_sources_are_unhealthy_and_skips_disabled_ones(
    database_url: str, tmp_path: Path, sink: SmtpSink, clock: FixedClock
) -> None:
    config = digest_config(database_url, tmp_path, smtp_port=sink.port)
    config["sources"] = copy.deepcopy(config["sources"])
    config["sources"][3]["enabled"] = False  # haixi-en: switched off, though its state says unhealthy
    application = make_app(config, clock)
    try:
        store(application.repository, FIRST)
        application.repository.sync_sources([(s.name, s.kind, s.url) for s in application.config.sources])
        for name, reason in (("donghai", "nothing new for 3d (limit 2d)"), ("haixi", "failed 3 runs in a row"),
                             ("haixi-en", "failed 9 runs in a row")):
            application.repository.set_health(name, healthy=False, reason=reason)
        run = application.repository.start_run("haixi", "scheduled")
        application.repository.finish_run(run, status="failed", found=0, new=0, duplicate=0, failed=0,
                                          http_status=503, error="HTTP 503 from https://haixi.example/sitemap.xml")
        send(application)
        with Session(application.engine) as session:
            still_unhealthy = session.exec(select(Source).where(Source.name == "haixi-en")).one().healthy is False
    finally:
        application.close()

    assert still_unhealthy
    text, html = parts(sink.messages[0])
    health = re.sub(r"\n  ", " ", text.split("SOURCE HEALTH")[1])  # lines wrapped at 80 columns, joined
    assert "- 东海观察: unhealthy — nothing new for 3d (limit 2d); last success never" in health
    assert ("- 海峽時報: unhealthy — failed 3 runs in a row; "
            "last error: HTTP 503 from https://haixi.example/sitemap.xml; last success never") in health
    assert "haixi-en" not in health and "Haixi Times" not in health and "failed 9 runs" not in html
    assert "nothing new for 3d (limit 2d)" in html and "failed 3 runs in a row" in html
