"""A loopback HTTP server that misbehaves the way real sites do, one fault per path.

`FaultServer` answers on 127.0.0.1 with a healthy route table (`Route`s, as the demo
site's `StaticSite`) plus the faults in `FAULTS`: error statuses, 429 with
Retry-After, redirect loops and escapes, stalls, drips, truncated and oversized
bodies (with a Content-Length and chunked without one), a gzip bomb, wrong content
types, broken feeds and hostile markup. It records every request and the largest
number it was answering at once, so tests can assert politeness as well as outcomes.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scheduler.demo.site import Route

# Article pages are judged by length: give the healthy ones real paragraphs.
PARAGRAPH = "杭州六小龙引发南京反思，江苏官媒连发三问，讨论创新环境与产业生态，专家认为政策需要更加开放。"


def article_html(title: str, paragraphs: int = 6, *, charset: str = "utf-8", extra: str = "") -> bytes:
    """A plain article page whose headline is `title`."""
    body = "".join(f"<p>{PARAGRAPH}{i}</p>" for i in range(paragraphs))
    page = (
        f"<html><head><meta charset='{charset}'><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1>{extra}{body}</article></body></html>"
    )
    return page.encode(charset)


def rss(items: list[tuple[str, str]], *, encoding: str = "utf-8", declared: str | None = "utf-8") -> bytes:
    """An RSS 2.0 feed of (title, link) items; `declared` is what the XML declaration claims."""
    head = f"<?xml version='1.0' encoding='{declared}'?>" if declared else ""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        "<pubDate>Sun, 09 Feb 2025 10:00:00 +0800</pubDate></item>"
        for title, link in items
    )
    return f"{head}<rss version='2.0'><channel><title>t</title>{entries}</channel></rss>".encode(encoding)


@dataclass(frozen=True)
class Fault:
    """A path that misbehaves: `serve(handler)` writes whatever it likes to the socket."""

    serve: Callable[[BaseHTTPRequestHandler], None]
    description: str


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", content_type: str | None = "text/html",
          headers: Mapping[str, str] | None = None, length: int | None = None) -> None:
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)


def status(code: int, **headers: str) -> Fault:
    return Fault(lambda h: _send(h, code, b"<html><body>error</body></html>", headers=headers), f"HTTP {code}")


def redirect(location: str) -> Fault:
    """A 302 to `location`; "{base}" is replaced by the server's base URL."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        base = f"http://127.0.0.1:{h.server.server_address[1]}"
        _send(h, 302, b"", headers={"Location": location.replace("{base}", base)})

    return Fault(serve, f"redirect to {location}")


def stall(seconds: float = 30) -> Fault:
    """Accept the request and say nothing (until the client gives up)."""
    return Fault(lambda h: time.sleep(seconds), "stall")


def drip(seconds: float = 30) -> Fault:
    """Send headers, then one byte a second: each read succeeds, the page never ends."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            h.wfile.write(b"<")
            h.wfile.flush()
            time.sleep(0.5)

    return Fault(serve, "drip")


def truncated() -> Fault:
    """Promise 50 000 bytes, send 1 000 and hang up."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", "50000")
        h.end_headers()
        h.wfile.write(article_html("截断")[:1000])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    return Fault(serve, "truncated body")


def reset() -> Fault:
    """Read the request and abort the connection (a TCP RST) before any answer."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        # Linger 0 turns close() into a reset; the handler's files hold the socket open until closed too.
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.rfile.close()
        h.wfile.close()
        h.connection.close()

    return Fault(serve, "connection reset")


def huge(megabytes: int = 20) -> Fault:
    body = b"<html><body><p>" + b"x" * (megabytes * 1024 * 1024) + b"</p></body></html>"
    return Fault(lambda h: _send(h, 200, body), f"{megabytes} MB page")


def streamed(megabytes: int = 20) -> Fault:
    """An oversized page sent in chunks, with no Content-Length: its size shows only as it arrives."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"
        for _ in range(megabytes * 16):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.wfile.write(b"0\r\n\r\n")

    return Fault(serve, f"{megabytes} MB page, chunked")


_BOMB: list[bytes] = []


def gzip_bomb() -> Fault:
    """About 200 KB on the wire, 200 MB once inflated."""

    def serve(h: BaseHTTPRequestHandler) -> None:
        if not _BOMB:
            _BOMB.append(gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9))
        _send(h, 200, _BOMB[0], headers={"Content-Encoding": "gzip"})

    return Fault(serve, "gzip bomb")


def body(data: bytes, content_type: str) -> Fault:
    return Fault(lambda h: _send(h, 200, data, content_type), f"{content_type} body")


HOSTILE = (
    "<html><head><title>恶意标记</title><script>alert('title')</script></head><body><article>"
    "<h1>恶意<script>alert(1)</script>标记<img src=x onerror=alert(2)></h1>"
    + "".join(f"<p>{PARAGRAPH}<a href=\"javascript:alert({i})\">点</a><iframe src='javascript:1'></iframe></p>"
              for i in range(6))
    + "<style>body{display:none}</style></article></body></html>"
).encode()


class FaultServer:
    """A threaded HTTP server on 127.0.0.1: `routes` answer normally, `faults` misbehave.

    Feeds (Content-Type containing "xml" or "feed") get an ETag and honour
    If-None-Match; routes with a `Last-Modified` header honour If-Modified-Since.
    """

    def __init__(self, routes: Mapping[str, Route] | None = None, faults: Mapping[str, Fault] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.faults: dict[str, Fault] = dict(faults or {})
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.arrivals: list[tuple[str, float]] = []  # (path, time.monotonic()) of each request, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == "/" + path.lstrip("/"))

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == "/" + path.lstrip("/")]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError):
                    self.close_connection = True  # the client gave up: timeouts and size limits
                except ValueError:
                    self.close_connection = True  # a fault closed the connection's files itself (reset)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                with site._lock:
                    site.requests.append((path, dict(self.headers.items())))
                    site.arrivals.append((path, time.monotonic()))
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                try:
                    self._answer(path.lstrip("/"))
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def _answer(self, path: str) -> None:
                fault = site.faults.get(path)
                if fault is not None:
                    return fault.serve(self)
                route = site.routes.get(path)
                if route is None:
                    return _send(self, 404, b"not found", "text/plain")
                if route.delay:
                    time.sleep(route.delay)
                data = route.body.replace(b"{base}", site.base_url.encode()) if route.templated else route.body
                headers = dict(route.headers)
                if route.status == 200 and ("xml" in route.content_type or "feed" in route.content_type):
                    headers.setdefault("ETag", '"' + hashlib.sha1(data).hexdigest()[:16] + '"')
                if route.status == 200 and (
                    ("ETag" in headers and self.headers.get("If-None-Match") == headers["ETag"])
                    or ("Last-Modified" in headers and self.headers.get("If-Modified-Since") == headers["Last-Modified"])
                ):
                    return _send(self, 304, b"", None, headers, length=0)
                _send(self, route.status, data, route.content_type, headers)

        return Handler
