"""`mediawatch demo`: a bundled demo site on 127.0.0.1, crawled into a fresh database.

The site (`scheduler/demo_site/`) is fictional coverage written for mediawatch in the
style of Chinese outlets, with the traps real sites set: a GBK page behind a wrong
charset header, a Big5 page, an off-topic item, a syndicated copy, robots.txt.
`StaticSite` is also what the tests use to serve fixtures.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEMO_SITE = Path(__file__).parent / "demo_site"
TEMPLATED_SUFFIXES = (".xml", ".json", ".html", ".htm", ".txt")


@dataclass
class Route:
    """One path the site answers: a file or a body, with the headers to send."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts, slow sites)
    templated: bool = False  # replace "{base}" with the server's base URL
    fail_first: int = 0  # answer the first N requests with 503 (retry tests)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, size limits) are expected here, not errors.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StaticSite:
    """A threaded HTTP server on 127.0.0.1 serving `Route`s; records every request.

    Feeds get an ETag and honour If-None-Match, so conditional GET is real.
    """

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes: dict[str, Route] = dict(routes)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="static-site", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == "/" + path.lstrip("/"))

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                site.requests.append((path, {k: v for k, v in self.headers.items()}))
                route = site.routes.get(path.lstrip("/")) or (site.routes.get("") if path == "/" else None)
                if route is None:
                    return self._send(404, b"not found", "text/plain; charset=utf-8", {})
                if route.fail_first and site.hits(path) <= route.fail_first:
                    return self._send(503, b"try again", "text/plain; charset=utf-8", {})
                if route.delay:
                    time.sleep(route.delay)
                body = route.body
                if route.templated:
                    body = body.replace(b"{base}", site.base_url.encode())
                headers = dict(route.headers)
                if (route.status == 200 and "feed" in route.content_type) or route.content_type.startswith(
                    ("application/rss", "application/atom", "application/xml")
                ):
                    import hashlib

                    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    headers.setdefault("ETag", etag)
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        return self._send(304, b"", None, headers)
                self._send(route.status, body, route.content_type, headers)

            def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
                    if content_type:
                        self.send_header("Content-Type", content_type)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body and status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests); nothing to do

        return Handler


def load_site(folder: Path = DEMO_SITE) -> dict[str, Route]:
    """Read a site folder's `routes.json` into routes."""
    manifest = json.loads((folder / "routes.json").read_text(encoding="utf-8"))
    routes = {}
    for path, spec in manifest.items():
        file = folder / spec["file"]
        routes[path] = Route(
            body=file.read_bytes(),
            content_type=spec.get("content_type", "text/html; charset=utf-8"),
            status=int(spec.get("status", 200)),
            headers=dict(spec.get("headers", {})),
            templated=file.suffix in TEMPLATED_SUFFIXES,
        )
    return routes


def demo_sources(base_url: str, folder: Path = DEMO_SITE) -> list[dict[str, Any]]:
    """The demo's [[sources]], pointing at a running demo site."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    sources = []
    for spec in expected["sources"]:
        source: dict[str, Any] = {
            "name": spec["name"],
            "kind": spec["kind"],
            "url": f"{base_url}/{spec['path']}",
            "title": spec.get("title"),
            "every": "30m",
            "allow_private": True,  # the demo site lives on 127.0.0.1
        }
        if spec.get("link_selector"):
            source["link_selector"] = spec["link_selector"]
        sources.append(source)
    return sources


DEMO_TOPIC: dict[str, Any] = {
    "name": "nanjing-six-dragons",
    "keywords": ["六小龙", "six little dragons", "杭州六小龙", "DeepSeek", "深度求索", "宇树", "Unitree"],
    "seed": {
        "title": "江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
        "publisher": "联合早报",
        "published": "2025-02-11",
        "url": "https://www.zaobao.com.sg/realtime/china",
        "summary": (
            "On 7–8 February 2025 Jiaohuidian, the new-media arm of Jiangsu's party paper Xinhua Daily, "
            "ran three pieces asking why Nanjing could not produce Hangzhou's 'six little dragons' "
            "(DeepSeek, Unitree, Game Science, DeepRobotics, BrainCo, Manycore)."
        ),
    },
}


def demo_config(base_url: str, directory: Path) -> dict[str, Any]:
    """The embedded demo configuration: SQLite and digests under `directory`."""
    return {
        "database": {"url": f"sqlite:///{(directory / 'mediawatch.db').resolve()}"},
        "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 10},
        "topics": [DEMO_TOPIC],
        "sources": demo_sources(base_url),
        "digest": {"archive_dir": str((directory / "digests").resolve())},
    }


@dataclass(frozen=True)
class DemoResult:
    results: list[Any]  # one SourceResult per demo source
    stored: list[Any]  # StoredArticle, newest first
    database: Path
    digest_html: Path | None
    digest_text: Path | None


def run_demo(directory: Path, *, progress: Any = None) -> DemoResult:
    """Serve the demo site, crawl it into a fresh database under `directory`, write a digest."""
    from digest.service import send_digest
    from scheduler.app import build_app, crawl
    from scheduler.config import config_from_mapping

    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)  # a fresh start every time, so the demo always shows new articles
    directory.mkdir(parents=True)
    with StaticSite(load_site()) as site:
        if progress is not None:
            progress.print(f"demo site serving on {site.base_url}")
        config = config_from_mapping(demo_config(site.base_url, directory), environ={})
        application = build_app(config)
        try:
            results = crawl(application, None, trigger="demo")
            stored = application.repository.list_articles(relevant_only=False, limit=None)
            # No recipients are configured, so the digest is archived, not mailed.
            outcome = send_digest(application, DEMO_TOPIC["name"])
        finally:
            application.close()
    return DemoResult(results, stored, directory / "mediawatch.db", outcome.archive_html, outcome.archive_text)
