"""The one text normalisation: NFKC, full-width to half-width, traditional to simplified
Chinese (with Taiwan and Hong Kong usage), case folding.

`normalize_text` is the single fold that topic rules, seed similarity, storylines,
`content_hash`, the extractor's Chinese line rules and the digest's highlighting all
apply, so a term, a shingle or a hash computed on 六小龍 in a Hong Kong reprint is the
same as on 六小龙 in the mainland original. `normalize_with_offsets` is the same fold
keeping, for each folded character, where it came from, so a match found in folded
text can be marked in the text a reader sees.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache, lru_cache

import opencc

# OpenCC conversions applied in order: Taiwan variants, then Hong Kong variants (衞→卫),
# each also folding traditional characters to simplified. OpenCC's phrase-level Taiwan
# conversion (tw2sp) is deliberately not used: besides 軟體→软件 it rewrites words that
# are also standard in the mainland (複製→拷贝, 影片→视频), which would make a rule term
# 复制 miss a Taiwan reprint.
_OPENCC_CHAIN = ("tw2s", "hk2s")

# Everyday Taiwan and Hong Kong words that keep their form through OpenCC but that
# mainland rule terms spell differently ("为甚么" must match a term "为什么"). Only
# words with a single, unambiguous mainland equivalent belong here.
_REGIONAL_WORDS = {
    "甚么": "什么",
    "机械人": "机器人",
    "人工智慧": "人工智能",
    "软体": "软件",
    "晶片": "芯片",
    "网路": "网络",
    "伺服器": "服务器",
    "数位": "数字",
}
_REGIONAL = re.compile("|".join(map(re.escape, _REGIONAL_WORDS)))


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


# OpenCC maps no character below U+2E80 (CJK radicals, where the Han blocks begin), and its
# phrases are made of Han characters (tests/crawler/test_normalize.py checks every one below):
# a text without any such character, an English page, is left as it is without two passes.
_MAY_CONVERT = re.compile(r"[\u2e80-\U0010ffff]")


def to_simplified(text: str) -> str:
    """Traditional (Taiwan, Hong Kong or generic) Chinese to simplified, other scripts untouched."""
    if _MAY_CONVERT.search(text) is None:
        return text
    for config in _OPENCC_CHAIN:
        text = _converter(config).convert(text)
    return _REGIONAL.sub(lambda m: _REGIONAL_WORDS[m.group(0)], text)


# A page's text is folded by matching, the search index, the storyline fingerprint and the body
# hash in turn, each from the same title and text: the last few results are kept (a hit costs
# the string's hash, a few µs, where folding a 4,000-character page costs 0.15 ms).
@lru_cache(maxsize=8)
def normalize_text(text: str) -> str:
    """Fold script, width and case so 六小龍, 六小龙 and full-width Ｄｅｅｐｓｅｅｋ compare equal.

    NFKC maps full-width ASCII and the ideographic space to their half-width forms;
    OpenCC then maps traditional characters (Taiwan and Hong Kong variants) to simplified
    ones, and a short list of regional words to their mainland form;
    `casefold` is a stronger `lower` (ß→ss). Idempotent, and length may change.
    """
    folded = unicodedata.normalize("NFKC", text)
    return to_simplified(folded).casefold()


class _CharacterFold(dict[str, str]):
    """NFKC then case folding of one character, computed once per character ever seen.

    A lookup costs a tenth of calling both (highlighting a digest folds every excerpt), and the
    table holds at most the distinct characters read: a few thousand.
    """

    def __missing__(self, character: str) -> str:
        folded = self[character] = unicodedata.normalize("NFKC", character).casefold()
        return folded


_CHARACTER_FOLD = _CharacterFold()


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """`normalize_text(text)` and, for each of its characters, the index in `text` it came from.

    NFKC and case folding run character by character (so ﬁ → fi maps both letters to
    the ligature); the Chinese fold runs on the whole string when it keeps the length,
    as it almost always does, and character by character when a phrase rule changed it.
    """
    pieces = list(map(_CHARACTER_FOLD.__getitem__, text))
    joined = "".join(pieces)
    # No character folds to nothing (checked over all of Unicode in the tests): the same length means one for one.
    origin = list(range(len(text))) if len(joined) == len(text) else [
        index for index, piece in enumerate(pieces) for _ in piece]
    folded = to_simplified(joined)
    if len(folded) != len(joined):
        folded = "".join(c if len(c := to_simplified(ch)) == 1 else ch for ch in joined)
    return folded, origin


_WHITESPACE = re.compile(r"\s+")


def content_hash(title: str, text: str) -> str:
    """A hash of the article body that survives whitespace and script differences."""
    body = _WHITESPACE.sub("", normalize_text(text or title))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
