"""What a failed request was and why, in words an operator understands (for every spider's errback).

Also the exception a request raises when its host asked us to wait (`HostWaiting`):
spiders count such requests as deferred, not failed; and the one a page stopped part way
at `max_page_bytes` raises (`PageTooLarge`).
"""

from __future__ import annotations

from datetime import datetime

from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure


class HostWaiting(IgnoreRequest):
    """Not sent: the host answered 429/503 with a Retry-After that has not passed yet."""

    def __init__(self, host: str, until: datetime) -> None:
        super().__init__(f"{host} asked us to wait (Retry-After) until {until:%Y-%m-%d %H:%M:%S} UTC")
        self.host = host
        self.until = until


class PageTooLarge(DownloadCancelledError):
    """Stopped part way: a body with no Content-Length to refuse it by grew past the size limit.

    Scrapy cancels such a download with a bare `DownloadCancelledError` (its message names
    neither the page nor the limit); `crawler.fetch.middleware.PageSizeMiddleware` raises this
    in its place. `limit` is the bound the body passed: it was stopped at the first read past it.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"page larger than max_page_bytes (stopped after {limit} bytes)")
        self.limit = limit


def failed_request(failure: Failure) -> Request:
    """The request an errback's failure belongs to."""
    # Scrapy attaches the request to the Failure it hands an errback; Twisted's stubs do not know.
    request: Request = failure.request  # type: ignore[attr-defined]
    return request


# Exception class names (Twisted's and Scrapy's) and what they mean to a person. Scrapy 2.19
# wraps Twisted's errors in its own (`DownloadFailedError` from `ResponseNeverReceived`, whose
# text is the repr of a list of Failures): a name missing here is looked up on its cause.
_PLAIN = {
    "TimeoutError": "no complete answer within the download timeout",
    "TCPTimedOutError": "no complete answer within the download timeout",
    "ConnectionRefusedError": "connection refused",
    "DownloadConnectionRefusedError": "connection refused",
    "ResponseNeverReceived": "the connection closed before any answer arrived",
    "ConnectionLost": "the connection closed before the whole page arrived",
    "ResponseFailed": "the connection closed before the whole page arrived",
    "PotentialDataLoss": "the connection closed before the whole page arrived",
    "ResponseDataLossError": "the connection closed before the whole page arrived",
    "DNSLookupError": "the host name does not resolve",
    "CannotResolveHostError": "the host name does not resolve",
}


def describe_failure(failure: Failure) -> str:
    """One line: "HTTP 503", "forbidden by robots.txt", or the exception's own message."""
    value = failure.value
    if isinstance(value, HttpError):
        status = value.response.status
        retry_after = value.response.headers.get(b"Retry-After")
        if retry_after:
            return f"HTTP {status} (Retry-After: {retry_after.decode('latin-1')[:40]})"
        location = value.response.headers.get(b"Location")
        if 300 <= status < 400 and location:
            # Scrapy follows only http(s) redirects; the rest arrive here as the 3xx itself.
            return f"HTTP {status} redirect to {location.decode('latin-1')[:200]} not followed (only http(s))"
        return f"HTTP {status}"
    if isinstance(value, PageTooLarge):
        return str(value)
    text = str(value) or type(value).__name__
    name = type(value).__name__
    if name == "IgnoreRequest" and "robots" in text.lower():
        # "robots.txt unavailable (HTTP 503) ..." says more than a plain refusal: kept as it is.
        return text if text.startswith("robots.txt unavailable") else "forbidden by robots.txt"
    if "max redirections reached" in text:
        return "redirect loop (too many redirects)"
    if name in _PLAIN:
        return _PLAIN[name]
    if "took longer than" in text:
        return f"{text.rstrip('.')} (download_timeout)"
    if "maxsize" in text.lower() or "larger than download max size" in text.lower():
        return "page larger than max_page_bytes (refused)"
    return _plain_cause(value) or text


def _plain_cause(value: BaseException | None) -> str | None:
    """The words for the error a wrapper (Scrapy's `DownloadFailedError`) was raised from, if known."""
    cause = value.__cause__ if value is not None else None
    for _ in range(5):  # a chain is one or two links long; never follow a cycle
        if cause is None:
            return None
        if type(cause).__name__ in _PLAIN:
            return _PLAIN[type(cause).__name__]
        cause = cause.__cause__
    return None
