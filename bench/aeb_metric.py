"""The Article Extraction Benchmark's text metric, re-implemented from its published definition.

Zyte's benchmark (github.com/scrapinghub/article-extraction-benchmark) scores
an extractor's article body against a hand-made one:

- tokens are ``re.findall(r"\\w+", text)`` (Unicode ``\\w``; a run of Chinese
  characters without spaces is one token);
- each text becomes the multiset of its token 4-grams ("shingles"); a text of
  fewer than four tokens gives one short shingle, an empty text none;
- per page, tp = Σ min(true, pred), fp = Σ max(0, pred − true),
  fn = Σ max(0, true − pred) over the shingle counts, then (tp, fp, fn) are
  divided by their sum so that every page weighs the same;
- precision tp/(tp+fp) is averaged over the pages with some output, recall
  tp/(tp+fn) over the pages with some ground truth, and a page where
  fp == fn == 0 scores 1.0 for both;
- F1 is computed from the two averages, not averaged per page;
- accuracy is the share of pages whose token lists are identical.

:func:`han_tokens` is our own variant for Chinese pages, where ``\\w+``
makes a whole sentence one token: every Han character is a token of its own.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SHINGLE_SIZE = 4

_WORD = re.compile(r"\w+")
# CJK Unified Ideographs, Extension A and the compatibility block.
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_OR_WORD = re.compile(rf"[{_HAN_CLASS}]|[^\W{_HAN_CLASS}]+")

Tokenizer = Callable[[str], list[str]]


def aeb_tokens(text: str) -> list[str]:
    """AEB's tokens: maximal runs of Unicode word characters."""
    return _WORD.findall(text or "")


def han_tokens(text: str) -> list[str]:
    """Our character-level tokens: each Han character alone, other word runs as in AEB."""
    return _HAN_OR_WORD.findall(text or "")


def shingles(
    text: str, tokenize: Tokenizer = aeb_tokens, size: int = SHINGLE_SIZE
) -> Counter[tuple[str, ...]]:
    """The multiset of token ``size``-grams; a short text gives one shorter shingle, an empty one none."""
    tokens = tokenize(text)
    grams = (tuple(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1)))
    return Counter(gram for gram in grams if gram)


@dataclass(frozen=True)
class PageScore:
    """One page's normalised shingle counts (tp + fp + fn == 1 unless all are 0)."""

    tp: float
    fp: float
    fn: float
    exact: bool  # same token list as the ground truth

    @property
    def precision(self) -> float | None:
        """None when the page is left out of the precision average (no output)."""
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else None

    @property
    def recall(self) -> float | None:
        """None when the page is left out of the recall average (no ground truth)."""
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else None


def score_page(true: str, pred: str, tokenize: Tokenizer = aeb_tokens) -> PageScore:
    """Compare one predicted body with its ground truth."""
    truth, guess = shingles(true, tokenize), shingles(pred, tokenize)
    tp = fp = fn = 0
    for key in truth.keys() | guess.keys():
        t, p = truth.get(key, 0), guess.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    exact = tokenize(true) == tokenize(pred)
    if total == 0:
        return PageScore(0.0, 0.0, 0.0, exact)
    return PageScore(tp / total, fp / total, fn / total, exact)


@dataclass(frozen=True)
class Scores:
    """Corpus-level figures; F1 from the mean precision and mean recall."""

    f1: float
    precision: float
    recall: float
    accuracy: float
    pages: int


def summarise(pages: Sequence[PageScore]) -> Scores:
    """Macro precision and recall over pages, F1 from them, and exact-match accuracy."""
    precisions = [p for page in pages if (p := page.precision) is not None]
    recalls = [r for page in pages if (r := page.recall) is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    accuracy = sum(page.exact for page in pages) / len(pages) if pages else 0.0
    return Scores(f1, precision, recall, accuracy, len(pages))


def evaluate(pairs: Sequence[tuple[str, str]], tokenize: Tokenizer = aeb_tokens) -> Scores:
    """Score (ground truth, prediction) pairs."""
    return summarise([score_page(true, pred, tokenize) for true, pred in pairs])


def bootstrap_f1_std(pages: Sequence[PageScore], rounds: int = 1000, seed: int = 0) -> float:
    """Standard deviation of F1 over ``rounds`` resamples of the pages (AEB's ±)."""
    if not pages:
        return 0.0
    rng = random.Random(seed)
    values = [summarise(rng.choices(pages, k=len(pages))).f1 for _ in range(rounds)]
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
