"""A cheap HTTP/1.1 server for benchmarks: many loopback hosts, pre-built answers, counted bytes.

The benchmarks measure the crawler, so the server must cost as little CPU as possible:
it runs in its own process (forked, so the pages it serves are built once by the
parent), answers from a table of pre-gzipped bodies, keeps connections alive like a
real site, honours `If-None-Match` for resources that carry an ETag, and counts every
byte it writes (headers included) and every request per URL in shared counters the
parent can read and reset.

A host is a loopback address (127.0.0.2, 127.0.0.3, …): Scrapy keys its per-host
slots on the host name without the port, so distinct addresses are distinct hosts.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import multiprocessing
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any


@dataclass
class Resource:
    """One answer: a body (served gzipped when the client accepts it) and its type."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: bool = False  # feeds: send an ETag and answer If-None-Match with 304
    gzipped: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        self.gzipped = gzip.compress(self.body, compresslevel=6)
        self.tag = '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


# host address -> path -> resource; or a function building the answer per request (dynamic feeds).
Routes = Mapping[str, Mapping[str, Resource]]
Dynamic = Callable[[str, str, int], Resource | None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackSites:
    """Serve `routes` on every host address in it, on one port, from a child process."""

    def __init__(self, routes: Routes, dynamic: Dynamic | None = None) -> None:
        self.routes = routes
        self.dynamic = dynamic
        self.port = free_port()
        self._bytes = multiprocessing.get_context("fork").Value("q", 0, lock=False)
        self._requests = multiprocessing.get_context("fork").Value("q", 0, lock=False)
        self._process: Any = None

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def bytes_sent(self) -> int:
        return int(self._bytes.value)

    @property
    def requests(self) -> int:
        return int(self._requests.value)

    def reset(self) -> None:
        self._bytes.value = 0
        self._requests.value = 0

    def __enter__(self) -> LoopbackSites:
        context = multiprocessing.get_context("fork")
        ready = context.Event()
        self._process = context.Process(target=self._serve, args=(ready,), daemon=True, name="loopback-sites")
        self._process.start()
        if not ready.wait(30):
            raise RuntimeError("loopback server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.join(5)

    # -- child process ------------------------------------------------------------
    def _serve(self, ready: Any) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: Any) -> None:
        loop = asyncio.get_running_loop()
        servers = [
            await loop.create_server(partial(_Http, self, host), host, self.port, backlog=512)
            for host in self.routes
        ]
        ready.set()
        await asyncio.gather(*(server.serve_forever() for server in servers))

    def answer(self, host: str, path: str, headers: dict[bytes, bytes]) -> bytes:
        count = self._requests.value + 1
        self._requests.value = count
        resource = self.routes.get(host, {}).get(path)
        if resource is None and self.dynamic is not None:
            resource = self.dynamic(host, path, count)
        if resource is None:
            head = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"
            return head
        extra = b""
        if resource.etag:
            extra = b"ETag: " + resource.tag.encode() + b"\r\n"
            if headers.get(b"if-none-match") == resource.tag.encode():
                return b"HTTP/1.1 304 Not Modified\r\n" + extra + b"Content-Length: 0\r\n\r\n"
        body = resource.body
        if b"gzip" in headers.get(b"accept-encoding", b""):
            body = resource.gzipped
            extra += b"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: " + resource.content_type.encode() + b"\r\n" + extra
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )


class _Http(asyncio.Protocol):
    """Keep-alive HTTP/1.1 for GET requests without bodies: all a crawler sends."""

    def __init__(self, sites: LoopbackSites, host: str) -> None:
        self.sites = sites
        self.host = host
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            path = parts[1].decode("latin-1").split("?", 1)[0].lstrip("/") if len(parts) > 1 else ""
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            response = self.sites.answer(self.host, path, headers)
            self.sites._bytes.value += len(response)
            self.transport.write(response)
