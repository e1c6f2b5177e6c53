"""Downloader middlewares: the fetch policy (`crawler.fetch.policy`) on every request, and retries with backoff.

A request's `allow_private` comes from its meta (`mediawatch_allow_private`), else
from the spider's source; redirects and robots.txt requests pass through here too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

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
            logger.warning("refused %s: %s", request.url, exc)
            raise ForbiddenRequest(str(exc)) from exc
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
        allow_private = request.meta.get("mediawatch_allow_private")
        if allow_private is not None:
            return bool(allow_private)
        spider: Any = self.crawler.spider
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
        if delay > 0:
            logger.info("retrying %s in %.1fs (attempt %d)", retry.url, delay, attempt)
            await asyncio.sleep(delay)
