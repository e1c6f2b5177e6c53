"""Edits and takedowns: re-fetch stored articles and decide what happened to each (pure rules).

A 404/410, a redirect to a section or front page, or a "content deleted" placeholder
marks an article removed; a substantive change of title or text is kept as a new
version. Nothing is ever deleted from the database by this.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from crawler.normalize import normalize_text

Outcome = Literal["unchanged", "not_modified", "edited", "removed", "failed"]

# Placeholders Chinese and English sites show instead of a deleted article (HTTP 200).
REMOVED_PHRASES = re.compile(
    r"(该内容已被删除|内容已删除|已被删除|文章不存在|页面不存在|您访问的页面不存在|内容不存在|"
    r"此内容因违规无法查看|该文章已被作者删除|page not found|this article (is no longer|has been removed))",
    re.IGNORECASE,
)
EDIT_SIMILARITY = 0.95  # below this ratio of normalised text, an edit is substantive
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class RecheckVerdict:
    outcome: Outcome
    reason: str


def _path_depth(url: str) -> int:
    path = urlsplit(url).path
    segments = [s for s in path.split("/") if s and not re.fullmatch(r"index\.\w+|default\.\w+", s)]
    return len(segments)


def judge_response(status: int, requested_url: str, final_url: str, page_text: str | None) -> RecheckVerdict | None:
    """Removed or not modified from the response alone; None when the content must be compared."""
    if status == 304:
        return RecheckVerdict("not_modified", "304 Not Modified")
    if status in (404, 410):
        return RecheckVerdict("removed", f"HTTP {status}")
    if status >= 400:
        return RecheckVerdict("failed", f"HTTP {status}")
    if final_url != requested_url and _path_depth(final_url) <= 1 < _path_depth(requested_url):
        return RecheckVerdict("removed", f"redirected to {final_url}")
    if page_text is not None and len(page_text) < 2000 and REMOVED_PHRASES.search(page_text):
        return RecheckVerdict("removed", "the page says the content was deleted")
    return None


def judge_change(old_title: str, old_text: str, new_title: str, new_text: str) -> RecheckVerdict:
    """Edited when the title changed or the text changed by more than a few percent."""
    def canon(value: str) -> str:
        return _SPACE.sub("", normalize_text(value))

    if canon(old_title) != canon(new_title):
        return RecheckVerdict("edited", f"title changed from {old_title!r}")
    old, new = canon(old_text), canon(new_text)
    if old == new:
        return RecheckVerdict("unchanged", "same text")
    ratio = difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()
    if ratio < EDIT_SIMILARITY:
        return RecheckVerdict("edited", f"text changed ({ratio:.0%} similar)")
    return RecheckVerdict("unchanged", f"minor change ({ratio:.0%} similar)")
