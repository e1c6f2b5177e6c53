"""robots.txt parsed once per host per process and kept for a day, across crawls.

Scrapy's `RobotsTxtMiddleware` caches parsers per crawler, and every crawl run builds a
new crawler: a poll of unchanged feeds fetched each host's robots.txt again, often the
largest part of the poll's bytes. Here parsed files live in a process-wide cache with
their own expiry (`ROBOTS_TTL`, a day, as the large crawlers do); a host whose robots.txt
could not be fetched is asked again after `ROBOTS_ERROR_TTL`.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)

ROBOTS_TTL = 24 * 3600.0
ROBOTS_ERROR_TTL = 600.0

# host:port -> (when fetched, parser or None when it could not be fetched)
_CACHE: dict[str, tuple[float, Any]] = {}


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        fetch_here = netloc not in self._parsers
        cached = _CACHE.get(netloc)
        if fetch_here and cached is not None:
            fetched_at, parser = cached
            if monotonic() - fetched_at < (ROBOTS_TTL if parser is not None else ROBOTS_ERROR_TTL):
                self._parsers[netloc] = parser  # Scrapy's own lookup then finds it and fetches nothing
                fetch_here = False
        parser = await super().robot_parser(request)
        if fetch_here:
            _CACHE[netloc] = (monotonic(), parser)
        return parser


def forget_robots() -> None:
    """Empty the cache (tests)."""
    _CACHE.clear()
