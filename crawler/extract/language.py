"""The language of an article: "zh-Hans", "zh-Hant", "en", another two-letter code, or None.

Templates often keep ``lang="en"`` on Chinese pages (and the reverse), so
the declared language is checked against the script mix of the text, and
Traditional is told from Simplified by how much folding to simplified changes.
"""

from __future__ import annotations

import re

import lxml.html

from crawler.extract.page import HAN
from crawler.normalize import to_simplified

# Share of Han characters that OpenCC t2s changes in traditional text is
# ~20-30%; simplified text changes a handful of ambiguous characters at most.
TRADITIONAL_SHARE = 0.02

_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
# fmt: off
_EN_FUNCTION_WORDS = frozenset({
    "the", "and", "of", "to", "in", "is", "that", "for", "it", "was", "on", "with", "as", "by", "at",
    "from", "he", "she", "said", "are", "be", "has", "have", "his", "her", "they", "an", "this", "not",
    "but", "which",
})
# fmt: on


def choose_language(tree: lxml.html.HtmlElement, text: str) -> str | None:
    """The <html lang> value unless the text plainly contradicts it; else a guess from the text."""
    declared = normalise_language(tree.get("lang") or tree.get("xml:lang") or "", text)
    guessed = guess_language(text)
    if declared is None:
        return guessed
    # Templates often keep lang="en" on Chinese pages (and the reverse):
    # believe the text when it plainly contradicts the attribute.
    if guessed is not None and declared.startswith("zh") != guessed.startswith("zh"):
        return guessed
    return declared


def normalise_language(tag: str, text: str = "") -> str | None:
    """Map an HTML ``lang`` value to "zh-Hans", "zh-Hant", "en" or another two-letter code.

    >>> normalise_language("zh-TW"), normalise_language("en-US"), normalise_language("zh-CN", "简体文字")
    ('zh-Hant', 'en', 'zh-Hans')
    """
    subtags = tag.strip().replace("_", "-").lower().split("-")
    primary = subtags[0]
    if primary in ("zh", "cmn", "yue", "lzh"):
        if any(sub in ("hant", "tw", "hk", "mo") for sub in subtags[1:]):
            return "zh-Hant"
        return _chinese_script(text)
    if len(primary) == 2 and primary.isalpha():
        return primary
    return None


def guess_language(text: str) -> str | None:
    """Guess the language from the script mix; None when unsure."""
    han = len(HAN.findall(text))
    kana = len(_KANA.findall(text))
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = han + kana + hangul + latin
    if not letters:
        return None
    if kana and kana * 20 > han + kana and (han + kana) * 10 > letters * 3:
        return "ja"
    if hangul * 10 > letters * 3:
        return "ko"
    if han * 5 >= letters:
        return _chinese_script(text)
    words = [word.lower() for word in _WORD.findall(text)]
    if latin * 2 > letters and words:
        function_words = sum(word in _EN_FUNCTION_WORDS for word in words)
        if function_words * 10 >= len(words):
            return "en"
    return None


def _chinese_script(text: str) -> str:
    """Tell Traditional from Simplified: "zh-Hant" if folding to simplified changes more than a few percent."""
    sample = "".join(HAN.findall(text))[:5000]
    if not sample:
        return "zh-Hans"
    converted = to_simplified(sample)
    if len(converted) == len(sample):
        changed = sum(a != b for a, b in zip(sample, converted, strict=True))
    else:
        # Phrase tables can change the length; fall back to character by character.
        unique = sorted(set(sample))
        mapped = to_simplified("\n".join(unique)).split("\n")
        differs = {c for c, m in zip(unique, mapped, strict=False) if c != m}
        changed = sum(c in differs for c in sample)
    return "zh-Hant" if changed > len(sample) * TRADITIONAL_SHARE else "zh-Hans"
