"""The one text fold: what it may skip without changing its result."""

from __future__ import annotations

import sys
import unicodedata

from crawler.normalize import _OPENCC_CHAIN, _converter, normalize_text, normalize_with_offsets, to_simplified


def test_opencc_changes_no_character_below_the_han_blocks() -> None:
    # `to_simplified` skips OpenCC for a text without any character from U+2E80 on: that
    # holds only while OpenCC's dictionaries map none of the characters below it.
    below = [chr(c) for c in range(1, 0x2E80) if not 0xD800 <= c < 0xE000]
    for config in _OPENCC_CHAIN:
        converter = _converter(config)
        assert converter.convert("".join(below)) == "".join(below), config
        assert [c for c in below if converter.convert(c) != c] == [], config


def test_texts_with_and_without_han_characters_fold_as_before() -> None:
    assert normalize_text("Ｈａｎｇｚｈｏｕ’s “Six Little Dragons” — café") == "hangzhou’s “six little dragons” — café"
    assert normalize_text("杭州六小龍與南京") == "杭州六小龙与南京"
    assert to_simplified("Nanjing 為甚麼") == "Nanjing 为什么"


def test_no_character_folds_to_nothing() -> None:
    # `normalize_with_offsets` reads "as long as the text" as "one folded character per character".
    everything = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    assert [c for c in everything if unicodedata.normalize("NFKC", c).casefold() == ""] == []


def test_offsets_point_at_the_character_each_folded_character_came_from() -> None:
    for text in ("杭州六小龍與南京", "Ｄｅｅｐｓｅｅｋ，六小龍", "straße ﬁnal İstanbul", "", "e\u0301 ½"):
        folded, origin = normalize_with_offsets(text)
        assert folded == to_simplified("".join(unicodedata.normalize("NFKC", c).casefold() for c in text))
        assert len(origin) == len(folded)
        expected = [i for i, c in enumerate(text) for _ in unicodedata.normalize("NFKC", c).casefold()]
        assert origin == expected, text
    assert normalize_with_offsets("straße")[1] == [0, 1, 2, 3, 4, 4, 5]
