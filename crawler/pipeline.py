"""Item pipeline: match topics and store each article once.

Storing goes through the crawl's `ArticleWriter` (batched, on a thread of its own), so
`process_item` awaits it without holding up the reactor.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.discovery.outlets import outlet_of
from crawler.discovery.outlinks import follow_citations
from crawler.normalize import content_hash
from crawler.pool import TextJob
from crawler.spiders.context import ArticleItem
from crawler.writer import PendingArticle, Stored, write_batch
from storage.models import Article

logger = logging.getLogger(__name__)


class StoragePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    async def process_item(self, item: ArticleItem) -> ArticleItem:
        spider: Any = self.crawler.spider
        context = spider.contexts[item.source] if item.source else spider.context
        extracted = item.article
        matches, print_, terms, body_hash = item.matches, item.fingerprint, item.search_terms, item.content_hash
        pool = getattr(context, "pool", None)  # None: matched here (and in bare test contexts)
        if matches is None and pool is not None:
            # Stored from its feed entry, or under the feed's title: matched and segmented in a
            # worker like every page, so this process never loads jieba and the seed.
            analysed = await pool.analyse(TextJob(extracted.title, extracted.text,
                                                  tuple(m.name for m in context.matchers), context.storylines.params,
                                                  extracted.published))
            matches, print_, terms = analysed.matches, analysed.fingerprint, analysed.search_terms
            body_hash = analysed.content_hash
        elif matches is None:
            matches = [matcher.match(extracted.title, extracted.text, extracted.published) for matcher in context.matchers]
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
            content_hash=body_hash or content_hash(extracted.title, extracted.text),
            discovered_via=item.discovered_via,
            outlet=outlet_of(item.canonical_url),
            cited_by_id=item.cited_by,
            feed_title=item.entry.title,
            title_source=item.title_source,
            date_source=item.date_source,
            text_missing=item.text_missing,
        )
        pending = PendingArticle(
            row, matches, alias=item.alias, fingerprint=print_, search_terms=terms,
            check_outlet=_may_be_new_outlet(context, row),
            clear_urls=tuple(dict.fromkeys((item.canonical_url, item.alias or item.canonical_url))),
            # Counted as the batch is settled, on the event loop: a crawl that is cancelled counts it too.
            on_stored=lambda stored: _count(context, item, stored),
        )
        writer = getattr(context, "writer", None)  # None: stored here and now (bare test contexts)
        if writer is None:
            [stored] = write_batch(context.repository, context.storylines, [pending])
            _count(context, item, stored)
        else:
            stored = await writer.store(pending)
        if stored.error is not None:
            raise DropItem(f"could not store {item.canonical_url}")
        if stored.article_id is None:
            return item
        relevant = [m.topic for m in matches if m.relevant]
        if relevant and item.outlinks and context.discovery is not None:
            follow_citations(self.crawler, spider, context, stored.article_id, item.outlinks)
        logger.info(
            "source=%s url=%s stored id=%s storyline=%s topics=%s", context.source.name, item.canonical_url,
            stored.article_id, stored.storyline_id, ",".join(relevant) or "-",
        )
        return item


def _count(context: Any, item: ArticleItem, stored: Stored) -> None:
    tally = context.tally
    tally.touch()
    if stored.error is not None:
        tally.failed += 1
        tally.unfinished += 1  # not marked as seen: the next run fetches it again
        tally.note_failure(f"{item.canonical_url}: {stored.error}")
        logger.error("source=%s url=%s could not store: %s", context.source.name, item.canonical_url, stored.error)
    elif stored.article_id is None:
        tally.duplicate += 1
    else:
        tally.new += 1
        if item.text_missing:
            tally.text_missing += 1


def _may_be_new_outlet(context: Any, row: Article) -> bool:
    """Whether the row's outlet could be one no listed source covers (the writer checks the stored articles)."""
    if row.discovered_via == "listed" or not row.outlet or context.discovery is None:
        return False
    return row.outlet not in context.discovery.settings.listed_outlets
