"""SMTP delivery against a real aiosmtpd server on 127.0.0.1; backoff sleeps are recorded, not slept."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from digest.deliver import SmtpMailer, SmtpSettings, compose_message, make_message_id
from digest.render import render_digest
from digest.select import select_digest
from storage.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnconfirmedDeliveryError,
)
from tests.digest.support import SmtpSink, free_port, parts
from tests.digest.test_render import HOSTILE, SHANGHAI, sample_articles, sample_view

NOW = datetime(2025, 2, 12, 0, 0, tzinfo=UTC)
SENDER = "Mediawatch <digest@mediawatch.test>"
RECIPIENTS = ("analyst@example.org", "desk@example.org")


def message(digest_id: int = 7):  # type: ignore[no-untyped-def]
    return compose_message(
        render_digest(sample_view(), cap=20), sender=SENDER, recipients=RECIPIENTS, now=NOW, digest_id=digest_id
    )


def mailer(port: int, sleeps: list[float], **settings: object) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout=5, **settings),  # type: ignore[arg-type]
        sleep=sleeps.append,
    )


def test_one_multipart_alternative_message_reaches_every_recipient() -> None:
    sleeps: list[float] = []
    with SmtpSink() as sink:
        mailer(sink.port, sleeps)(message(), RECIPIENTS)

    [received] = sink.received
    assert received.mail_from == "digest@mediawatch.test"
    assert received.rcpt_tos == list(RECIPIENTS)
    email = received.message
    assert email.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in email.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in email.iter_parts())
    text, html = parts(email)
    assert "江苏官媒三问南京" in text and "江苏官媒三问南京" in html
    assert sleeps == []


def test_headers_name_topic_count_and_date_and_come_from_the_injected_clock() -> None:
    with SmtpSink() as sink:
        mailer(sink.port, [])(message(digest_id=7), RECIPIENTS)

    email = sink.messages[0]
    assert email["Subject"].startswith("南京“六小龙”之问 · The Nanjing question: 5 new articles from 4 outlets, 2025-02-12 — 南京为什么没有")
    assert parsedate_to_datetime(email["Date"]) == NOW
    assert email["Message-ID"] == make_message_id("nanjing-six-dragons", 7, NOW, SENDER)
    assert email["Message-ID"].endswith("@mediawatch.test>")
    assert email["List-Unsubscribe"] == "<mailto:digest@mediawatch.test?subject=unsubscribe>"
    assert email["From"] == SENDER
    assert email["To"] == "analyst@example.org, desk@example.org"


def test_a_newline_in_a_scraped_title_cannot_break_or_inject_headers() -> None:
    assert "\n" in HOSTILE and "Bcc:" in HOSTILE
    hostile_only = select_digest(
        "t", [sample_articles()[4]], now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[]
    )
    sent = compose_message(render_digest(hostile_only), sender=SENDER, recipients=RECIPIENTS, now=NOW, digest_id=1)
    with SmtpSink() as sink:
        mailer(sink.port, [])(sent, RECIPIENTS)

    email = sink.messages[0]
    assert email["Bcc"] is None
    assert sink.received[0].rcpt_tos == list(RECIPIENTS)
    subject = email["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert subject == 't: 1 new article from 1 outlet, 2025-02-12 — Nanjing <script>alert(1)</script> & the "dragons" Bcc…'


def test_a_temporary_refusal_is_retried_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    with SmtpSink(replies=["421 4.3.2 busy, try later", "451 4.3.0 local error"]) as sink:
        mailer(sink.port, sleeps)(message(), RECIPIENTS)

    assert sink.rejected == 2 and len(sink.received) == 1
    assert sleeps == [2.0, 4.0]


def test_a_permanent_refusal_raises_at_once_without_retrying() -> None:
    sleeps: list[float] = []
    with SmtpSink(replies=["554 5.6.0 message refused"]) as sink, pytest.raises(PermanentDeliveryError) as caught:
        mailer(sink.port, sleeps)(message(), RECIPIENTS)

    assert "554" in str(caught.value) and f"127.0.0.1:{sink.port}" in str(caught.value)
    assert sleeps == [] and sink.received == []


def test_a_server_that_is_down_is_a_temporary_failure_after_every_attempt() -> None:
    sleeps: list[float] = []
    port = free_port()  # nothing listens there

    with pytest.raises(TemporaryDeliveryError) as caught:
        mailer(port, sleeps)(message(), RECIPIENTS)

    assert str(caught.value) == f"SMTP server 127.0.0.1:{port} refused the connection (is it running?) (after 3 attempts)"
    assert sleeps == [2.0, 4.0]
    assert isinstance(caught.value, DeliveryError)


AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@AUTH_WITHOUT_TLS
def test_login_uses_the_username_and_the_password_from_the_environment_setting() -> None:
    with SmtpSink(credentials=("mediawatch", "s3cret")) as sink:
        mailer(sink.port, [], username="mediawatch", password="s3cret")(message(), RECIPIENTS)

    assert sink.logins == ["mediawatch"] and len(sink.received) == 1


@AUTH_WITHOUT_TLS
def test_a_refused_login_is_permanent_and_names_the_password_variable() -> None:
    sleeps: list[float] = []
    with SmtpSink(credentials=("mediawatch", "s3cret")) as sink, pytest.raises(PermanentDeliveryError) as caught:
        mailer(sink.port, sleeps, username="mediawatch", password="wrong")(message(), RECIPIENTS)

    assert "MEDIAWATCH_SMTP_PASSWORD" in str(caught.value) and "wrong" not in str(caught.value)
    assert sleeps == [] and sink.received == []


def test_starttls_against_a_server_without_it_is_permanent() -> None:
    with SmtpSink() as sink, pytest.raises(PermanentDeliveryError, match="starttls"):
        mailer(sink.port, [], starttls=True)(message(), RECIPIENTS)


def test_the_password_never_appears_in_the_settings_repr() -> None:
    assert "s3cret" not in repr(SmtpSettings(password="s3cret"))


# -- issue 12, finding 7: recorded on the 250 to DATA; a lost reply repeats the same message ------
def test_a_line_starting_with_from_arrives_unmangled() -> None:
    first = render_digest(sample_view(first=True), cap=20)
    assert "\nFrom 7 February 2025" in first.text  # the original report's summary starts a line with "From "
    sent = compose_message(first, sender=SENDER, recipients=RECIPIENTS, now=NOW, digest_id=1)
    with SmtpSink() as sink:
        mailer(sink.port, [])(sent, RECIPIENTS)

    [received] = sink.received
    text, html = parts(received.message)
    assert "\nFrom 7 February 2025" in text and ">From" not in text
    assert ">>From" not in html


def test_the_acceptance_is_reported_before_quit() -> None:
    events: list[str] = []
    with SmtpSink(on_quit=lambda: events.append("quit")) as sink:
        mailer(sink.port, [])(message(), RECIPIENTS, on_accepted=lambda receipt: events.append("accepted"))

    assert events == ["accepted", "quit"] and len(sink.received) == 1


def test_a_connection_lost_after_data_is_retried_as_the_same_message_and_reported_unconfirmed() -> None:
    sleeps: list[float] = []
    with SmtpSink(drop_after_data=3) as sink, pytest.raises(UnconfirmedDeliveryError) as caught:
        mailer(sink.port, sleeps)(message(digest_id=7), RECIPIENTS)

    assert len(sink.received) == 3 and sleeps == [2.0, 4.0]
    assert {r.message["Message-ID"] for r in sink.received} == {make_message_id("nanjing-six-dragons", 7, NOW, SENDER)}
    assert len({r.raw for r in sink.received}) == 1  # byte for byte the same message
    assert "never confirmed" in str(caught.value)


def test_a_refusal_after_data_is_not_mistaken_for_a_lost_reply() -> None:
    with SmtpSink(replies=["554 5.6.0 refused"]) as sink, pytest.raises(PermanentDeliveryError):
        mailer(sink.port, [])(message(), RECIPIENTS)

    assert sink.received == []
