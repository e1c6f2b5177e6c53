"""Downloader middlewares: the fetch policy (`crawler.fetch.policy`) on every request, retries with backoff,
decompression, and naming a page stopped at the size limit.

Which hosts a request may reach on private addresses comes from its meta
(`mediawatch_private_hosts`), else from its spider; redirects and robots.txt
requests pass through here too.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.gz import gunzip as scrapy_gunzip

from crawler.fetch.failures import HostWaiting, PageTooLarge
from crawler.fetch.policy import check_url
from storage.errors import ForbiddenURLError

logger = logging.getLogger(__name__)


class ForbiddenRequest(IgnoreRequest):
    """A request refused by the fetch policy."""


class FetchPolicyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchPolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        try:
            await check_url(request.url, allow_private=self._allows_private(request))
        except ForbiddenURLError as exc:
            message = str(exc)
            hosts = request.meta.get("mediawatch_private_hosts")
            if hosts:
                message = message.split("; set allow_private")[0] + (
                    f"; the source's allow_private covers its own host ({', '.join(sorted(hosts))}) only")
            logger.warning("refused %s: %s", request.url, message)
            raise ForbiddenRequest(message) from exc
        return None

    def _allows_private(self, request: Request) -> bool:
        """Whether this request may reach a private address.

        A source's `allow_private` covers its own host only (`mediawatch_private_hosts`),
        so a redirect or a link from a loopback fixture to another private address (a
        cloud metadata endpoint, a router) is still refused. robots.txt requests carry
        no meta of ours: they may go private where some source of the crawl may.
        """
        host = (urlsplit(request.url).hostname or "").lower()
        hosts = request.meta.get("mediawatch_private_hosts")
        if hosts is not None:
            return host in hosts
        spider: Any = self.crawler.spider
        spider_hosts = getattr(spider, "private_hosts", None)
        if spider_hosts is not None:
            return host in spider_hosts
        contexts = getattr(spider, "contexts", {})
        return any(
            c.source.allow_private and host == (urlsplit(c.source.url).hostname or "").lower() for c in contexts.values()
        )


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy (5xx, 408, 429, timeouts; never other 4xx), with exponential backoff.

    Scrapy retries at once; a struggling server deserves a pause that grows with each try.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("MEDIAWATCH_RETRY_BACKOFF", 2.0)

    # Scrapy 2.13+ accepts coroutine middleware methods; its stubs still declare the sync signature.
    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._pause(result)
        return result

    # As above: an async override of a method the stubs declare synchronous.
    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._pause(result)
        return result

    async def _pause(self, retry: Request) -> None:
        attempt = int(retry.meta.get("retry_times", 1))
        delay = min(self.backoff * 2 ** (attempt - 1), 300.0)
        # A short Retry-After (see RetryAfterMiddleware) is the least we wait.
        delay = max(delay, float(retry.meta.pop("mediawatch_retry_after", 0.0)))
        if delay > 0:
            logger.info("retrying %s in %.1fs (attempt %d)", retry.url, delay, attempt)
            await asyncio.sleep(delay)


class PageSizeMiddleware:
    """Turns the bare `DownloadCancelledError` of a body that outgrew `DOWNLOAD_MAXSIZE` into `PageTooLarge`.

    With a Content-Length Scrapy refuses an oversized page before its body, with a message
    naming the limit; without one (chunked, or ended by closing the connection) it cancels
    the download once the bytes pass the limit, and the message is empty. Scrapy's HTTP/1.1
    handler cancels a download for nothing else (a timeout is a `DownloadTimeoutError`), so
    an empty one under a size limit is that limit.
    """

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageSizeMiddleware:
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_exception(self, request: Request, exception: Exception) -> None:
        # A sitemap request carries its own, larger bound in its meta (see the source spider).
        limit = int(request.meta.get("download_maxsize", self.max_size))
        if type(exception) is DownloadCancelledError and not str(exception) and limit:
            raise PageTooLarge(limit) from exception


MAX_INLINE_WAIT = 60.0  # seconds: a longer Retry-After ends this run's requests to the host


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def host_waiting(spider: object, request: Request) -> HostWaiting | None:
    """The refusal for `request` when its host asked `spider`'s crawl to wait and the time has not passed."""
    waits = getattr(spider, "host_waits", None)
    host = (urlsplit(request.url).hostname or "").lower()
    if isinstance(waits, dict) and host in waits:
        until = waits[host][0]
        if until > datetime.now(UTC):  # the edge of the crawler: wall-clock time
            return HostWaiting(host, until)
    return None


