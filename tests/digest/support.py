"""Shared helpers for the digest tests: a real SMTP server, a settable clock, stored articles.

The helpers' own behaviour is pinned in `test_support.py`, so a broken helper fails
loudly instead of making other tests lie.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from scheduler.app import App, build_app
from scheduler.config import config_from_mapping
from storage.models import Article
from storage.repository import Repository
from storage.types import TopicMatch

TOPIC = "nanjing-six-dragons"
TITLE = "南京“六小龙”之问"  # the topic's display title: the masthead and the subject
START = datetime(2025, 2, 12, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai

SEED = {
    "title": "江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
    "publisher": "联合早报",
    "published": "2025-02-11",
    "url": "https://www.zaobao.com.sg/realtime/china/story20250211",
    "summary": "From 7 February 2025 Jiangsu's party paper asked in three pieces why Nanjing could not grow "
               "Hangzhou's 'six little dragons'.",
}

SOURCES = [
    {"name": "jiangnan", "kind": "feed", "url": "https://jiangnan.example/rss.xml", "title": "江南日报"},
    {"name": "donghai", "kind": "listing", "url": "https://donghai.example/", "link_selector": "a", "title": "东海观察"},
    {"name": "haixi", "kind": "sitemap", "url": "https://haixi.example/sitemap.xml", "title": "海峽時報"},
    {"name": "haixi-en", "kind": "sitemap", "url": "https://haixi.example/en/sitemap.xml", "title": "Haixi Times"},
]


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""  # the message data exactly as it arrived


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.replies:
            reply = self.sink.replies.pop(0)
            if not reply.startswith("250"):
                self.sink.rejected += 1
                return reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, envelope.content))
        if self.sink.drop_after_data > 0:
            # The whole message arrived, then the connection dies before the reply to DATA.
            self.sink.drop_after_data -= 1
            server.transport.abort()
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.on_quit is not None:
            self.sink.on_quit()
        return "221 Bye"


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps what it accepts.

    `replies` scripts the answers to DATA, first to last ("421 …" to ask for a
    retry, "554 …" to refuse for good); once it is empty every message is accepted.
    `drop_after_data` makes that many deliveries end with the connection cut after the
    message arrived and before the reply (the message is kept: it reached the server).
    `on_quit` runs when a client sends QUIT, before the server answers it.
    """

    port: int = field(default_factory=free_port)
    replies: list[str] = field(default_factory=list)
    credentials: tuple[str, str] | None = None  # require AUTH with this login and password
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rejected: int = 0
    drop_after_data: int = 0
    on_quit: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        options: dict[str, Any] = {}
        if self.credentials is not None:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        login = auth_data.login.decode()
        self.logins.append(login)
        return AuthResult(success=(login, auth_data.password.decode()) == self.credentials, handled=False)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


class WebhookSink:
    """A webhook receiver on 127.0.0.1 (what Apprise's json:// target posts to).

    `statuses` scripts the HTTP answers, first to last (503 to fail); once it is empty
    every request gets 200. `accepted` holds the JSON bodies answered 2xx: what the
    channel's readers would see. `url` is the Apprise URL of the hook.
    """

    def __init__(self, statuses: Sequence[int] = ()) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[int, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = sink.statuses.pop(0) if sink.statuses else 200
                sink.requests.append((status, json.loads(body or b"{}")))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [body for status, body in self.requests if 200 <= status < 300]

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def digest_config(
    database_url: str,
    tmp_path: Path,
    *,
    smtp_port: int | None = None,
    recipients: Sequence[str] = ("analyst@example.org", "desk@example.org"),
    **digest: Any,
) -> dict[str, Any]:
    """A configuration dict for one topic and four sources, with digests under tmp_path."""
    return {
        "database": {"url": database_url},
        "topics": [{"name": TOPIC, "title": TITLE, "keywords": ["六小龙", "six little dragons", "DeepSeek"], "seed": SEED}],
        "sources": SOURCES,
        "digest": {
            "recipients": list(recipients),
            "timezone": "Asia/Shanghai",
            "archive_dir": str(tmp_path / "digests"),
            **digest,
        },
        "smtp": {"host": "127.0.0.1", "port": smtp_port or free_port(), "sender": "Mediawatch <digest@mediawatch.test>"},
    }


def make_app(config: dict[str, Any], clock: FixedClock, environ: dict[str, str] | None = None) -> App:
    return build_app(config_from_mapping(config, environ=environ or {}), clock=clock)


def store(
    repository: Repository,
    title: str,
    *,
    source: str = "jiangnan",
    text: str | None = None,
    url: str | None = None,
    published: datetime | None = None,
    fetched: datetime | None = None,
    language: str = "zh-Hans",
    score: float = 0.67,
    matched: Sequence[str] = ("六小龙",),
    relevant: bool = True,
    content_hash: str | None = None,
    storyline_id: int | None = None,
    topic: str = TOPIC,
) -> int:
    """Store one article as the crawler would, matched (or not) to one topic."""
    text = text if text is not None else f"{title}。南京能否培育出自己的六小龙，是这几天讨论的焦点。"
    article = Article(
        url=url or f"https://{source}.example/{hashlib.sha1(title.encode()).hexdigest()[:10]}.html",
        source_name=source,
        title=title,
        published_at=published or START - timedelta(hours=2),
        fetched_at=fetched or START - timedelta(hours=1),
        language=language,
        text=text,
        content_hash=content_hash or hashlib.sha256(text.encode()).hexdigest(),
        storyline_id=storyline_id,
    )
    article_id = repository.add_article(article, [TopicMatch(topic, score, relevant, tuple(matched))])
    assert article_id is not None, f"{article.url} was already stored"
    return article_id


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative digest."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


# -- the helpers' own behaviour --------------------------------------------------------
