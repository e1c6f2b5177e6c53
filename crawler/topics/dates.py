"""A page's date as labelled data and `mediawatch classify` input write it, for a topic's `since`."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?$")


def latest_day(published: str | None) -> date | None:
    """The last day a written date can mean: `2017` → 2017-12-31, `2017-03` → 2017-03-31, an ISO
    date or time → its day; None when empty or unreadable (the page is then judged on its text).

    Labelled data and `mediawatch classify` input often date a page to the month or the year;
    the latest day it can mean is what `since` compares, so a page is never ruled out on a guess.
    """
    value = (published or "").strip()
    if not value:
        return None
    try:
        if partial := _PARTIAL_DATE.match(value):
            year, month = int(partial[1]), int(partial[2] or 12)
            return date(year, month, calendar.monthrange(year, month)[1])
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:  # month 13, year 0, not a date at all
        return None
