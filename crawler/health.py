"""Health (pure): when a source counts as failing or silent, how far to back it off, and when to retry an article URL.

A source's health is about the source: its feed, listing or sitemap fetch and
whether it still yields entries. An article page that fails is counted against
its URL (`url_retry_at`), with its own backoff and a point where we give up, so
one dead link never makes a working source unhealthy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crawler.config import SourceConfig
from storage.durations import format_duration
from storage.models import Source


def assess_health(source: SourceConfig, state: Source, now: datetime, *, unhealthy_after: int) -> tuple[bool, str | None]:
    """(healthy, reason). Failing N runs in a row, or nothing new for too long, is unhealthy."""
    if state.consecutive_failures >= unhealthy_after:
        return False, f"failed {state.consecutive_failures} runs in a row"
    reference = state.last_new_at or _first_seen(state)
    if reference is not None and state.last_success_at is not None and now - reference > source.silence_limit:
        return False, f"nothing new for {format_duration(now - reference)} (limit {format_duration(source.silence_limit)})"
    return True, None


def _first_seen(state: Source) -> datetime | None:
    # A source that never yielded anything is judged from its first successful run.
    return state.last_success_at if state.last_new_at is None else None


def backoff_interval(source: SourceConfig, state: Source | None, *, unhealthy_after: int, max_backoff: timedelta) -> timedelta:
    """The crawl interval after failures: doubled for each failure past the threshold, capped."""
    interval = source.every
    if state is None or state.consecutive_failures < unhealthy_after:
        return interval
    cap = max(max_backoff, interval)
    backed_off = interval
    # Doubled until the cap, not 2**failures at once: a source dead for weeks multiplied its
    # interval past what a timedelta holds (OverflowError), which stopped the daemon.
    for _ in range(state.consecutive_failures - unhealthy_after + 1):
        if backed_off >= cap:
            break
        backed_off *= 2
    return min(backed_off, cap)


URL_RETRY_FIRST = timedelta(hours=1)
URL_RETRY_MAX = timedelta(days=2)
URL_GIVE_UP_AFTER = 5  # failures: about four days of tries, then the URL is left alone


def url_retry_at(failures: int, now: datetime) -> datetime | None:
    """When a failed article URL may be fetched again: 1 h, 4 h, 16 h, 2 d; None once we give up."""
    if failures >= URL_GIVE_UP_AFTER:
        return None
    return now + min(URL_RETRY_FIRST * 4 ** (failures - 1), URL_RETRY_MAX)
