"""How the benchmark decides that an extracted title, author or date is right.

The corpora annotate metadata loosely: Readability's titles keep the site
suffix (``标题 _探索者 _光明网``), bylines keep "By" and a dateline, GNE's
dates may lack the year. The rules below accept those differences and
nothing more:

- title: equal after Unicode (NFKC) folding and whitespace squashing, or the
  annotation is our title followed by a separator and a suffix;
- author: equal after dropping "By"/"Par"/"文/"-style prefixes and list
  separators, or one contains the other (a byline "By Jane Doe March 2" holds
  "Jane Doe"; "青网校园崔宁宁" holds "崔宁宁");
- date: the same calendar day once our timestamp is moved into the
  publisher's time zone (month and day only when the annotation has no year).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.corpora import DateTruth

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "«": '"', "»": '"'})
_TITLE_SUFFIX_START = tuple("-_|–—:：·»[(（【")
_BYLINE_PREFIX = re.compile(
    r"^(?:by|par|von|por|作者|撰文|记者|記者|文)\s*[:：/]?\s+|^(?:文|作者)\s*[:：/]\s*", re.I
)
_NAME_SEPARATORS = re.compile(r"[、,，;；/&|]|\s(?:and|et|und|y)\s")


def _fold(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).translate(_QUOTES).casefold()
    return " ".join(value.split())


def title_matches(ours: str | None, truth: str) -> bool:
    """Our title is the annotated one, or the annotated one is ours plus a site suffix."""
    if not ours:
        return False
    a, b = _fold(ours), _fold(truth)
    if a == b:
        return True
    if not b.startswith(a):
        return False
    rest = b[len(a) :]
    # "@" ends a headline only as " @ blog name" (a blog platform's <title>), never in "me@".
    return rest.lstrip().startswith(_TITLE_SUFFIX_START) or rest.startswith(" @ ")


def _fold_name(value: str) -> str:
    value = _BYLINE_PREFIX.sub("", _fold(value))
    return " ".join(_NAME_SEPARATORS.sub(" ", value).split())


def author_matches(ours: str | None, truth: str) -> bool:
    """Same name(s), or one side is the other plus byline decoration."""
    if not ours:
        return False
    a, b = _fold_name(ours), _fold_name(truth)
    if not a or not b:
        return False
    shorter, longer = sorted((a, b), key=len)
    return a == b or (len(shorter) >= 2 and shorter in longer)


def date_matches(ours: datetime | None, truth: DateTruth, tz: ZoneInfo) -> bool:
    """Same day in the publisher's time zone."""
    if ours is None:
        return False
    local = ours.astimezone(tz) if ours.tzinfo is not None else ours
    return truth.matches(local.date())


def segment_counts(
    output: str, with_segments: tuple[str, ...], without_segments: tuple[str, ...]
) -> tuple[int, int, int, int]:
    """trafilatura's evaluation counts (tp, fn, fp, tn) for one page, after whitespace squashing."""
    text = " ".join(output.split())
    found = [" ".join(segment.split()) in text for segment in with_segments]
    leaked = [" ".join(segment.split()) in text for segment in without_segments]
    return sum(found), len(found) - sum(found), sum(leaked), len(leaked) - sum(leaked)
