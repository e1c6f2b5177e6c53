"""Delivery beyond email, through Apprise, against a webhook on 127.0.0.1 (`json://` targets).

Per-topic audiences come from `[digest.topics.<topic>]`; channel URLs from
MEDIAWATCH_CHANNEL_<NAME>. Every channel is in the exactly-once ledger: a summary is
delivered once per digest, whether the send is retried inside one run (backoff), on a
later run (the channel was down), or after a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from digest.channels import AppriseSender, Summary, make_summary
from digest.config import channel_env
from digest.deliver import SmtpMailer, SmtpSettings
from digest.render import DigestLinks, render_digest
from digest.service import send_all_digests, send_digest
from scheduler.app import App
from scheduler.config import config_from_mapping
from storage.errors import ConfigError, DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from storage.ledger import DigestLedger
from storage.repository import Repository
from tests.conftest import run_cli, write_config
from tests.digest.support import (
    TITLE,
    TOPIC,
    FixedClock,
    SmtpSink,
    WebhookSink,
    digest_config,
    make_app,
    store,
)
from tests.digest.test_render import sample_view

OTHER = "hangzhou-robots"


def channel_app(
    database_url: str, tmp_path: Path, clock: FixedClock, hook: WebhookSink, *, smtp_port: int | None = None,
    recipients: tuple[str, ...] = ("analyst@example.org",), **topic_audience: Any,
) -> App:
    """Two topics: TOPIC goes to `recipients` and the webhook channel "newsroom"; OTHER keeps the defaults."""
    config = digest_config(database_url, tmp_path, smtp_port=smtp_port, recipients=("everyone@example.org",),
                           archive_url="https://digests.example.org")
    config["topics"].append({"name": OTHER, "keywords": ["宇树"]})
    config["digest"]["topics"] = {TOPIC: {"recipients": list(recipients), "channels": ["newsroom"], **topic_audience}}
    return make_app(config, clock, environ={channel_env("newsroom"): hook.url})


def mailer(app: App, port: int) -> SmtpMailer:
    settings = SmtpSettings.from_config(app.config.smtp)
    return SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, sender=settings.sender, timeout=5), sleep=[].append)


def channels(sleeps: list[float] | None = None) -> AppriseSender:
    return AppriseSender(sleep=(sleeps if sleeps is not None else []).append)


def test_a_topic_goes_to_its_own_recipients_and_channel_the_others_to_the_defaults(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    with WebhookSink() as hook:
        app = channel_app(database_url, tmp_path, clock, hook, smtp_port=sink.port, recipients=("jiangsu-desk@example.org",))
        try:
            store(app.repository, "南京为什么没有六小龙？")
            store(app.repository, "宇树机器人上春晚", topic=OTHER, matched=("宇树",))
            outcomes = send_all_digests(app.digest_context(), sender=mailer(app, sink.port), channel_sender=channels())
        finally:
            app.close()

    by_topic = {r.message["X-Mediawatch-Topic"]: r.rcpt_tos for r in sink.received}
    assert by_topic == {TOPIC: ["jiangsu-desk@example.org"], OTHER: ["everyone@example.org"]}
    assert [(o.topic, o.channels) for o in outcomes] == [(TOPIC, ("newsroom",)), (OTHER, ())]
    [summary] = hook.accepted
    assert summary["title"].startswith(f"{TITLE}: 1 new article from 1 outlet, 2025-02-12")
    assert "• 南京为什么没有六小龙？ — 江南日报" in summary["message"]
    assert f"Full digest: https://digests.example.org/{TOPIC}/2025-02-12-0800-1.html" in summary["message"]


def test_a_webhook_gets_one_summary_per_digest_even_when_the_send_is_retried(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    sleeps: list[float] = []
    with WebhookSink(statuses=[503, 502]) as hook:
        app = channel_app(database_url, tmp_path, clock, hook, smtp_port=sink.port)
        try:
            store(app.repository, "南京为什么没有六小龙？")
            first = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels(sleeps))
            clock.advance(hours=1)
            again = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels(sleeps))
            deliveries = DigestLedger(app.engine).deliveries(first.digest_id or 0)
        finally:
            app.close()

    assert [status for status, _ in hook.requests] == [503, 502, 200] and sleeps == [2.0, 4.0]
    assert len(hook.accepted) == 1 and first.channels == ("newsroom",)
    assert again.status == "empty" and len(hook.accepted) == 1 and len(sink.received) == 1
    assert [(d.channel, d.status) for d in deliveries] == [("email", "sent"), ("newsroom", "sent")]


def test_a_channel_that_was_down_gets_the_summary_once_on_a_later_run_and_the_email_is_not_repeated(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    with WebhookSink(statuses=[503, 503, 503]) as hook:  # down for the whole first run (three attempts)
        app = channel_app(database_url, tmp_path, clock, hook, smtp_port=sink.port)
        try:
            store(app.repository, "南京为什么没有六小龙？")
            first = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels())
            clock.advance(hours=1)
            second = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels())
            clock.advance(hours=1)
            third = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels())
            digests = DigestLedger(app.engine).list_digests(TOPIC)
        finally:
            app.close()

    assert first.status == "sent" and first.channels == ()  # the email went: the digest is sent
    assert any("channel newsroom not delivered, will be retried" in w for w in first.warnings)
    assert second.status == "empty" and second.retried == (f"digest {first.digest_id}: newsroom",)
    assert third.retried == ()
    assert len(hook.accepted) == 1 and hook.accepted[0]["title"] == first.subject
    assert len(sink.received) == 1 and [d.status for d in digests] == ["sent"]


def test_a_digest_left_pending_after_its_channel_took_it_is_recorded_sent_and_not_sent_again(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    with WebhookSink() as hook:
        app = channel_app(database_url, tmp_path, clock, hook, recipients=())
        try:
            store(app.repository, "南京为什么没有六小龙？")
            ledger = DigestLedger(app.engine)
            digest = ledger.claim(TOPIC, now=clock(), period_start=None)
            assert digest is not None and digest.id is not None
            ledger.open_deliveries(digest.id, TOPIC, [("newsroom", Summary("t", "b").to_json())])
            ledger.record_delivery(digest.id, "newsroom", "sent", at=clock())
            # ... and here the process died, before the digest itself was marked sent.
            clock.advance(hours=2)
            outcome = send_digest(app.digest_context(), TOPIC, channel_sender=channels())
            after = ledger.get(digest.id)
        finally:
            app.close()

    assert outcome.status == "empty" and outcome.released_stale == ()
    assert after is not None and after.status == "sent"
    assert hook.requests == []  # its articles are not sent again in a new digest


def test_a_channel_interrupted_by_a_crash_is_sent_once_on_the_next_run(
    database_url: str, tmp_path: Path, clock: FixedClock, sink: SmtpSink
) -> None:
    with WebhookSink() as hook:
        app = channel_app(database_url, tmp_path, clock, hook, smtp_port=sink.port)
        try:
            store(app.repository, "南京为什么没有六小龙？")
            ledger = DigestLedger(app.engine)
            digest = ledger.claim(TOPIC, now=clock(), period_start=None)
            assert digest is not None and digest.id is not None
            summary = Summary("the digest's summary", "• 南京为什么没有六小龙？ — 江南日报")
            ledger.open_deliveries(digest.id, TOPIC, [("email", "unused"), ("newsroom", summary.to_json())])
            ledger.record_delivery(digest.id, "email", "sent", at=clock())  # the email went; then the process died
            clock.advance(hours=2)
            outcome = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels())
            clock.advance(hours=1)
            later = send_digest(app.digest_context(), TOPIC, sender=mailer(app, sink.port), channel_sender=channels())
        finally:
            app.close()

    assert outcome.retried == (f"digest {digest.id}: newsroom",) and later.retried == ()
    assert [(b["title"], b["message"]) for b in hook.accepted] == [(summary.title, summary.body)]
    assert sink.received == []  # the email had gone already: it is not repeated


def test_a_digest_no_channel_took_is_released_to_the_next_one(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    with WebhookSink(statuses=[500] * 3) as hook:
        app = channel_app(database_url, tmp_path, clock, hook, recipients=())
        try:
            store(app.repository, "南京为什么没有六小龙？")
            with pytest.raises(TemporaryDeliveryError, match="channel 'newsroom' did not take the summary"):
                send_digest(app.digest_context(), TOPIC, channel_sender=channels())
            outcome = send_digest(app.digest_context(), TOPIC, channel_sender=channels())
        finally:
            app.close()

    assert outcome.status == "sent" and outcome.article_count == 1 and outcome.channels == ("newsroom",)
    assert len(hook.accepted) == 1


def test_a_channel_without_a_url_in_the_environment_is_a_configuration_error(database_url: str, tmp_path: Path) -> None:
    config = digest_config(database_url, tmp_path)
    config["digest"]["channels"] = ["team-wecom"]

    with pytest.raises(ConfigError, match="MEDIAWATCH_CHANNEL_TEAM_WECOM"):
        config_from_mapping(config, environ={})


def test_a_channel_url_in_the_file_is_refused_as_a_secret(database_url: str, tmp_path: Path) -> None:
    config = digest_config(database_url, tmp_path)
    config["digest"]["channel_urls"] = {"team-wecom": "wecombot://secret"}

    with pytest.raises(ConfigError, match="secrets are not read from the file"):
        config_from_mapping(config, environ={})


def test_an_audience_for_an_unknown_topic_is_a_configuration_error(database_url: str, tmp_path: Path) -> None:
    config = digest_config(database_url, tmp_path)
    config["digest"]["topics"] = {"nanjing-six-dragon": {"recipients": ["a@example.org"]}}

    with pytest.raises(ConfigError, match=r"digest\.topics\.nanjing-six-dragon: no topic named"):
        config_from_mapping(config, environ={})


@pytest.mark.parametrize("schedule", ["every day", "61 25 * * *", "0 8 * *"])
def test_a_topic_schedule_that_is_not_cron_is_a_configuration_error(database_url: str, tmp_path: Path, schedule: str) -> None:
    config = digest_config(database_url, tmp_path)
    config["digest"]["topics"] = {TOPIC: {"schedule": schedule}}

    with pytest.raises(ConfigError, match=r"digest\.topics\.nanjing-six-dragons\.schedule"):
        config_from_mapping(config, environ={})


def test_a_url_apprise_does_not_know_is_refused_without_retrying_or_naming_it() -> None:
    sleeps: list[float] = []
    with pytest.raises(PermanentDeliveryError) as caught:
        channels(sleeps)("team-wecom", "nosuchscheme://s3cret-token", Summary("t", "b"))

    assert sleeps == [] and "s3cret-token" not in str(caught.value) and isinstance(caught.value, DeliveryError)


def test_the_summary_is_short_and_links_the_archived_page() -> None:
    view = sample_view()
    page = "https://digests.example.org/nanjing-six-dragons/2025-02-12-0800-7.html"

    summary = make_summary(render_digest(view, cap=10), DigestLinks(page=page))

    lines = summary.body.splitlines()
    assert summary.title.startswith("南京“六小龙”之问 · The Nanjing question: 5 new articles")
    assert lines[0] == "• 南京为什么没有六小龙？交汇点三问引发热议 — 江南日报 (also 东海观察)"
    assert lines[3:] == ["…and 1 more storyline", f"Full digest: {page}"]
    assert "similarity" not in summary.body and "score" not in summary.body


def test_digest_send_on_the_command_line_reads_the_channel_url_from_the_environment(
    database_url: str, tmp_path: Path, repository: Repository
) -> None:
    store(repository, "南京为什么没有六小龙？")
    with WebhookSink() as hook:
        data = digest_config(database_url, tmp_path, recipients=())
        data["digest"]["topics"] = {TOPIC: {"channels": ["newsroom"]}}
        config = write_config(tmp_path / "mediawatch.toml", data)

        missing = run_cli("digest", "send", config=config)
        sent = run_cli("digest", "send", config=config, env={channel_env("newsroom"): hook.url})

    assert missing.returncode == 2 and "MEDIAWATCH_CHANNEL_NEWSROOM" in missing.stderr
    assert "Traceback" not in missing.stderr and hook.url not in sent.stdout + sent.stderr
    assert sent.returncode == 0, sent.stderr
    assert f"{TOPIC}: sent digest #1 (1 article(s)) to 0 recipient(s) and channel(s) newsroom" in sent.stdout
    assert len(hook.accepted) == 1
    listed = json.loads(run_cli("digests", "--json", config=config, env={channel_env("newsroom"): hook.url}).stdout)
    assert listed["deliveries"] == [{"channel": "newsroom", "status": "sent", "attempts": 1, "error": None}]
