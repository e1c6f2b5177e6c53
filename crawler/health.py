"""Source health: when a source counts as failing or silent, and how far to back it off (pure)."""

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
    factor = 2 ** (state.consecutive_failures - unhealthy_after + 1)
    return min(interval * factor, max(max_backoff, interval))
