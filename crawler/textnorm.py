"""Text normalisation shared by every matcher: NFKC, full-width to half-width,
traditional to simplified Chinese, case folding."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import opencc


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize_text(text: str) -> str:
    """Fold script, width and case so 六小龍, 六小龙 and full-width Ｄｅｅｐｓｅｅｋ compare equal.

    NFKC already maps full-width ASCII to half-width; OpenCC then maps traditional
    characters to simplified ones.
    """
    folded = unicodedata.normalize("NFKC", text)
    return _t2s().convert(folded).casefold()


_WHITESPACE = re.compile(r"\s+")


def content_hash(title: str, text: str) -> str:
    """A hash of the article body that survives whitespace and script differences."""
    body = _WHITESPACE.sub("", normalize_text(text or title))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
