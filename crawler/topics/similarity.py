"""Similarity of an article to a topic's seed report: TF-IDF cosine, calibrated to [0, 1].

Features, all taken from `normalize_text` output:
- Chinese words from jieba (two characters or more), weighted by jieba's own IDF table
  (`jieba/analyse/idf.txt`, built from a large news corpus); a word it does not know —
  a name, a new coinage — gets the table's median, i.e. counts as rare;
- Chinese character bigrams, at half weight, which catch what segmentation splits
  differently in a short text and in a long one;
- Latin-script words, stop words dropped and a plural "s" stripped;
- one feature per topic term (with all its aliases), so "Nanjing" in an English article
  and 南京 in the Chinese seed count as the same thing.

Term frequencies are sublinear (1 + ln tf). A short article never shares many features
with a long report, so the raw cosine c is put on a scale taken from the seed itself:
the reference r is the median cosine of each of the seed's paragraphs against the rest
of the seed (leave one out), and the score is c / (c + r). A text as close to the seed
as the seed's own paragraphs are to each other scores 0.5, twice as close 0.67; the
score never saturates, so it still ranks texts that are all clearly on topic.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from crawler.topics.segment import Segmenter

BIGRAM_FACTOR = 0.5
TERM_FACTOR = 1.0
LATIN_IDF = 8.0  # about a moderately rare Chinese word in jieba's table
NUMBER_IDF = 3.0
DEFAULT_REFERENCE = 0.3  # when the seed is a single paragraph and cannot calibrate itself
MIN_PARAGRAPH_CHARS = 40
_IDF_CACHE_SIZE = 200_000

_STOP_WORDS = """a about after again against all also an and any are as at be because been before being between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him his
    how i if in into is it its itself just more most much my no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these they this those
    through to too under until up very was we were what when where which while who whom why will with would you your
    said says say new one two year years like may might must per via told"""
_ENGLISH_STOP = frozenset(_STOP_WORDS.split())

_idf_lock = threading.Lock()
_idf: tuple[dict[str, float], float] | None = None


def _jieba_idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table and its median, loaded once per process (read only)."""
    global _idf
    with _idf_lock:
        if _idf is None:
            import jieba

            path = os.path.join(os.path.dirname(jieba.__file__), "analyse", "idf.txt")
            table: dict[str, float] = {}
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    word, _, value = line.rstrip("\n").rpartition(" ")
                    if word:
                        table[word] = float(value)
            _idf = (table, statistics.median(table.values()))
        return _idf


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class Featurizer:
    """Turns normalised text into weighted features (see the module docstring)."""

    def __init__(
        self, segmenter: Segmenter, term_counter: Callable[[str], Mapping[str, int]] | None = None
    ) -> None:
        self.segmenter = segmenter
        self.term_counter = term_counter or (lambda text: {})
        self._table, self._median = _jieba_idf()
        self._cache: dict[str, float] = {}

    def counts(self, text: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for kind, run in self.segmenter.runs(text):
            if kind == "latin":
                if run not in _ENGLISH_STOP and (len(run) > 1 or run.isdigit()):
                    counts["w:" + _stem(run)] += 1
                continue
            for word in self.segmenter.words(run):
                if len(word) > 1:
                    counts["w:" + word] += 1
            for i in range(len(run) - 1):
                counts["b:" + run[i : i + 2]] += 1
        for label, n in self.term_counter(text).items():
            if n:
                counts["t:" + label] += n
        return counts

    def idf(self, feature: str) -> float:
        weight = self._cache.get(feature)
        if weight is None:
            if len(self._cache) > _IDF_CACHE_SIZE:
                self._cache.clear()
            weight = self._cache[feature] = self._idf(feature)
        return weight

    def _idf(self, feature: str) -> float:
        table, median = self._table, self._median
        kind, token = feature[:2], feature[2:]
        if kind == "t:":
            return TERM_FACTOR * median
        if kind == "b:":
            known = table.get(token)
            if known is None:
                # A bigram that is not a word usually straddles two; rate it by its characters.
                known = min(median, (table.get(token[0], median) + table.get(token[1], median)) / 2)
            return BIGRAM_FACTOR * known
        if token.isascii():
            return NUMBER_IDF if token.isdigit() else table.get(token, LATIN_IDF)
        return table.get(token, median)

    def vector(self, counts: Mapping[str, int]) -> dict[str, float]:
        """Sublinear TF × IDF, L2-normalised (empty for an empty text)."""
        weights = {f: (1.0 + math.log(n)) * self.idf(f) for f, n in counts.items() if n > 0}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {f: w / norm for f, w in weights.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(f, 0.0) for f, w in a.items())


class SeedSimilarity:
    """Built once per topic from the seed text; `score` is then cheap for every article."""

    def __init__(self, seed_text: str, featurizer: Featurizer) -> None:
        self.featurizer = featurizer
        seed_counts = featurizer.counts(seed_text)
        self.vector = featurizer.vector(seed_counts)
        self.reference = self._reference(seed_text, seed_counts)

    def _reference(self, seed_text: str, seed_counts: Counter[str]) -> float:
        paragraphs = [p for p in _paragraphs(seed_text) if len(p) >= MIN_PARAGRAPH_CHARS]
        if len(paragraphs) < 3:
            return DEFAULT_REFERENCE
        cosines = []
        for paragraph in paragraphs:
            counts = self.featurizer.counts(paragraph)
            rest = seed_counts - counts
            cosines.append(cosine(self.featurizer.vector(counts), self.featurizer.vector(rest)))
        return max(statistics.median(cosines), 1e-6)

    def raw(self, text: str) -> float:
        """Plain cosine between normalised `text` and the seed."""
        return cosine(self.featurizer.vector(self.featurizer.counts(text)), self.vector)

    def score(self, text: str) -> float:
        """Calibrated similarity in [0, 1) (see the module docstring)."""
        raw = self.raw(text)
        return raw / (raw + self.reference) if raw > 0 else 0.0


def _paragraphs(text: str) -> Iterable[str]:
    return (p.strip() for p in text.splitlines() if p.strip())
