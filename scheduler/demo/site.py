"""A small HTTP server on 127.0.0.1 serving a folder of pages: the demo's site, and the tests' fixtures.

`load_site` reads a folder's `routes.json` (path → file, content type, status,
headers); `StaticSite` serves the routes and records every request, so tests can
assert what was fetched and with which headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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

    def __init__(self, routes: Mapping[str, Route], *, port: int = 0) -> None:
        self.routes: dict[str, Route] = dict(routes)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posted: list[tuple[str, bytes]] = []  # (path, body) of each POST, also counted in requests
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="static-site", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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

            def do_POST(self) -> None:
                # Answered like a GET (fixtures of form endpoints); the body is read so the connection stays sane.
                length = int(self.headers.get("Content-Length") or 0)
                site.posted.append((self.path.split("?", 1)[0], self.rfile.read(length) if length else b""))
                self.do_GET()

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


def load_site(folder: Path) -> dict[str, Route]:
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
