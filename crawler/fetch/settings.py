"""Scrapy settings derived from `[crawler]`: read once, passed to every crawler (sources, recheck, one-off fetches)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crawler.config import CrawlerConfig

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def mediawatch_version() -> str:
    try:
        return version("mediawatch")
    except PackageNotFoundError:
        return "0+unknown"


def user_agent(config: CrawlerConfig) -> str:
    return f"mediawatch/{mediawatch_version()} (+{config.contact_url})"


# Scrapy's default extensions that a crawl runs without: the per-minute stats log, and the two
# consoles it turns on by default (and that `scrapy_settings` also turns off by name).
EXTENSIONS_OFF = frozenset({
    "scrapy.extensions.logstats.LogStats",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
})


def extensions_base() -> dict[str, int]:
    """Scrapy's default extensions without `EXTENSIONS_OFF`.

    Disabling one the usual way (`EXTENSIONS = {path: None}`) makes Scrapy import it to
    match the path up, and the remote control's module imports aiohttp's client and
    server: 0.1 s of every crawl process's start-up, for an extension that never runs.
    """
    from scrapy.settings import default_settings

    return {path: order for path, order in default_settings.EXTENSIONS_BASE.items() if path not in EXTENSIONS_OFF}


def scrapy_settings(config: CrawlerConfig) -> dict[str, Any]:
    return {
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        # Scrapy 2.19 turns on a code-execution endpoint and a telnet console by default.
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "USER_AGENT": user_agent(config),
        "ROBOTSTXT_OBEY": config.obey_robots,
        # Scrapy 2.19's own downloader lets a host's whole queue through at once.
        "DOWNLOADER": "crawler.fetch.downloader.PoliteDownloader",
        "CONCURRENT_REQUESTS": 16,
        # Items a response's output is processed with at once: Scrapy starts that many tasks for every
        # response (100 by default), and an article page yields one item.
        "CONCURRENT_ITEMS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrency_per_host,
        "AUTOTHROTTLE_ENABLED": config.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 0.5,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(config.concurrency_per_host),
        "DOWNLOAD_TIMEOUT": config.download_timeout,
        "DOWNLOAD_MAXSIZE": config.max_page_bytes,
        "DOWNLOAD_WARNSIZE": max(1, config.max_page_bytes // 2),
        "RETRY_ENABLED": config.retry_times > 0,
        "RETRY_TIMES": config.retry_times,
        # 4xx (but 408/429) is final: retrying a 404 only annoys the site.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "COOKIES_ENABLED": False,
        "DEPTH_LIMIT": 3,
        # A longer chain is a loop or a tracking maze; it is reported as a redirect loop.
        "REDIRECT_MAX_TIMES": 5,
        "STATS_DUMP": False,
        # Scrapy reads and parses a generator callback's source for every response it answers
        # (its cache is keyed on the bound method, a new object each time): 1 ms a feed.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "LOG_ENABLED": False,
        "ITEM_PIPELINES": {"crawler.pipeline.StoragePipeline": 300},
        "MEDIAWATCH_RETRY_BACKOFF": config.retry_backoff,
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.fetch.middleware.FetchPolicyMiddleware": 50,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.fetch.middleware.BackoffRetryMiddleware": 550,
            # Sees a response before the retry middleware does, so a long Retry-After stops retries.
            "crawler.fetch.middleware.RetryAfterMiddleware": 560,
            # robots.txt kept per host for a day across crawls, not fetched again every run.
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.fetch.robots.CachedRobotsTxtMiddleware": 100,
            # Scrapy's, without charset detection run over compressed bytes, and gunzipping undeclared gzip (see the class).
            "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
            "crawler.fetch.middleware.DecompressionMiddleware": 590,
            # Scrapy's, without decoding every page that cannot hold a refresh (see the class).
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "crawler.fetch.middleware.MetaRefreshMiddleware": 580,
            # Sees a download's exception before the retry middleware: a page too large is not retried.
            "crawler.fetch.middleware.PageSizeMiddleware": 600,
        },
        "EXTENSIONS_BASE": extensions_base(),
    }


def load_components(config: CrawlerConfig) -> None:
    """Import every class a crawl's Scrapy settings name: middlewares, extensions, pipelines, downloader, handlers.

    Scrapy imports them as it builds a process's first crawl, about 0.3 s (a second on a
    busy machine) on the reactor, in which nothing is fetched and the extraction workers
    wait. A crawl's warm-up (`App.warm_up`, on a thread) calls this instead. Importing
    them installs no reactor: it is safe before the crawl picks Twisted's asyncio reactor.
    """
    from scrapy.settings import Settings
    from scrapy.utils.misc import load_object

    settings = Settings(scrapy_settings(config))
    paths: list[Any] = [settings[name] for name in ("DOWNLOADER", "SCHEDULER", "DUPEFILTER_CLASS", "STATS_CLASS",
                                                    "SCHEDULER_PRIORITY_QUEUE", "SCHEDULER_MEMORY_QUEUE",
                                                    "LOG_FORMATTER", "REQUEST_FINGERPRINTER_CLASS",
                                                    "ROBOTSTXT_PARSER")]
    for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES"):
        paths += settings.getwithbase(name)  # an override's disabled keys too: Scrapy imports them to match them up
    paths += settings.getwithbase("DOWNLOAD_HANDLERS").values()  # Scrapy loads every scheme's at once
    for path in paths:
        if isinstance(path, str):
            load_object(path)

