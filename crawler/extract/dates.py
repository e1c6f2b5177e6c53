"""Publication dates: parsing the ways pages write them, and choosing the one that is the article's.

Chinese pages write ``2025年2月10日 10:32``, ``2025-02-10``, ``2025/2/10`` or,
on some portals, ``发布时间：18-03-08``; English ones ``February 10, 2025``
or ``10 Feb 2025``. The date worth having is in the publication meta tags or
next to the headline; the footer's ``© 2008-2025`` and "related news" dates
are not. A naive value is read in the publisher's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, tzinfo
from email.utils import parsedate_to_datetime

import lxml.html

from crawler.extract.page import in_skipped, json_ld

_TIME = r"(?:\s*|T)(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?"
# fmt: off
MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
# fmt: on
_RFC2822 = re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}")
_MONTH_NAME = "(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DATE_PATTERNS = (
    re.compile(rf"(?<!\d)(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*日(?:{_TIME})?"),
    re.compile(
        rf"(?<![\d.])(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})(?!\d)(?:{_TIME})?"
    ),
    re.compile(rf"\b{_MONTH_NAME}\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})\b(?:,?\s*(?:at\s*)?{_TIME})?", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})\s+{_MONTH_NAME}\s+(?P<y>\d{{4}})\b(?:,?\s*{_TIME})?", re.I),
    # Two-digit years only after a label, as on Baidu's 百家号: "发布时间：18-03-08 21:30".
    re.compile(rf"时间\s*[:：]\s*(?P<yy>\d{{2}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?!\d)(?:{_TIME})?"),
)
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|版权|all rights reserved", re.IGNORECASE)

# <meta> names/properties that carry the publication time, most specific first.
# fmt: off
DATE_META = (
    "article:published_time", "og:published_time", "og:article:published_time", "published_time",
    "datepublished", "pubdate", "publishdate", "publish_date", "publish-date", "pubtime", "publishtime",
    "og:release_date", "apub:time", "og:time", "weibo:article:create_at", "dc.date.issued",
    "dcterms.issued", "dc.date", "sailthru.date", "parsely-pub-date",
)
# fmt: on


def choose_published(
    tree: lxml.html.HtmlElement,
    meta: dict[str, str],
    byline_texts: Iterable[str],
    hint: datetime | None,
    local_tz: tzinfo,
) -> datetime | None:
    """Feed date, then publication meta/JSON-LD, then a byline date, then a <time> element.

    A day without a time of day gives way to the first later candidate that names the same
    day with one: CMSs write the day in one meta and the time in another (publishdate
    "2020-01-02", og:release_date "2020-01-02 17:11"), and the bare day read as a midnight
    nobody published at. A candidate on another day never replaces it.
    """
    if hint is not None:
        return hint if hint.tzinfo is not None else hint.replace(tzinfo=local_tz)
    candidates = _published_candidates(tree, meta, byline_texts, local_tz)
    first = next(candidates, None)
    if first is None:
        return None
    published, timed = first
    if timed:
        return published
    return next((later for later, has_time in candidates if has_time and _same_day(later, published)), published)


def _published_candidates(
    tree: lxml.html.HtmlElement, meta: dict[str, str], byline_texts: Iterable[str], local_tz: tzinfo
) -> Iterator[tuple[datetime, bool]]:
    """(date, whether it gives a time of day) for every publication date the page states, best first.

    Lazy: a first candidate with a time of day is the answer, and the rest are never parsed.
    """
    for key in DATE_META:
        if key in meta and (parsed := parse_datetime(meta[key], local_tz)):
            yield parsed, has_time_of_day(meta[key])
    for item in json_ld(tree):
        value = item.get("datePublished")
        if isinstance(value, str) and (parsed := parse_datetime(value, local_tz)):
            yield parsed, has_time_of_day(value)
    for element in tree.iter("time"):
        marked = element.get("pubdate") is not None or element.get("itemprop") == "datePublished"
        written = element.get("datetime") or element.text_content()
        if marked and (parsed := parse_datetime(written, local_tz)):
            yield parsed, has_time_of_day(written)
    for text in byline_texts:
        if parsed := first_byline_date(text, local_tz):
            # find_dates reads a date written without a time as midnight: only another time is one.
            yield parsed, parsed.time() != time()
    for element in tree.iter("time"):
        written = element.get("datetime") or ""
        if not in_skipped(element) and (parsed := parse_datetime(written, local_tz)):
            yield parsed, has_time_of_day(written)


def _same_day(candidate: datetime, day: datetime) -> bool:
    """Whether `candidate` falls on `day`'s date in the zone the day was read in."""
    return candidate.astimezone(day.tzinfo).date() == day.date()


