"""Scrapy's downloader with per-host concurrency that holds.

Scrapy 2.19's `Downloader._process_queue` starts each queued request as a scheduled
coroutine, and the request only counts as "transferring" once that coroutine runs.
The loop that checks `free_transfer_slots()` therefore sees every slot free and starts
the whole queue at once: with `CONCURRENT_REQUESTS_PER_DOMAIN = 1` and nine queued
pages, nine requests hit the host together (measured against a loopback server).
Here a request claims its transfer slot the moment it leaves the queue; Scrapy's
`_download` adds it again (a set) and releases it when the response arrives.

A request whose host's robots.txt asks for a Crawl-delay (`crawler.fetch.robots`) waits
that long after the host's previous request started, whatever AutoThrottle says.

A request also leaves the queue without being sent when its host asked the crawl to
wait (a long Retry-After) while it was queued: the RetryAfterMiddleware checks a
request as it enters the downloader, and a host's whole queue enters at once.
"""

from __future__ import annotations

from time import monotonic

from scrapy import Request, signals
from scrapy.core.downloader import Downloader, Slot
from scrapy.http import Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

from crawler.fetch.middleware import host_waiting, note_retry_after
from crawler.fetch.robots import CRAWL_DELAY_META


class PoliteDownloader(Downloader):
    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return  # a delayed call will process the queue
        now = monotonic()
        # robots.txt's Crawl-delay, which the next request carries, is a floor under AutoThrottle's delay.
        delay = max(slot.download_delay(), slot.queue[0][0].meta.get(CRAWL_DELAY_META, 0.0) if slot.queue else 0.0)
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            # Claimed now, not when the coroutine first runs: see the module docstring.
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break

    async def _download(self, slot: Slot, request: Request) -> Response:
        waiting = host_waiting(self.crawler.spider, request)
        if waiting is None:
            response = await super()._download(slot, request)
            # Now, before the host's next queued request starts (Scrapy's _download has just
            # scheduled it), not when the response reaches the middleware a few steps later.
            note_retry_after(self.crawler.spider, request, response)
            return response
        try:
            raise waiting
        finally:  # as Scrapy's _download leaves the slot after a transfer
            slot.transferring.discard(request)
            self._process_queue(slot)
            self.signals.send_catch_log(
                signal=signals.request_left_downloader, request=request, spider=self.crawler.spider
            )
