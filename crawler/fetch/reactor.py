"""Running coroutines on Twisted's asyncio reactor (Scrapy's) from synchronous code.

The reactor must be installed before anything imports `twisted.internet.reactor`,
and it cannot be restarted: one process runs it once. The CLI calls
`run_on_reactor` once per command; the daemon runs its whole life inside it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from scrapy.utils.reactor import install_reactor, is_reactor_installed

from crawler.fetch.settings import ASYNCIO_REACTOR

T = TypeVar("T")


def ensure_asyncio_reactor() -> None:
    if not is_reactor_installed():
        install_reactor(ASYNCIO_REACTOR)


def run_on_reactor(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main()` on the asyncio reactor until it finishes; return or raise its outcome."""
    ensure_asyncio_reactor()
    from twisted.internet import reactor as installed

    # The module attribute is typed as the IReactorCore interface, whose methods mypy
    # reads as unbound; the installed object is an AsyncioSelectorReactor.
    reactor: Any = installed

    outcome: dict[str, Any] = {}

    async def wrapper() -> None:
        try:
            outcome["value"] = await main()
        except asyncio.CancelledError as exc:
            outcome["error"] = KeyboardInterrupt() if outcome.get("interrupted") else exc
        except BaseException as exc:  # re-raised below, outside the reactor
            outcome["error"] = exc
        finally:
            reactor.stop()

    def interrupt() -> None:
        # Ctrl-C cancels `main` (a crawl records its runs as interrupted and writes what it
        # fetched), then the reactor stops as usual. Raised inside reactor.run() instead, the
        # KeyboardInterrupt left Twisted's thread pool running and the process hung at exit.
        task = outcome.get("task")
        if task is not None and not task.done():
            outcome["interrupted"] = True
            task.cancel()

    def begin() -> None:
        outcome["task"] = asyncio.ensure_future(wrapper())
        loop = reactor._asyncioEventloop  # the reactor's loop, not yet running when this is called
        try:
            loop.add_signal_handler(signal.SIGINT, interrupt)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            return
        outcome["loop"] = loop

    reactor.callWhenRunning(begin)
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        if (loop := outcome.get("loop")) is not None:
            loop.remove_signal_handler(signal.SIGINT)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
