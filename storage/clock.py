"""The clock every package is handed: a function returning an aware UTC `datetime`.

Nothing in mediawatch calls `datetime.now()` outside the composition root and the
command line's defaults; everything else receives a `Clock`, so tests fix time
instead of scrubbing it from their output.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)
