"""The digest's text helpers: what their fast paths may not change."""

from __future__ import annotations

import itertools
import random
import re
import sys
import unicodedata

from crawler.topics.rules import term_spans
from digest.text import display_width, fits, one_line
from storage.text import strip_controls


def test_one_line_breaks_exactly_where_the_character_by_character_rule_did() -> None:
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    by_character = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in everything)
    assert one_line(everything) == re.sub(r"\s+", " ", strip_controls(by_character)).strip()


def test_term_spans_keep_the_longest_alias_first_and_never_overlap() -> None:
    text = "杭州六小龙，六小龍与“小龙”；DeepSeek 和 deepseek-v3，Six Little Dragons 的 dragons。"
    aliases = ["六小龙", "小龙", "DeepSeek", "little dragons", "six little dragons", "dragons", "杭州"]
    spans = term_spans(text, aliases)
    assert [text[s:e] for s, e in spans] == ["杭州", "六小龙", "六小龍", "小龙", "DeepSeek", "deepseek",
                                             "Six Little Dragons", "dragons"]
    # The same answer as checking every kept hit, on random texts made of the aliases' pieces.
    rnd = random.Random(3)
    pieces = ["六", "小", "龙", "龍", "杭州", " ", "Six ", "Little ", "Dragons", "，"]
    for _ in range(300):
        sample = "".join(rnd.choice(pieces) for _ in range(40))
        spans = term_spans(sample, aliases)
        assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans)), sample
        naive: list[tuple[int, int]] = []
        for alias in sorted(set(aliases), key=len, reverse=True):
            for hit in term_spans(sample, [alias]):
                if all(hit[1] <= s or hit[0] >= e for s, e in naive):
                    naive.append(hit)
        assert spans == sorted(naive), sample


def test_fits_agrees_with_measuring_the_whole_text() -> None:
    rnd = random.Random(5)
    pieces = ["南", "a", " ", "e\u0301", "\u0301", "ｗ", "🙂", "\u200b"]
    for _ in range(2000):
        sample = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(0, 40)))
        for width in (0, 1, 5, 10, 20, 40):
            assert fits(sample, width) == (display_width(sample) <= width), (sample, width)
