"""Fetch single pages outside a source crawl (`mediawatch extract URL`), through the same Scrapy stack.

There is one HTTP client in mediawatch: Scrapy, with the fetch policy, size limit,
timeouts, retries and User-Agent of `crawler.fetch.settings`. A one-off fetch runs a
tiny spider on it rather than a second client with its own idea of what is allowed.
Must run on the asyncio reactor (`crawler.fetch.reactor`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config import CrawlerConfig
from crawler.fetch.failures import describe_failure, failed_request
from crawler.fetch.settings import scrapy_settings


@dataclass
class FetchedPage:
    """One response, or why there is none."""

    url: str  # as requested
    final_url: str | None = None  # after redirects
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None


class _PageSpider(scrapy.Spider):
    name = "mediawatch-fetch"

    def __init__(self, pages: list[FetchedPage], allow_private: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages = pages
        # --allow-private opens each given URL's own host, not every private address a
        # redirect might lead to; robots.txt requests follow the same hosts.
        self.private_hosts = (
            frozenset((urlsplit(page.url).hostname or "").lower() for page in pages) if allow_private else frozenset()
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for page in self.pages:
            yield scrapy.Request(
                page.url, callback=self.parse, errback=self.failed, dont_filter=True,
                cb_kwargs={"page": page}, meta={"mediawatch_private_hosts": self.private_hosts},
            )

    def parse(self, response: Response, page: FetchedPage) -> None:
        content_type = response.headers.get(b"Content-Type")
        page.final_url, page.status, page.body = response.url, response.status, response.body
        page.content_type = content_type.decode("latin-1") if content_type else None

    def failed(self, failure: Failure) -> None:
        page: FetchedPage = failed_request(failure).cb_kwargs["page"]
        page.error = describe_failure(failure)


async def fetch_pages(urls: Sequence[str], config: CrawlerConfig, *, allow_private: bool = False) -> list[FetchedPage]:
    """GET each URL once under the crawler's policy; every page comes back with a body or an error."""
    pages = [FetchedPage(url) for url in urls]
    for page in pages:
        try:
            urlsplit(page.url).port  # noqa: B018 -- parsing the netloc is what raises
        except ValueError as exc:  # Scrapy dropped such a request with a log line only: "not fetched"
            page.error = f"not a valid URL: {exc}"
    settings = scrapy_settings(config)
    settings["ITEM_PIPELINES"] = {}
    valid = [page for page in pages if page.error is None]
    if valid:
        await AsyncCrawlerRunner(settings).crawl(_PageSpider, pages=valid, allow_private=allow_private)
    for page in pages:
        if page.error is None and page.final_url is None:
            page.error = "not fetched"
    return pages