# A time of day as dates are written: 10:00 (ISO 8601, RFC 2822, W3CDTF), 20250212T1000 (ISO basic), 10时.
_TIME_OF_DAY = re.compile(r"\d[:：]\d\d|\dT\d\d|\d\s*[时時点點]")


def has_time_of_day(value: str) -> bool:
    """Whether a written date gives a time of day; "2025-02-12" and "Wed, 12 Feb 2025" are only a day.

    A parser reads a bare day as midnight, a time nobody published at: callers mark such a
    date (`FeedEntry.date_source` "feed-day", "sitemap-day") so that a page's exact time beats it.

    >>> has_time_of_day("2025-02-12"), has_time_of_day("2025-02-12T10:00+08:00")
    (False, True)
    """
    return _TIME_OF_DAY.search(value) is not None


def plausible_year(value: datetime) -> bool:
    """Whether a date can be a news article's: 1990-2100 (not the epoch or year 1 a CMS prints for none)."""
    return 1990 <= value.year <= 2100


def parse_datetime(value: str, local_tz: tzinfo) -> datetime | None:
    """Parse an ISO 8601, RFC 2822 or Chinese/numeric date; naive values are in ``local_tz``.

    >>> from zoneinfo import ZoneInfo
    >>> parse_datetime("2025年2月10日 10:32", ZoneInfo("Asia/Shanghai")).isoformat()
    '2025-02-10T10:32:00+08:00'
    """
    value = value.strip()
    if not value:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        # The e-mail parser is lenient enough to misread "February 10, 2025 2:05 pm".
        if _RFC2822.match(value):
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                parsed = None
        if parsed is None:
            found = find_dates(value)
            parsed = found[0][1] if found else None
    if parsed is None or not plausible_year(parsed):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=local_tz)


def first_byline_date(text: str, local_tz: tzinfo) -> datetime | None:
    """The first date in ``text`` that is not on a copyright line."""
    for position, found in find_dates(text):
        line_start = text.rfind("\n", 0, position) + 1
        line_end = text.find("\n", position)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        # "© 2008-2025 江南日报 版权所有 2025-02-10" is a footer, not a byline.
        if _COPYRIGHT.search(line):
            continue
        return found.replace(tzinfo=local_tz)
    return None


def find_dates(text: str) -> list[tuple[int, datetime]]:
    """Every plausible calendar date (with its time of day, if written) in ``text``, in order."""
    dates: list[tuple[int, datetime]] = []
    taken: list[tuple[int, int]] = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            # "2025年2月10日" must not be read again as part of another pattern's match.
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            groups = match.groupdict()
            month = MONTHS[groups["mon"].lower()] if groups.get("mon") else int(groups["m"])
            try:
                year = int(groups["y"]) if groups.get("y") else 2000 + int(groups["yy"] or 0)
                day = date(year, month, int(groups["d"]))
                clock = _time_of_day(groups)
            except ValueError:
                continue
            if 1990 <= day.year <= 2100:
                dates.append((match.start(), datetime.combine(day, clock)))
                taken.append((match.start(), match.end()))
    return sorted(dates, key=lambda item: item[0])


def strip_dates(text: str) -> str:
    """``text`` without the dates :data:`DATE_PATTERNS` recognise."""
    for pattern in DATE_PATTERNS:
        text = pattern.sub("", text)
    return text


def _time_of_day(groups: dict[str, str | None]) -> time:
    if groups.get("h") is None:
        return time()
    hour = int(groups["h"] or 0)
    ampm = (groups.get("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return time(hour, int(groups["mi"] or 0), int(groups.get("s") or 0))


def is_bare_year(found: str, page_text: str, url: str) -> bool:
    """True when a date is a year padded to 1 January that the page never states.

    htmldate turns a lone "2025" (as in "© 2008-2025") into 2025-01-01.
    """
    match = re.fullmatch(r"(\d{4})-01-01", found.strip()[:10])
    if not match:
        return False
    year = match.group(1)
    spelled = [f"{year}{sep}01{sep}01" for sep in ("-", "/", ".", "")]
    spelled += [f"{year}-1-1", f"{year}/1/1", f"{year}年1月1日", f"{year}年01月01日"]
    return not any(form in page_text or form in url for form in spelled)
