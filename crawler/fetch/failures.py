"""What a failed request was and why, in words an operator understands (for every spider's errback)."""

from __future__ import annotations

from scrapy import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure


def failed_request(failure: Failure) -> Request:
    """The request an errback's failure belongs to."""
    # Scrapy attaches the request to the Failure it hands an errback; Twisted's stubs do not know.
    request: Request = failure.request  # type: ignore[attr-defined]
    return request


def describe_failure(failure: Failure) -> str:
    """One line: "HTTP 503", "forbidden by robots.txt", or the exception's own message."""
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    text = str(value) or type(value).__name__
    if type(value).__name__ == "IgnoreRequest" and "robots" in text.lower():
        return "forbidden by robots.txt"
    return text
