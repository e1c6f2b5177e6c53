"""robots.txt fetched once per host per process and kept for as long as its answer says, across crawls.

Scrapy's `RobotsTxtMiddleware` caches parsers per crawler, and every crawl run builds a
new crawler: a poll of unchanged feeds fetched each host's robots.txt again, often the
largest part of the poll's bytes. Here each host's answer lives in a process-wide cache
with its own expiry, as RFC 9309 (2.3.1, 2.4) and Google describe:

- 2xx: the rules, kept for the answer's `Cache-Control: max-age` or `Expires` (less its
  `Age`), else `ROBOTS_DEFAULT_AGE`; never longer than `ROBOTS_MAX_AGE` (a day).
- 4xx (but 429): there are no rules, so everything is allowed; kept the same way.
- 5xx and 429: the server cannot say what it allows, so nothing on that host is
  crawled, and the file is asked for again after `ROBOTS_RETRY_AFTER`.
- no answer at all (refused connection, DNS, timeout): allowed, asked again after
  `ROBOTS_RETRY_AFTER`; the page requests themselves then fail and say why.

A `Crawl-delay` for our user agent (or `*`) spaces the host's requests by that many
seconds, at most `MAX_CRAWL_DELAY`: the request carries it, and the downloader waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)

ROBOTS_MAX_AGE = 24 * 3600.0  # Google's cap, and RFC 9309's "SHOULD NOT use the cached version for more than 24 hours"
ROBOTS_DEFAULT_AGE = 24 * 3600.0  # an answer without cache headers: Google's usual day
ROBOTS_RETRY_AFTER = 600.0  # a 5xx, 429 or unreachable robots.txt is asked for again after this
# A Crawl-delay is obeyed up to this many seconds between requests: a day's delay would hold a run for ever.
MAX_CRAWL_DELAY = 30.0
CRAWL_DELAY_META = "mediawatch_crawl_delay"  # seconds, on a request whose host's robots.txt asks for a delay

clock: Callable[[], float] = monotonic  # seconds; replaceable so tests can let time pass


@dataclass(frozen=True)
class Unavailable:
    """A robots.txt that answered with a server error: nothing on its host is crawled until it answers."""

    status: int

    def message(self) -> str:
        return f"robots.txt unavailable (HTTP {self.status}): the host is not crawled until it answers"


# host:port -> (monotonic expiry, the rules, None to allow everything, or Unavailable)
_CACHE: dict[str, tuple[float, Any]] = {}


def robots_lifetime(headers: Mapping[str, str], now: datetime) -> float:
    """Seconds a robots.txt answer may be used, from its (lower-case) headers: RFC 9111 freshness, capped at a day."""
    directives = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    lifetime: float | None = None
    if directives.get("max-age", "").isdigit():
        lifetime = float(directives["max-age"])
    elif "expires" in headers:
        expires = _http_date(headers["expires"])
        served = _http_date(headers.get("date", "")) or now
        lifetime = (expires - served).total_seconds() if expires else 0.0  # an invalid Expires is in the past
    if lifetime is None:
        return ROBOTS_DEFAULT_AGE
    age = headers.get("age", "")
    lifetime -= float(age) if age.isdigit() else 0.0
    return min(max(lifetime, 0.0), ROBOTS_MAX_AGE)


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def crawl_delay(rp: Any, user_agent: str | bytes) -> float:
    """Seconds `rp` (a Scrapy robots parser) asks `user_agent` to leave between requests; 0 for none.

    Crawl-delay is not in RFC 9309, but Bing, Yandex and most polite crawlers obey it;
    a value that is not a positive number is none, and a larger one than MAX_CRAWL_DELAY is capped.
    """
    try:
        delay = rp.crawl_delay(user_agent)
    except (AttributeError, TypeError, ValueError):  # a parser without the directive
        return 0.0
    if delay is None or not float(delay) > 0:  # `not >` also refuses NaN
        return 0.0
    return min(float(delay), MAX_CRAWL_DELAY)


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        cached = _CACHE.get(netloc)
        if netloc not in self._parsers and cached is not None and clock() < cached[0]:
            self._parsers[netloc] = cached[1]  # Scrapy's own lookup then finds it and fetches nothing
        return await super().robot_parser(request)

    def process_request_2(self, rp: Any, request: Request) -> None:
        if isinstance(rp, Unavailable):
            raise IgnoreRequest(rp.message())
        super().process_request_2(rp, request)
        if rp is not None:
            # The downloader spaces the host's requests by it (crawler.fetch.downloader).
            delay = crawl_delay(rp, self._robotstxt_useragent or request.headers.get(b"User-Agent")
                                or self._default_useragent)
            if delay:
                request.meta[CRAWL_DELAY_META] = delay

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        headers = {name: (response.headers.get(name) or b"").decode("latin-1")
                   for name in ("cache-control", "expires", "date", "age") if name.encode() in response.headers}
        if status == 429 or status >= 500:
            logger.warning("robots.txt of %s answered HTTP %d: nothing sent there until it answers", netloc, status)
            self._settle(netloc, Unavailable(status), ROBOTS_RETRY_AFTER)
            return
        lifetime = robots_lifetime(headers, datetime.now(UTC))
        if 400 <= status < 500:
            self._settle(netloc, None, lifetime)  # no file, no rules
            return
        await super()._parse_robots(response, netloc, request)
        _CACHE[netloc] = (clock() + lifetime, self._parsers[netloc])

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        super()._robots_error(exc, netloc)
        _CACHE[netloc] = (clock() + ROBOTS_RETRY_AFTER, None)

    def _settle(self, netloc: str, answer: Any, lifetime: float) -> None:
        """Answer the requests waiting on the host's robots.txt with `answer`, and remember it for `lifetime`."""
        waiting = self._parsers[netloc]
        self._parsers[netloc] = answer
        _CACHE[netloc] = (clock() + lifetime, answer)
        waiting.callback(answer)  # type: ignore[union-attr]  # the Deferred Scrapy's robot_parser left there


def forget_robots() -> None:
    """Empty the cache (tests)."""
    _CACHE.clear()
