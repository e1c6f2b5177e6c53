"""Word segmentation for normalised text: jieba's dictionary for Chinese, plain words for Latin script.

The engine is jieba-rs (`rjieba`), jieba's algorithm and dictionary in Rust: the same words
as jieba on every run of the real Chinese text in bench/data (tests/crawler/topics/test_segment.py),
about ten times faster (jieba's pure-Python segmenter cost a crawl 1.6 ms a page) and
without jieba's 60 MB prefix dictionary of Python objects. jieba itself is still installed
for its IDF table (`crawler.topics.similarity`).

A global dictionary with `add_word` would leak one topic's terms into every other topic.
Instead, the plain dictionary is one `rjieba.Jieba` per process, never modified; a set of
terms gets its own instance (about 0.1 s and 25 MB) with those terms added, so 六小龙,
深度求索 or 交汇点 stay whole for that topic only. Instances are cached per process by their
term set: rebuilding a topic's matcher (a new `Segmenter` with the same terms) reuses its
tokenizer, and a segmenter without terms uses the plain one.

The dictionary is loaded on first use: most commands never segment anything.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

# Runs of Han characters, and runs of Latin letters and digits; everything else
# (punctuation, spaces, symbols) only separates tokens.
_HAN_CLASS = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_LATIN_CLASS = r"[a-z0-9]"
_RUNS = re.compile(rf"(?P<han>{_HAN_CLASS}+)|(?P<latin>{_LATIN_CLASS}+)")
_HAN = re.compile(_HAN_CLASS)
_LATIN = re.compile(f"{_LATIN_CLASS}+")

_base_lock = threading.Lock()
_base: Any = None
_with_terms: dict[tuple[str, ...], Any] = {}  # term set -> its tokenizer (guarded by _base_lock)


def _base_tokenizer() -> Any:
    """jieba's default dictionary, loaded once per process and never modified."""
    global _base
    with _base_lock:
        if _base is None:
            import rjieba

            _base = rjieba.Jieba()
            logger.debug("jieba dictionary loaded")
        return _base


def _tokenizer_for(terms: tuple[str, ...]) -> Any:
    """The process's tokenizer for `terms`: the base when there are none, else one shared copy per term set."""
    if not terms:
        return _base_tokenizer()
    with _base_lock:
        tokenizer = _with_terms.get(terms)
        if tokenizer is None:
            import rjieba

            tokenizer = rjieba.Jieba()
            for term in terms:
                # Without a frequency, add_word picks one just high enough for the term
                # to beat its own split (jieba's suggest_freq).
                tokenizer.add_word(term, None, None)
            _with_terms[terms] = tokenizer
            logger.debug("segmenter for %d terms ready", len(terms))
        return tokenizer


class Segmenter:
    """Splits normalised text into words; `terms` are kept whole (for this segmenter only)."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms = tuple(sorted({t for t in terms if t}))
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _jieba(self) -> Any:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = _tokenizer_for(self.terms)
            return self._tokenizer

    def words(self, text: str) -> list[str]:
        """Chinese words (jieba, HMM for unknown words) and Latin words, in order."""
        if _HAN.search(text) is None:  # the Latin words alone, in one call rather than a match at a time
            return _LATIN.findall(text)
        out: list[str] = []
        for match in _RUNS.finditer(text):
            if match.lastgroup == "latin":
                out.append(match.group())
            else:
                out.extend(self._jieba().cut(match.group(), True))
        return out

    def search_words(self, text: str) -> list[str]:
        """`words` plus the shorter words inside long ones (jieba's search mode: 南京市 → 南京, 京市, 南京市).

        A search index built from these finds 南京 in a text where jieba kept 南京市 whole.
        """
        if _HAN.search(text) is None:
            return _LATIN.findall(text)
        out: list[str] = []
        for match in _RUNS.finditer(text):
            if match.lastgroup == "latin":
                out.append(match.group())
            else:
                out.extend(self._jieba().cut_for_search(match.group(), True))
        return out

    @staticmethod
    def runs(text: str) -> list[tuple[str, str]]:
        """The (kind, run) pieces of `text`: kind "han" or "latin"."""
        return [(m.lastgroup or "", m.group()) for m in _RUNS.finditer(text)]
