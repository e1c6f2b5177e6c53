"""The item a spider hands to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from storage.types import ExtractedArticle, FeedEntry


@dataclass
class ArticleItem:
    canonical_url: str
    article: ExtractedArticle
    entry: FeedEntry
