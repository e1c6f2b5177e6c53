"""Item pipeline: match topics and store each article once."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.discovery.outlets import outlet_of
from crawler.discovery.outlinks import follow_citations
from crawler.normalize import content_hash
from crawler.spiders.context import ArticleItem
from storage.models import Article

logger = logging.getLogger(__name__)


class StoragePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        spider: Any = self.crawler.spider
        context = spider.contexts[item.source] if item.source else spider.context
        extracted = item.article
        matches = item.matches
        if matches is None:
            matches = [matcher.match(extracted.title, extracted.text) for matcher in context.matchers]
        row = Article(
            url=item.canonical_url,
            source_name=context.source.name,
            title=extracted.title,
            author=extracted.author,
            published_at=extracted.published,
            fetched_at=context.clock(),
            language=extracted.language,
            encoding=extracted.encoding,
            text=extracted.text,
            content_hash=content_hash(extracted.title, extracted.text),
            discovered_via=item.discovered_via,
            outlet=outlet_of(item.canonical_url),
            cited_by_id=item.cited_by,
            feed_title=item.entry.title,
            title_source=item.title_source,
            date_source=item.date_source,
            text_missing=item.text_missing,
        )
        row.new_outlet = _is_new_outlet(context, row)
        try:
            article_id = context.repository.add_article(row, matches, alias=item.alias)
            context.repository.clear_url_failures({item.canonical_url, item.alias or item.canonical_url})
        except SQLAlchemyError as exc:
            context.tally.failed += 1
            context.tally.note_error(f"{item.canonical_url}: database error: {exc}")
            logger.error("source=%s url=%s could not store: %s", context.source.name, item.canonical_url, exc)
            raise DropItem(f"could not store {item.canonical_url}") from exc
        if article_id is None:
            context.tally.duplicate += 1
            return item
        context.tally.new += 1
        if item.text_missing:
            context.tally.text_missing += 1
        storyline_id = None
        try:
            storyline_id = context.storylines.assign(
                article_id, title=row.title, text=row.text, content_hash=row.content_hash,
                precomputed=item.fingerprint,
            ).storyline_id
        except SQLAlchemyError as exc:  # stored anyway; the next crawl's assign_pending() places it
            logger.error("source=%s url=%s id=%s storyline not assigned: %s",
                         context.source.name, item.canonical_url, article_id, exc)
        relevant = [m.topic for m in matches if m.relevant]
        if relevant and item.outlinks and context.discovery is not None:
            follow_citations(self.crawler, spider, context, article_id, item.outlinks)
        logger.info(
            "source=%s url=%s stored id=%s storyline=%s topics=%s", context.source.name, item.canonical_url,
            article_id, storyline_id, ",".join(relevant) or "-",
        )
        return item


def _is_new_outlet(context: Any, row: Article) -> bool:
    """An outlet no listed source covers and no stored article came from: something discovery found."""
    if row.discovered_via == "listed" or not row.outlet or context.discovery is None:
        return False
    if row.outlet in context.discovery.settings.listed_outlets:
        return False
    return not context.repository.known_outlets([row.outlet])