def note_retry_after(spider: object, request: Request, response: Response) -> float | None:
    """Seconds a 429/503's Retry-After asks for (None if none); a long one goes on the spider's `host_waits`.

    Called as the response arrives (by the downloader, before the host's next queued
    request may start) and again by the middleware; the wait is recorded once.
    """
    if response.status not in (429, 503):
        return None
    header = response.headers.get(b"Retry-After")
    text = header.decode("latin-1") if header else None
    now = datetime.now(UTC)
    seconds = retry_after_seconds(text, now)
    if seconds is None or seconds <= MAX_INLINE_WAIT or request.meta.get("mediawatch_host_wait_noted"):
        return seconds
    request.meta["mediawatch_host_wait_noted"] = True
    waits = getattr(spider, "host_waits", None)
    if isinstance(waits, dict):
        host = (urlsplit(request.url).hostname or "").lower()
        until = now + timedelta(seconds=min(seconds, 7 * 86400.0))
        waits[host] = (max(until, waits[host][0]) if host in waits else until,
                       f"HTTP {response.status} with Retry-After: {(text or '')[:40]}")
        logger.warning("host=%s answered %d with Retry-After %s: leaving it alone until %s",
                       host, response.status, text, until.isoformat())
    return seconds


class RetryAfterMiddleware:
    """Honour 429/503 Retry-After per host.

    A short wait (up to a minute) delays the retry; a longer one stops the retry and
    puts the host on the spider's `host_waits` (host → (until, reason)), so no other
    request of the crawl reaches it (`host_waiting`, checked here and again by the
    downloader as a request leaves its host's queue) and the caller stores the time
    for the next runs (and the daemon) to respect. Enabled even when retries are off.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        waiting = host_waiting(self.crawler.spider, request)
        if waiting is not None:
            raise waiting
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        seconds = note_retry_after(self.crawler.spider, request, response)
        if seconds is None:
            return response
        if seconds <= MAX_INLINE_WAIT:
            request.meta["mediawatch_retry_after"] = seconds
        else:
            request.meta["dont_retry"] = True
        return response


class UndeclaredGzipError(IgnoreRequest):
    """A body that starts like gzip without a Content-Encoding saying so, and does not decompress."""


GZIP_MAGIC = b"\x1f\x8b"
# Media types that name the gzip wrapper, not what it holds: meaningless once unwrapped.
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/gzip-compressed",
                        "application/x-gzip-compressed"})


def looks_gzipped(body: bytes) -> bool:
    """Whether `body` starts with the gzip magic number (no text document starts with byte 0x1f)."""
    return body[:2] == GZIP_MAGIC


class DecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, without guessing the character set of the compressed bytes, and of undeclared gzip too.

    Scrapy builds the decompressed response with `Response.replace`, which reads every
    attribute of the compressed one first, `encoding` included: for a page whose header names
    no charset, that ran charset detection (charset-normalizer) over the gzip bytes, about a
    millisecond a page on the crawl's one thread, for an answer thrown away at once. Handed a
    plain `Response` (no encoding to read), Scrapy picks the decompressed body's class itself.

    A body that still starts with the gzip magic number once the declared encodings are
    undone was gzipped without saying so: `sitemap.xml.gz` served as `application/gzip`
    (the sitemap protocol's own format, and how `python -m http.server` serves it), or a
    page or feed a misconfigured server compressed twice. Read as text it is mojibake that
    gets stored and indexed, so it is decompressed here, for every spider and
    `mediawatch extract` alike, as if the header had said gzip (the same `max_page_bytes`
    bound while inflating); bytes that do not decompress are refused (`UndeclaredGzipError`).
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if isinstance(response, TextResponse) and response.headers.get(b"Content-Encoding"):
            response = _plain(response, response.headers)
        result = super().process_response(request, response)
        if (
            isinstance(result, Response) and request.method != "HEAD"
            and not result.headers.get(b"Content-Encoding") and looks_gzipped(result.body)
        ):
            return self._gunzip_undeclared(request, result)
        return result

    @staticmethod
    def _decode(body: bytes, encoding: bytes, max_size: int) -> bytes:
        if encoding in (b"gzip", b"x-gzip"):
            if body and not looks_gzipped(body):
                # The header lies (a misconfigured server over plain bytes): without gzip's magic
                # number they cannot be gzip, and refusing them failed the whole feed or page.
                logger.debug("declared gzip over bytes that are not gzip: read as they are")
                return body
            return gunzip(body, max_size)
        return HttpCompressionMiddleware._decode(body, encoding, max_size)

    def _gunzip_undeclared(self, request: Request, response: Response) -> Request | Response:
        headers = response.headers.copy()
        headers[b"Content-Encoding"] = b"gzip"
        content_type = (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower().decode("latin-1")
        if content_type in GZIP_TYPES:
            del headers[b"Content-Type"]
        declared = _plain(response, headers)
        try:
            decompressed = super().process_response(request, declared)
        except (OSError, EOFError, struct.error, zlib.error) as exc:
            message = (f"gzip bytes without a Content-Encoding header that do not decompress ({exc}); "
                       "refused rather than read as text")
            logger.warning("refused %s: %s", response.url, message)
            raise UndeclaredGzipError(message) from exc
        logger.debug("url=%s gzip bytes without Content-Encoding: decompressed", response.url)
        return decompressed


def gunzip(body: bytes, max_size: int = 0) -> bytes:
    """Scrapy's `gunzip`, in one call to zlib for a whole single-member stream (most pages).

    Scrapy's reads through `gzip.GzipFile` in 64 KB chunks, checking the checksum in Python:
    0.56 ms for an average 170 KB page, against 0.36 ms here, on the crawl's one thread.
    Anything else — several members, trailing bytes, a cut-off stream, a bad checksum, a page
    over `max_size` — goes to Scrapy's, which decides as before (what it can recover, or the error).
    """
    inflater = zlib.decompressobj(wbits=31)  # a gzip header and trailer, checksum checked
    try:
        page = inflater.decompress(body, max_size + 1 if max_size else 0)
    except zlib.error:
        page = None
    if page is None or not inflater.eof or inflater.unused_data or (max_size and len(page) > max_size):
        return scrapy_gunzip(body, max_size=max_size)
    return page


def _plain(response: Response, headers: Any) -> Response:
    """`response` as a plain `Response` with `headers`: no encoding to read, so none is guessed (see above)."""
    return Response(
        url=response.url, status=response.status, headers=headers, body=response.body,
        flags=response.flags, request=response.request, certificate=response.certificate,
        ip_address=response.ip_address, protocol=response.protocol,
    )


# Scrapy reads a refresh only within the first 4,096 characters of the decoded page; no
# character set that a page without NUL bytes can be in takes more than 4 bytes a character.
_REFRESH_SCAN_BYTES = 4 * 4096


class MetaRefreshMiddleware(ScrapyMetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, without decoding the pages that cannot declare one.

    Scrapy's middleware decodes every HTML page (`response.text`, with charset detection)
    on the crawl's one thread to look for `<meta http-equiv="refresh">` in its first 4,096
    characters: about 0.4 ms a page, for a page the extraction worker decodes again. A
    page whose first 16 KB do not hold the bytes "refresh" in any case cannot have one
    there in an ASCII-compatible character set (UTF-8, GBK, Big5, Shift_JIS, Latin-1…);
    those are passed on untouched. Any other page (the bytes are there, or NUL bytes say
    UTF-16 or UTF-32) goes to Scrapy's check, which decides.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if isinstance(response, HtmlResponse):
            head = response.body[:_REFRESH_SCAN_BYTES]
            if b"\x00" not in head and b"refresh" not in head.lower():
                return response
        return super().process_response(request, response)

