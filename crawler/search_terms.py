"""Search terms for the full-text index: the crawler's normalisation and segmentation, once more.

A document is indexed under its words and the shorter words inside them (jieba's
search mode), a query is split into its words (precise mode): every word of the
query is then among the document's terms even where jieba cut the document's longer
compound whole. Both sides are folded by `normalize_text` first, so traditional and
simplified script, full-width letters and case find each other. Latin words are indexed and
searched by their Snowball English stem (PyStemmer), so "dragon" finds "dragons" and
"competes" finds "competing", as PostgreSQL's english configuration or Miniflux's search would.
Both sides stem the same way, so a pinyin word that happens to lose an ending (nanjing →
nanj) still finds itself.
"""

from __future__ import annotations

import re
import threading

import Stemmer

from crawler.normalize import normalize_text
from crawler.topics.segment import Segmenter

# What the segmenter leaves out: words of other scripts (Cyrillic, Greek, Arabic, kana, Hangul …),
# one term a run, and symbols (emoji, ★, ☎), one term each.
_OTHER_WORDS = re.compile(r"[^\W\d_a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SYMBOLS = re.compile("[\u2190-\u2bff\U0001f000-\U0001faff]")
# SQLite's FTS5 tokenizer drops symbols as separators: a symbol's term is a private-use
# character (a token character to it) and its code point, which no text spells.
_SYMBOL_MARK = "\ue000"


_stemmers = threading.local()  # a PyStemmer object is not safe to share between threads


def stems(words: list[str]) -> list[str]:
    """The distinct `words`, each Latin word replaced by its English stem (other words unchanged), in order."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    distinct = list(dict.fromkeys(words))  # a page repeats its words: stem each once, in one call
    latin = [word for word in distinct if word.isascii()]
    stemmed = dict(zip(latin, stemmer.stemWords(latin), strict=True))
    return list(dict.fromkeys([stemmed.get(word, word) for word in distinct]))


def other_terms(text: str) -> list[str]:
    """Terms for the words and symbols `Segmenter` skips, from normalised text."""
    return [*_OTHER_WORDS.findall(text), *(f"{_SYMBOL_MARK}{ord(ch):x}" for ch in _SYMBOLS.findall(text))]


class SearchAnalyzer:
    """The `storage.search.Analyzer` the composition root hands to storage."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        # jieba's own dictionary only: topic terms would make the index depend on the configuration.
        self.segmenter = segmenter or Segmenter()

    def index_terms(self, text: str) -> list[str]:
        folded = normalize_text(text)
        return list(dict.fromkeys([*stems(self.segmenter.search_words(folded)), *other_terms(folded)]))

    def query_terms(self, text: str) -> list[str]:
        # Other scripts' words and symbols only when the query has nothing else: articles indexed
        # before they were terms are still found by the words next to them.
        folded = normalize_text(text)
        return list(dict.fromkeys(stems(self.segmenter.words(folded)) or other_terms(folded)))
