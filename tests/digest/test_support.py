"""The digest test helpers do what the other tests rely on."""

from __future__ import annotations

from datetime import timedelta

from tests.digest.support import START, FixedClock, SmtpSink, WebhookSink


def test_smtp_sink_accepts_after_scripted_refusals() -> None:
    import smtplib

    with SmtpSink(replies=["421 4.3.2 try again later"]) as sink:
        for subject in ("x", "y"):  # smtplib hangs up after a 421, so each try is a new connection
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
                try:
                    client.sendmail("a@example.org", ["b@example.org"], f"Subject: {subject}\r\n\r\nbody\r\n")
                except smtplib.SMTPDataError as exc:
                    assert exc.smtp_code == 421
    assert sink.rejected == 1
    assert [m["Subject"] for m in sink.messages] == ["y"]


def test_fixed_clock_moves_only_when_advanced() -> None:
    clock = FixedClock()
    assert clock() == START
    assert clock.advance(hours=2) == START + timedelta(hours=2) == clock()


def test_webhook_sink_answers_as_scripted_and_keeps_what_it_accepted() -> None:
    import urllib.error
    import urllib.request

    with WebhookSink(statuses=[503]) as hook:
        url = hook.url.replace("json://", "http://")
        for body in (b'{"n": 1}', b'{"n": 2}'):
            try:
                urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 503
    assert [status for status, _ in hook.requests] == [503, 200]
    assert hook.accepted == [{"n": 2}]
