"""The issue's acceptance list, in process: a real database, a real SMTP server, an injected clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlmodel import Session, select

from digest.deliver import SmtpMailer, SmtpSettings
from digest.service import build_digest, send_all_digests, send_digest
from scheduler.app import App
from storage.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from storage.ledger import DigestLedger
from storage.models import Digest, Source
from tests.digest.support import (
    SEED,
    START,
    TITLE,
    TOPIC,
    FixedClock,
    SmtpSink,
    digest_config,
    make_app,
    parts,
    store,
)


def mailer(app: App, sleeps: list[float] | None = None, port: int | None = None) -> SmtpMailer:
    settings = SmtpSettings.from_config(app.config.smtp)
    if port is not None:
        settings = SmtpSettings(host=settings.host, port=port, sender=settings.sender, timeout=5)
    return SmtpMailer(settings, sleep=(sleeps if sleeps is not None else []).append)


def send(app: App, **kwargs: Any):  # type: ignore[no-untyped-def]
    return send_digest(app.digest_context(), TOPIC, sender=kwargs.pop("sender", None) or mailer(app), **kwargs)


def three_articles(app: App) -> list[str]:
    titles = ["南京为什么没有六小龙？", "南京為什麼沒有六小龍？", "Why Nanjing has no six little dragons"]
    store(app.repository, titles[0], source="jiangnan")
    store(app.repository, titles[1], source="haixi", language="zh-Hant")
    store(app.repository, titles[2], source="haixi-en", language="en", matched=("six little dragons",))
    return titles


def test_first_send_delivers_one_message_that_opens_with_the_original_report_and_lists_every_article(
    app: App, sink: SmtpSink
) -> None:
    titles = three_articles(app)
    store(app.repository, "Weather in Nanjing", source="donghai", relevant=False, matched=())

    outcome = send(app)

    assert outcome.status == "sent" and outcome.article_count == 3
    [message] = sink.messages
    assert message.get_content_type() == "multipart/alternative"
    assert sink.received[0].rcpt_tos == ["analyst@example.org", "desk@example.org"]
    text, html = parts(message)
    assert text.startswith(f"{TITLE}\nDigest of 2025-02-12 08:00 (Asia/Shanghai)\n")
    assert text.index(SEED["title"]) < text.index("3 new articles")
    visible = html[html.index('class="masthead"'):]  # after the hidden inbox-preview line
    assert visible.index(SEED["title"]) < visible.index("3 new articles from 3 outlets</div>")
    for title in titles:
        assert title in text and title in html
    assert "Weather in Nanjing" not in text
    digest = DigestLedger(app.engine).get(outcome.digest_id)
    assert digest is not None and digest.status == "sent" and digest.message_id == message["Message-ID"]
    assert digest.sent_at == app.clock()


def test_a_second_send_right_after_delivers_nothing(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    three_articles(app)
    send(app)
    clock.advance(minutes=1)

    outcome = send(app)

    assert outcome.status == "empty" and outcome.digest_id is None
    assert len(sink.messages) == 1
    assert [d.status for d in DigestLedger(app.engine).list_digests(TOPIC)] == ["sent"]


def test_after_new_articles_the_next_digest_holds_only_those(app: App, sink: SmtpSink, clock: FixedClock) -> None:
    three_articles(app)
    send(app)
    clock.advance(hours=24)
    store(app.repository, "第二天：南京回应六小龙之问", source="donghai", published=clock() - timedelta(hours=1))

    outcome = send(app)

    assert outcome.article_count == 1
    text, _ = parts(sink.messages[1])
    assert "第二天：南京回应六小龙之问" in text
    assert "Why Nanjing has no" not in text
    assert "1 new article from 1 outlet" in text
    assert "since the previous digest, 2025-02-12 08:00" in text
    assert "4 in all" in text  # the coverage chart still spans the topic's lifetime


def test_a_reprint_of_a_story_already_sent_is_listed_as_picked_up_not_as_new_coverage(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    # A copy of a story the readers already got was listed as new coverage, with no hint
    # that it went out before: it looked like a second story, and the original was sent twice.
    store(app.repository, "南京为什么没有六小龙？", source="jiangnan", storyline_id=7)
    send(app)
    clock.advance(hours=24)
    store(app.repository, "南京为什么没有六小龙？（转载）", source="donghai", storyline_id=7,
          url="https://donghai.example/reprint.html", fetched=clock() - timedelta(hours=2))
    store(app.repository, "南京为什么没有六小龙？（再转）", source="donghai", storyline_id=7,
          url="https://donghai.example/reprint-2.html", fetched=clock() - timedelta(hours=1))
    store(app.repository, "第二天：南京回应六小龙之问", source="haixi", published=clock() - timedelta(hours=1))

    outcome = send(app)

    assert outcome.article_count == 3  # every claimed article is in the digest, once
    message = sink.messages[1]
    text, html = parts(message)
    new = text[text.index("NEW COVERAGE"):text.index("SENT BEFORE, NOW ALSO ELSEWHERE")]
    assert "第二天：南京回应六小龙之问" in new and "转载" not in new and "南京为什么没有六小龙" not in new
    again = text[text.index("SENT BEFORE, NOW ALSO ELSEWHERE"):]
    assert "南京为什么没有六小龙？\n" in again  # the headline the readers got, not the copy's
    assert "first sent 2025-02-12 08:00" in again
    assert "now also 东海观察 (2 copies)" in again
    assert "1 new article from 1 outlet" in text and "2 copies of a story sent before" in text
    assert message["Subject"].startswith(f"{TITLE}: 1 new article from 1 outlet")
    assert html.index("第二天") < html.index("Sent before, now also elsewhere") < html.index("东海观察")


def test_an_outlets_own_copies_of_a_story_are_counted_where_it_is_listed(app: App, sink: SmtpSink) -> None:
    # "3 new articles in 1 storyline from 1 outlet" listed one article and said nothing of the
    # other two, in the email and in the archive page that is meant to hold everything.
    for n in range(3):
        store(app.repository, f"南京为什么没有六小龙？第{n}稿", source="jiangnan", storyline_id=9,
              url=f"https://jiangnan.example/round-{n}.html", fetched=START - timedelta(minutes=30 - n))

    send(app)

    text, html = parts(sink.messages[0])
    assert "3 new articles in 1 storyline from 1 outlet" in text
    assert "(2 more copies of it from the same outlet, not listed)" in text
    assert "2 more copies of it from the same outlet, not listed" in html


def test_with_smtp_down_nothing_is_recorded_as_sent_and_the_next_send_has_every_article(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    titles = three_articles(app)
    sleeps: list[float] = []
    down = mailer(app, sleeps, port=_closed_port())

    with pytest.raises(TemporaryDeliveryError, match="refused the connection"):
        send(app, sender=down)

    assert sleeps == [2.0, 4.0]
    [failed] = DigestLedger(app.engine).list_digests(TOPIC)
    assert failed.status == "failed" and "refused the connection" in (failed.error or "")
    assert list((Path(app.config.digest.archive_dir) / TOPIC).glob("*.html")) == []  # page taken back
    clock.advance(minutes=30)
    store(app.repository, "新来的一篇六小龙评论", source="donghai")

    outcome = send(app)

    assert outcome.article_count == 4
    text, _ = parts(sink.messages[0])
    assert all(title[:6] in text for title in titles) and "新来的一篇" in text
    assert "since coverage began" in text  # the failed digest did not move the period


def test_a_permanent_refusal_is_recorded_and_the_articles_stay_pending(app: App, sink: SmtpSink) -> None:
    three_articles(app)
    sink.replies.append("554 5.7.1 rejected by policy")

    with pytest.raises(PermanentDeliveryError, match="554"):
        send(app)

    [failed] = DigestLedger(app.engine).list_digests(TOPIC)
    assert failed.status == "failed" and "554 5.7.1 rejected by policy" in (failed.error or "")
    assert len(DigestLedger(app.engine).pending(TOPIC)) == 3
    assert send(app).article_count == 3


def test_an_empty_period_sends_nothing_unless_send_empty_is_set(
    database_url: str, tmp_path: Path, sink: SmtpSink, clock: FixedClock
) -> None:
    quiet = make_app(digest_config(database_url, tmp_path, smtp_port=sink.port), clock)
    try:
        assert send(quiet).status == "empty"
        assert sink.messages == [] and DigestLedger(quiet.engine).list_digests() == []
    finally:
        quiet.close()
    chatty = make_app(digest_config(database_url, tmp_path, smtp_port=sink.port, send_empty=True), clock)
    try:
        outcome = send(chatty)
    finally:
        chatty.close()

    assert outcome.status == "sent" and outcome.article_count == 0
    assert sink.messages[0]["Subject"] == f"{TITLE}: no new articles, 2025-02-12"


def test_without_recipients_the_digest_is_archived_and_recorded_without_smtp(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    nobody = make_app(digest_config(database_url, tmp_path, recipients=()), clock)
    try:
        three_articles(nobody)
        outcome = send_digest(nobody.digest_context(), TOPIC)  # the default SMTP mailer would fail: it is never called
        digest = DigestLedger(nobody.engine).get(outcome.digest_id or 0)
    finally:
        nobody.close()

    assert outcome.status == "archived" and outcome.archive_html is not None and outcome.archive_html.is_file()
    assert digest is not None and digest.status == "sent" and digest.message_id is None


def test_a_preview_renders_the_pending_articles_and_records_nothing(app: App, sink: SmtpSink) -> None:
    three_articles(app)

    preview = build_digest(app.digest_context(), TOPIC)

    assert preview.article_count == 3 and SEED["title"] in preview.text
    assert DigestLedger(app.engine).list_digests() == [] and sink.messages == []
    assert not Path(app.config.digest.archive_dir).exists()
    assert send(app).article_count == 3


def test_the_archive_feed_parses_cleanly_and_the_index_links_every_digest(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    outcomes = []
    for day in range(3):
        store(app.repository, f"第{day + 1}天 <b>六小龙</b> & “引号”\x0b", source="jiangnan")
        outcomes.append(send(app))
        clock.advance(days=1)
    folder = Path(app.config.digest.archive_dir) / TOPIC

    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    index = (folder / "index.html").read_text(encoding="utf-8")
    top_index = (folder.parent / "index.html").read_text(encoding="utf-8")

    assert feed.bozo == 0, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == [o.subject for o in reversed(outcomes)]  # newest first
    assert all(e.link.endswith(".html") for e in feed.entries)
    names = [o.archive_html.name for o in outcomes if o.archive_html]
    assert [index.index(f'href="{n}"') for n in reversed(names)] == sorted(index.index(f'href="{n}"') for n in names)
    assert all(f'href="{TOPIC}/{n}"' in top_index for n in names)
    assert feedparser.parse((folder.parent / "feed.xml").read_bytes()).bozo == 0
    assert names[0] == "2025-02-12-0800-1.html"
    assert (folder / "2025-02-12-0800-1.txt").read_text(encoding="utf-8").startswith(f"{TITLE}\nDigest of ")


def test_a_digest_left_pending_by_a_crashed_process_is_released_an_hour_later(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    three_articles(app)
    crashed = DigestLedger(app.engine).claim(TOPIC, now=clock(), period_start=None)  # then the process died
    assert crashed is not None

    assert send(app).status == "empty"  # a send in progress keeps its articles
    clock.advance(hours=1, minutes=1)
    outcome = send(app)

    assert outcome.released_stale == (crashed.id,)
    assert outcome.article_count == 3 and len(sink.messages) == 1


def test_failing_and_unhealthy_sources_are_listed_under_source_health(app: App, sink: SmtpSink) -> None:
    three_articles(app)
    app.repository.sync_sources([(s.name, s.kind, s.url) for s in app.config.sources])
    run = app.repository.start_run("donghai", "scheduled")
    app.repository.finish_run(run, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=503,
                              error="HTTP 503 Service Unavailable from https://donghai.example/")
    with Session(app.engine) as session:
        source = session.exec(select(Source).where(Source.name == "haixi")).one()
        source.healthy, source.unhealthy_reason = False, "10 failed crawls in a row"
        session.add(source)
        session.commit()

    send(app)

    text, html = parts(sink.messages[0])
    text = text.replace("\n  ", " ")  # join the lines wrapped at 80 columns
    assert "- 东海观察: last crawl failed — HTTP 503 Service Unavailable from https://donghai.example/" in text
    assert "- 海峽時報: unhealthy — 10 failed crawls in a row; last success never" in text
    assert "江南日报" not in text.split("SOURCE HEALTH")[1]
    assert "10 failed crawls in a row" in html


def test_an_archive_that_cannot_be_written_fails_the_digest_and_keeps_the_articles(
    database_url: str, tmp_path: Path, sink: SmtpSink, clock: FixedClock
) -> None:
    blocker = tmp_path / "not-a-folder"
    config = digest_config(database_url, tmp_path, smtp_port=sink.port)
    config["digest"]["archive_dir"] = str(blocker)
    application = make_app(config, clock)
    # After loading: a file in the folder's place at load time is already a configuration error.
    blocker.write_text("a file where the archive folder should be")
    try:
        three_articles(application)
        with pytest.raises(DeliveryError, match="cannot write the digest archive"):
            send(application)
        pending = DigestLedger(application.engine).pending(TOPIC)
        with Session(application.engine) as session:
            statuses = session.exec(select(Digest.status)).all()
    finally:
        application.close()

    assert len(pending) == 3 and statuses == ["failed"] and sink.messages == []


def test_the_daemon_job_sends_every_topic_and_one_failure_does_not_stop_the_others(
    database_url: str, tmp_path: Path, sink: SmtpSink, clock: FixedClock
) -> None:
    config = digest_config(database_url, tmp_path, smtp_port=sink.port)
    config["topics"].append({"name": "hangzhou-robots", "keywords": ["宇树"]})
    application = make_app(config, clock)
    try:
        store(application.repository, "南京六小龙之问")
        store(application.repository, "宇树机器人上春晚", topic="hangzhou-robots", matched=("宇树",))
        sink.replies.append("554 5.7.1 rejected")  # the first topic's message is refused for good

        first = send_all_digests(application.digest_context(), sender=mailer(application))
        outcomes = send_all_digests(application.digest_context(), sender=mailer(application))
    finally:
        application.close()

    # One outcome per topic: the failed one carries its error, the other was sent anyway.
    assert [(o.topic, o.status) for o in first] == [(TOPIC, "failed"), ("hangzhou-robots", "sent")]
    assert "554" in (first[0].error or "")
    assert [m["X-Mediawatch-Topic"] for m in sink.messages] == ["hangzhou-robots", TOPIC]
    assert [(o.topic, o.sent, o.article_count) for o in outcomes] == [(TOPIC, True, 1), ("hangzhou-robots", False, 0)]


def _closed_port() -> int:
    from tests.digest.support import free_port

    return free_port()


# -- issue 12, finding 7 ------------------------------------------------------------------------
def test_a_digest_is_recorded_sent_when_the_server_accepts_it_not_after_quit(app: App, sink: SmtpSink) -> None:
    three_articles(app)
    seen_at_quit: list[list[str]] = []
    sink.on_quit = lambda: seen_at_quit.append([d.status for d in DigestLedger(app.engine).list_digests(TOPIC)])

    outcome = send(app)

    assert seen_at_quit == [["sent"]]  # already recorded while the server was still answering QUIT
    [delivery] = DigestLedger(app.engine).deliveries(outcome.digest_id or 0)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)


def test_a_message_whose_reply_was_lost_is_retried_as_the_same_message_never_as_a_new_digest(
    app: App, sink: SmtpSink, clock: FixedClock
) -> None:
    three_articles(app)
    sink.drop_after_data = 3  # every attempt of the first run: the message arrives, the 250 never does

    first = send(app)
    clock.advance(minutes=10)
    second = send(app)  # the server answers again: the same bytes go out once more, and are confirmed
    clock.advance(minutes=10)
    third = send(app)

    assert first.status == "sent" and any("unconfirmed" in w for w in first.warnings)
    assert second.status == "empty" and second.retried == (f"digest {first.digest_id}: email",)
    assert third.status == "empty" and third.retried == ()
    assert len(sink.received) == 4
    assert {r.message["Message-ID"] for r in sink.received} == {first.message_id}
    assert len({r.raw for r in sink.received}) == 1
    ledger = DigestLedger(app.engine)
    assert [(d.status, d.article_count) for d in ledger.list_digests(TOPIC)] == [("sent", 3)]
    [delivery] = ledger.deliveries(first.digest_id or 0)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
