"""Text normalisation shared by every matcher: NFKC, full-width to half-width,
traditional to simplified Chinese (with Taiwan and Hong Kong usage), case folding.

`normalize_text` is the single fold that topic rules, seed similarity, storylines and
`content_hash` all apply, so a term, a shingle or a hash computed on 六小龍 in a Hong
Kong reprint is the same as on 六小龙 in the mainland original.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

import opencc

# OpenCC chains applied in order. `tw2sp` must see the traditional text to map Taiwan
# phrases (人工智慧→人工智能, 軟體→软件, 晶片→芯片); `hk2s` then folds Hong Kong
# variants that `tw2sp` leaves (衞→卫). On text that is already simplified both are
# close to identity (tw2sp also maps 影片→视频, which is harmless for matching).
_OPENCC_CHAIN = ("tw2sp", "hk2s")

# Everyday Hong Kong words that OpenCC keeps as they are but that mainland terms are
# written without: "为甚么" must match a rule term "为什么".
_REGIONAL_WORDS = {"甚么": "什么", "机械人": "机器人"}
_REGIONAL = re.compile("|".join(map(re.escape, _REGIONAL_WORDS)))


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional (Taiwan, Hong Kong or generic) Chinese to simplified, other scripts untouched."""
    for config in _OPENCC_CHAIN:
        text = _converter(config).convert(text)
    return _REGIONAL.sub(lambda m: _REGIONAL_WORDS[m.group(0)], text)


def normalize_text(text: str) -> str:
    """Fold script, width and case so 六小龍, 六小龙 and full-width Ｄｅｅｐｓｅｅｋ compare equal.

    NFKC maps full-width ASCII and the ideographic space to their half-width forms;
    OpenCC then maps traditional characters and regional phrases to simplified ones;
    `casefold` is a stronger `lower` (ß→ss). Idempotent, and length may change.
    """
    folded = unicodedata.normalize("NFKC", text)
    return to_simplified(folded).casefold()


_WHITESPACE = re.compile(r"\s+")


def content_hash(title: str, text: str) -> str:
    """A hash of the article body that survives whitespace and script differences."""
    body = _WHITESPACE.sub("", normalize_text(text or title))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
