"""Search terms for the full-text index: the crawler's normalisation and segmentation, once more.

A document is indexed under its words and the shorter words inside them (jieba's
search mode), a query is split into its words (precise mode): every word of the
query is then among the document's terms even where jieba cut the document's longer
compound whole. Both sides are folded by `normalize_text` first, so traditional and
simplified script, full-width letters and case find each other.
"""

from __future__ import annotations

from crawler.normalize import normalize_text
from crawler.topics.segment import Segmenter


class SearchAnalyzer:
    """The `storage.search.Analyzer` the composition root hands to storage."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        # jieba's own dictionary only: topic terms would make the index depend on the configuration.
        self.segmenter = segmenter or Segmenter()

    def index_terms(self, text: str) -> list[str]:
        return list(dict.fromkeys(self.segmenter.search_words(normalize_text(text))))

    def query_terms(self, text: str) -> list[str]:
        return list(dict.fromkeys(self.segmenter.words(normalize_text(text))))
