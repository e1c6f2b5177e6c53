"""Archive-only digests (no recipients, no channels) and readers who come later.

`make demo` and a first `digest send` before anyone is on the list archive digests
for nobody. Those digests used to count as sent, so when recipients were added the
first email said "nothing new": everything so far had gone to the archive alone. An
archive-only digest advances the archive, but its articles stay owed to readers: the
next digest with someone to send to carries them, as the readers' first digest. A
channel added while others already receive digests starts with the next one, like a
new subscriber to a mailing list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from digest.channels import AppriseSender
from digest.config import channel_env
from digest.deliver import SmtpMailer, SmtpSettings
from digest.service import build_digest, send_digest
from scheduler.app import App
from storage.ledger import DigestLedger
from tests.digest.support import (
    SEED,
    TOPIC,
    FixedClock,
    SmtpSink,
    WebhookSink,
    digest_config,
    make_app,
    parts,
    store,
)


def mailer(app: App, port: int) -> SmtpMailer:
    settings = SmtpSettings.from_config(app.config.smtp)
    return SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender=settings.sender, timeout=5), sleep=[].append)


def with_audience(database_url: str, tmp_path: Path, clock: FixedClock, *, port: int | None = None,
                  recipients: tuple[str, ...] = (), hook: WebhookSink | None = None) -> App:
    config: dict[str, Any] = digest_config(database_url, tmp_path, smtp_port=port, recipients=recipients)
    environ = {}
    if hook is not None:
        config["digest"]["channels"] = ["newsroom"]
        environ = {channel_env("newsroom"): hook.url}
    return make_app(config, clock, environ=environ)


def test_articles_archived_for_nobody_go_to_the_first_recipients(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    nobody = with_audience(database_url, tmp_path, clock)
    try:
        store(nobody.repository, "南京为什么没有六小龙？")
        store(nobody.repository, "南京為什麼沒有六小龍？", source="haixi", language="zh-Hant")
        first = send_digest(nobody.digest_context(), TOPIC)
        clock.advance(hours=24)
        store(nobody.repository, "江苏官媒再问六小龙")
        second = send_digest(nobody.digest_context(), TOPIC)
    finally:
        nobody.close()
    # The archive advances: each archive-only digest holds what was new since the last one.
    assert (first.status, first.article_count, second.status, second.article_count) == ("archived", 2, "archived", 1)

    clock.advance(hours=24)
    desk = with_audience(database_url, tmp_path, clock, port=sink.port, recipients=("desk@example.org",))
    try:
        store(desk.repository, "杭州六小龙的启示")
        preview = build_digest(desk.digest_context(), TOPIC)
        sent = send_digest(desk.digest_context(), TOPIC, sender=mailer(desk, sink.port))
        clock.advance(hours=1)
        again = send_digest(desk.digest_context(), TOPIC, sender=mailer(desk, sink.port))
        ledger = DigestLedger(desk.engine)
        held = [item.article.title for item in ledger.articles_of(sent.digest_id or 0)]
    finally:
        desk.close()

    # The readers' first digest: everything they never got, opening with the original report in full.
    assert preview.article_count == 4
    assert (sent.status, sent.article_count) == ("sent", 4)
    [message] = sink.messages
    text, _ = parts(message)
    assert "4 new articles" in text and SEED["summary"][:40] in text
    for title in ("南京为什么没有六小龙？", "南京為什麼沒有六小龍？", "江苏官媒再问六小龙", "杭州六小龙的启示"):
        assert title in text and title in held
    assert again.status == "empty"


def test_a_channel_added_while_email_goes_out_starts_with_the_next_digest(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    desk = with_audience(database_url, tmp_path, clock, port=sink.port, recipients=("desk@example.org",))
    try:
        store(desk.repository, "南京为什么没有六小龙？")
        send_digest(desk.digest_context(), TOPIC, sender=mailer(desk, sink.port))
    finally:
        desk.close()
    clock.advance(hours=24)
    with WebhookSink() as hook:
        both = with_audience(database_url, tmp_path, clock, port=sink.port, recipients=("desk@example.org",), hook=hook)
        try:
            store(both.repository, "江苏官媒再问六小龙")
            outcome = send_digest(both.digest_context(), TOPIC, sender=mailer(both, sink.port),
                                  channel_sender=AppriseSender(sleep=[].append))
        finally:
            both.close()
    # The webhook gets what is new, not the email's back issues: a new subscriber.
    assert (outcome.status, outcome.article_count, outcome.channels) == ("sent", 1, ("newsroom",))
    [summary] = hook.accepted
    assert "1 new article" in summary["title"]


def test_recipients_removed_and_added_again_get_what_was_archived_meanwhile(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    desk = with_audience(database_url, tmp_path, clock, port=sink.port, recipients=("desk@example.org",))
    nobody = with_audience(database_url, tmp_path, clock)
    try:
        store(desk.repository, "南京为什么没有六小龙？")
        send_digest(desk.digest_context(), TOPIC, sender=mailer(desk, sink.port))
        clock.advance(hours=24)
        store(nobody.repository, "江苏官媒再问六小龙")
        assert send_digest(nobody.digest_context(), TOPIC).status == "archived"
        clock.advance(hours=24)
        store(desk.repository, "杭州六小龙的启示")
        back = send_digest(desk.digest_context(), TOPIC, sender=mailer(desk, sink.port))
    finally:
        desk.close()
        nobody.close()
    assert (back.status, back.article_count) == ("sent", 2)
    text, _ = parts(sink.messages[-1])
    assert "江苏官媒再问六小龙" in text and "杭州六小龙的启示" in text and "南京为什么没有六小龙" not in text
