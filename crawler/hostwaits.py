"""Hosts that asked us to wait (429/503 with a long Retry-After), across crawls and rechecks.

During a crawl the wait lives in the spider's `host_waits` (host -> (until, reason)),
which `crawler.fetch.middleware.RetryAfterMiddleware` reads before every request and
fills in when a host answers with a long Retry-After. Between runs it lives in
storage (`host_state`). Every crawler, the source crawl and the recheck alike, starts
from what is stored and stores what it learned, so no process fetches from a host
before the time it asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from storage.repository import Repository

logger = logging.getLogger(__name__)

HostWaits = dict[str, tuple[datetime, str]]


def load_host_waits(repository: Repository) -> HostWaits:
    """The stored waits that have not passed yet, as a spider's `host_waits`."""
    return {
        host: (state.not_before, state.reason or "asked us to wait (Retry-After)")
        for host, state in repository.hosts_waiting().items()
        if state.not_before is not None
    }


def store_host_waits(repository: Repository, waits: Mapping[str, tuple[datetime, str]], *, known: HostWaits) -> None:
    """Store the waits a crawl learned (new hosts, or later times than `known`), one warning each."""
    for host, (until, reason) in waits.items():
        if host in known and known[host][0] >= until:
            continue
        repository.set_host_wait(host, until, reason)
        logger.warning("host=%s asked us to wait until %s: %s", host, until.isoformat(), reason)
