"""Running coroutines on Twisted's asyncio reactor (Scrapy's) from synchronous code.

The reactor must be installed before anything imports `twisted.internet.reactor`,
and it cannot be restarted: one process runs it once. The CLI calls
`run_on_reactor` once per command; the daemon runs its whole life inside it.
"""

from __future__ import annotations

import asyncio
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
        except BaseException as exc:  # re-raised below, outside the reactor
            outcome["error"] = exc
        finally:
            reactor.stop()

    def begin() -> None:
        outcome["task"] = asyncio.ensure_future(wrapper())

    reactor.callWhenRunning(begin)
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
