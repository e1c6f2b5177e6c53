"""Feed in, email out: the whole path compared with golden files (the way rss2email keeps them).

A fictional outlet's feed and pages are served on 127.0.0.1 and crawled by the real
command line; the digest is then sent with the clock fixed, to a real SMTP server, and
its subject, text part and HTML part must equal `tests/data/golden/feed-to-email/expected.*`.
The clock is fixed (so no date needs scrubbing); the one thing replaced is the test
server's address, which changes every run, written `{base}` in the golden files. Set
MEDIAWATCH_UPDATE_GOLDEN=1 to rewrite the expected files after an intended change.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from digest.service import send_digest
from scheduler.demo.site import Route, StaticSite
from tests.conftest import TEST_DATA, run_cli, write_config
from tests.digest.support import FixedClock, SmtpSink, make_app, parts

CASE = TEST_DATA / "golden" / "feed-to-email"
NOW = datetime(2025, 2, 12, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
UPDATE = os.environ.get("MEDIAWATCH_UPDATE_GOLDEN") == "1"


def site_routes() -> dict[str, Route]:
    files = {
        "feed.xml": ("feed.xml", "application/rss+xml; charset=utf-8"),
        "2025/02/12/founder.html": ("founder.html", "text/html; charset=utf-8"),
        "en/2025/02/12/answer.html": ("answer.html", "text/html; charset=utf-8"),
        "2025/02/12/plum.html": ("plum.html", "text/html; charset=utf-8"),
    }
    return {
        path: Route(body=(CASE / "site" / name).read_bytes(), content_type=kind, templated=True)
        for path, (name, kind) in files.items()
    }


def check(name: str, actual: str, base_url: str) -> None:
    actual = actual.replace(base_url, "{base}")
    path = CASE / name
    if UPDATE:
        path.write_bytes(actual.encode("utf-8"))
    # Bytes, not text: line endings are part of what a mail client receives.
    assert actual == path.read_bytes().decode("utf-8"), f"{name} differs; see {CASE / 'README.md'}"


def test_a_feed_becomes_the_expected_digest_email(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'golden.db'}"
    with StaticSite(site_routes()) as site, SmtpSink() as sink:
        config = {
            "database": {"url": database},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [{
                "name": "nanjing-six-dragons",
                "keywords": ["六小龙", "six little dragons"],
                "seed": {
                    "title": "江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
                    "publisher": "联合早报",
                    "published": "2025-02-11",
                    "url": "https://www.zaobao.com.sg/realtime/china",
                    "summary": "Jiangsu's party media asked why Nanjing could not grow Hangzhou's six little dragons.",
                },
            }],
            "sources": [{"name": "shicheng", "kind": "feed", "url": site.url("feed.xml"), "title": "石城晚报",
                         "allow_private": True}],
            "digest": {"recipients": ["desk@example.org"], "timezone": "Asia/Shanghai",
                       "archive_dir": str(tmp_path / "digests")},
            "smtp": {"host": "127.0.0.1", "port": sink.port, "sender": "Mediawatch <digest@mediawatch.test>"},
        }
        crawled = run_cli("crawl", config=write_config(tmp_path / "mediawatch.toml", config))
        assert crawled.returncode == 0, crawled.stderr

        app = make_app(config, FixedClock(NOW))
        try:
            outcome = send_digest(app.digest_context(), "nanjing-six-dragons")
        finally:
            app.close()

    assert outcome.status == "sent" and outcome.article_count == 2
    [message] = sink.messages
    text, html = parts(message)
    check("expected.subject.txt", str(message["Subject"]) + "\n", site.base_url)
    check("expected.txt", text, site.base_url)
    check("expected.html", html, site.base_url)
