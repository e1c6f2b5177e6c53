"""Pages that need a browser: scrapy-playwright driving the system Chromium, under the fetch policy.

A source with `render = true` has its pages fetched by headless Chromium (the
executable named by `[discovery] browser`; nothing downloads a browser). The first
URL passes the downloader's fetch policy like any request; every request the page
then makes (scripts, XHR, frames, redirects) passes `guard_route`, which applies the
same policy: http(s) only, no private addresses unless the source allows them, no
response larger than `max_page_bytes`. Images, media and fonts are never fetched: the
text is what we keep.

Chromium follows redirects without showing them to a route handler, so the handler
walks a redirect chain itself first, checking each hop, and lets the browser follow
only a chain it has checked.
"""

from __future__ import annotations

import functools
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.config import CrawlerConfig, DiscoveryConfig
from crawler.fetch.policy import check_url
from crawler.fetch.settings import user_agent
from storage.errors import ForbiddenURLError

logger = logging.getLogger(__name__)

SKIPPED_RESOURCES = {"image", "media", "font"}
MAX_REDIRECTS = 5
BROWSER_CONTEXT = "mediawatch-render"


def render_settings(crawler: CrawlerConfig, discovery: DiscoveryConfig) -> dict[str, Any]:
    """Scrapy settings that route `playwright` requests through Chromium (others use the normal handler)."""
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": discovery.browser, "headless": True},
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": discovery.render_concurrency,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": discovery.render_timeout * 1000,
        "PLAYWRIGHT_CONTEXTS": {BROWSER_CONTEXT: {"java_script_enabled": True, "user_agent": user_agent(crawler)}},
    }


def render_meta(
    config: DiscoveryConfig, *, private_hosts: frozenset[str] = frozenset(), max_bytes: int = 10 * 1024 * 1024
) -> dict[str, Any]:
    """Request meta that has scrapy-playwright render the page with the fetch policy on every request.

    `private_hosts` are the hosts the page may reach on private addresses (the source's
    own, when it allows private addresses), as for the downloader's requests.
    """
    return {
        "playwright": True,
        "playwright_context": BROWSER_CONTEXT,
        "playwright_page_init_callback": functools.partial(
            install_guard, private_hosts=private_hosts, max_bytes=max_bytes
        ),
        # Wait for scripts that fill the page after load.
        "playwright_page_goto_kwargs": {"wait_until": "networkidle"},
    }


async def install_guard(page: Any, request: Any, *, private_hosts: frozenset[str], max_bytes: int) -> None:
    """scrapy-playwright's page-init hook: put the fetch policy in front of every browser request."""
    await page.route("**/*", functools.partial(guard_route, private_hosts=private_hosts, max_bytes=max_bytes))


def _private_ok(url: str, private_hosts: frozenset[str]) -> bool:
    return (urlsplit(url).hostname or "").lower() in private_hosts


async def guard_route(route: Any, request: Any, *, private_hosts: frozenset[str], max_bytes: int) -> None:
    """Let a browser request through only if the fetch policy allows it and every redirect hop."""
    url = request.url
    if url.startswith(("data:", "blob:", "about:")):
        await route.fallback()
        return
    if request.resource_type in SKIPPED_RESOURCES:
        await route.abort("blockedbyclient")
        return
    try:
        await check_url(url, allow_private=_private_ok(url, private_hosts))
        response = await route.fetch(max_redirects=0)
        hops = 0
        current, hop = url, response
        while 300 <= hop.status < 400 and hop.headers.get("location"):
            hops += 1
            if hops > MAX_REDIRECTS:
                raise ForbiddenURLError(f"{url}: more than {MAX_REDIRECTS} redirects")
            current = urljoin(current, hop.headers["location"])
            await check_url(current, allow_private=_private_ok(current, private_hosts))
            hop = await route.fetch(url=current, max_redirects=0)
        body = await hop.body()
        if len(body) > max_bytes:
            raise ForbiddenURLError(f"{current}: response larger than {max_bytes} bytes")
    except ForbiddenURLError as exc:
        logger.warning("render: refused %s: %s", url, exc)
        await route.abort("blockedbyclient")
        return
    except Exception as exc:  # a network error in the page's own requests fails that request only
        logger.info("render: %s failed: %s", url, exc)
        await route.abort("failed")
        return
    if hops:
        # The browser follows the chain it was shown; each hop has just been checked.
        await route.fulfill(response=response)
    else:
        await route.fulfill(response=response, body=body)
