"""What the web console reads and asks for: the filtered coverage list, runs, crawl requests.

Every method is one short transaction. The coverage list is paged with `limit + 1`
rows instead of a count, so a page costs the same on 100 or 100,000 articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.clock import Clock, utc_now
from storage.models import Article, ArticleTopic, CrawlRequest, CrawlRun, Storyline
from storage.repository import StoredArticle, with_matches
from storage.search import Analyzer, SearchQuery, join_matches, matching_ids, parse_query


def language_tag(tag: str) -> str:
    """A language tag in the case BCP 47 recommends, as languages are stored.

    "zh-hans", "ZH_HANS" → "zh-Hans"; "EN" → "en"; "zh-hant-tw" → "zh-Hant-TW": a filter typed
    in another case found nothing, and said nothing about why.
    """
    first, *rest = tag.strip().replace("_", "-").split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # region
        else:
            parts.append(part.lower())
    return "-".join(parts)


@dataclass(frozen=True)
class CoverageFilter:
    """Which articles a coverage page or search shows. Everything left at None does not filter."""

    topic: str | None = None
    relevant_only: bool = True  # only articles relevant to `topic` (without one: to any topic)
    source: str | None = None
    language: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None  # exclusive
    fetched_from: datetime | None = None
    fetched_to: datetime | None = None  # exclusive
    min_score: float | None = None  # with a topic: its score; without: any topic's
    removed: bool | None = None
    edited: bool | None = None
    query: str | None = None  # full-text search


@dataclass(frozen=True)
class CoveragePage:
    items: list[StoredArticle]
    storyline_sizes: dict[int, int]
    offset: int
    limit: int
    has_more: bool
    terms: tuple[str, ...] = field(default_factory=tuple)  # what the search looked for
    excluded: tuple[str, ...] = field(default_factory=tuple)  # the words after a minus, left out
    searched_nothing: bool = False  # a query was given but held no searchable term (only punctuation, say)


class ConsoleQueries:
    def __init__(self, engine: Engine, analyzer: Analyzer | None = None, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.analyzer = analyzer
        self.clock = clock

    # -- coverage ------------------------------------------------------------
    def search_query(self, query: str | None) -> SearchQuery | None:
        """What `query` asks for; None when there is no search. A query given blank is a search with
        no word in it, as one of only punctuation is: the caller says so rather than list everything."""
        if query is None:
            return None
        if self.analyzer is None:
            return SearchQuery(())
        return parse_query(self.analyzer, query)

    def find_articles(self, wanted: CoverageFilter, *, offset: int = 0, limit: int = 50) -> CoveragePage:
        """Articles matching `wanted`, newest fetched first (a search's: newest stored first)."""
        search = self.search_query(wanted.query)
        if search is not None and search.has_no_word:
            return CoveragePage([], {}, offset, limit, False, searched_nothing=True)
        query, search_order = self._matching(wanted, search)
        if search_order is not None:
            # Search results come newest stored first (ids grow as articles are stored): the order
            # the index can walk without sorting every match.
            query = query.order_by(search_order.desc())
        else:
            query = query.order_by(col(Article.fetched_at).desc(), col(Article.id).desc())
        query = query.offset(offset).limit(limit + 1)
        with Session(self.engine) as session:
            articles = list(session.exec(query).all())
            has_more = len(articles) > limit
            articles = articles[:limit]
            items = with_matches(session, articles)
            sizes = self._storyline_sizes(session, [a.storyline_id for a in articles if a.storyline_id])
        return CoveragePage(items, sizes, offset, limit, has_more, search.terms if search else (),
                            tuple(" ".join(group) for group in search.excluded) if search else ())

    def count_articles(self, wanted: CoverageFilter) -> int:
        """How many articles `find_articles` would list over all its pages: for a page past the end only,
        as it costs a walk over every match."""
        search = self.search_query(wanted.query)
        if search is not None and search.has_no_word:
            return 0
        query = select(sa.func.count()).select_from(self._matching(wanted, search)[0].subquery())
        with Session(self.engine) as session:
            return int(session.exec(query).one())

    def _matching(self, wanted: CoverageFilter, search: SearchQuery | None) -> tuple[Any, Any]:
        """The articles `wanted` selects that contain every term of `search` and none of its excluded
        words, unordered; with terms, also the column the search index walks in order (None without)."""
        query = select(Article)
        if wanted.topic is not None:
            on_topic = [col(ArticleTopic.article_id) == col(Article.id), col(ArticleTopic.topic) == wanted.topic]
            if wanted.relevant_only:
                on_topic.append(col(ArticleTopic.relevant).is_(True))
            if wanted.min_score is not None:
                on_topic.append(col(ArticleTopic.score) >= wanted.min_score)
            query = query.where(sa.exists().where(*on_topic))
        elif wanted.relevant_only or wanted.min_score is not None:
            any_topic = [col(ArticleTopic.article_id) == col(Article.id)]
            if wanted.relevant_only:
                any_topic.append(col(ArticleTopic.relevant).is_(True))
            if wanted.min_score is not None:
                any_topic.append(col(ArticleTopic.score) >= wanted.min_score)
            query = query.where(sa.exists().where(*any_topic))
        if wanted.source:
            query = query.where(col(Article.source_name) == wanted.source)
        if wanted.language:
            # A tag finds itself and its longer forms ("zh": zh-Hans and zh-Hant), as a BCP 47
            # range does: nothing is stored as plain "zh", and that filter used to match nothing.
            tag = language_tag(wanted.language)
            language = col(Article.language)
            query = query.where(sa.or_(language == tag, language.startswith(tag + "-", autoescape=True)))
        for column, low, high in (
            (Article.published_at, wanted.published_from, wanted.published_to),
            (Article.fetched_at, wanted.fetched_from, wanted.fetched_to),
        ):
            if low is not None:
                query = query.where(col(column) >= low)
            if high is not None:
                query = query.where(col(column) < high)
        for column, flag in ((Article.removed_at, wanted.removed), (Article.edited_at, wanted.edited)):
            if flag is not None:
                query = query.where(col(column).is_not(None) if flag else col(column).is_(None))
        dialect = self.engine.dialect.name
        for group in search.excluded if search else ():
            query = query.where(col(Article.id).not_in(matching_ids(dialect, group)))
        if search is None or not search.terms:
            return query, None
        return join_matches(query, col(Article.id), dialect, search.terms)

    def get_article(self, article_id: int) -> StoredArticle | None:
        with Session(self.engine) as session:
            article = session.get(Article, article_id)
            if article is None:
                return None
            return with_matches(session, [article])[0]

    def storyline_sizes(self, storyline_ids: Sequence[int]) -> dict[int, int]:
        with Session(self.engine) as session:
            return self._storyline_sizes(session, storyline_ids)

    @staticmethod
    def _storyline_sizes(session: Session, storyline_ids: Sequence[int]) -> dict[int, int]:
        wanted = list(dict.fromkeys(storyline_ids))
        if not wanted:
            return {}
        rows = session.exec(
            select(Storyline.id, Storyline.article_count).where(col(Storyline.id).in_(wanted))
        ).all()
        return {int(sid): int(count) for sid, count in rows if sid is not None}

    def languages(self) -> list[str]:
        """The languages stored articles are in, for the filter's choices."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(Article.language).where(col(Article.language).is_not(None)).distinct()
            ).all()
        return sorted(str(r) for r in rows if r)

    # -- runs ----------------------------------------------------------------
    def recent_runs(self, *, source: str | None = None, limit: int = 50, before_id: int | None = None) -> list[CrawlRun]:
        """Crawl runs, newest first; `before_id` pages back through older ones."""
        query = select(CrawlRun)
        if source:
            query = query.where(col(CrawlRun.source_name) == source)
        if before_id is not None:
            query = query.where(col(CrawlRun.id) < before_id)
        with Session(self.engine) as session:
            return list(session.exec(query.order_by(col(CrawlRun.id).desc()).limit(limit)).all())

    # -- crawl requests ------------------------------------------------------
    def request_crawl(self, source_name: str, requested_by: str | None) -> int:
        """Ask the running daemon to crawl a source soon."""
        with Session(self.engine) as session:
            request = CrawlRequest(source_name=source_name, requested_at=self.clock(), requested_by=requested_by)
            session.add(request)
            session.commit()
            assert request.id is not None
            return request.id

    def claim_crawl_requests(self, owner: str) -> list[CrawlRequest]:
        """Take every unclaimed request; a conditional UPDATE per row, so two daemons never take the same one."""
        now = self.clock()
        claimed: list[CrawlRequest] = []
        with Session(self.engine, expire_on_commit=False) as session:
            pending = session.exec(
                select(CrawlRequest).where(col(CrawlRequest.claimed_at).is_(None)).order_by(col(CrawlRequest.id))
            ).all()
            for request in pending:
                result = session.exec(
                    sa.update(CrawlRequest)
                    .where(col(CrawlRequest.id) == request.id, col(CrawlRequest.claimed_at).is_(None))
                    .values(claimed_at=now, claimed_by=owner)
                )
                if result.rowcount:
                    claimed.append(request)
            session.commit()
        return claimed

    def pending_crawl_requests(self) -> list[CrawlRequest]:
        with Session(self.engine) as session:
            return list(session.exec(
                select(CrawlRequest).where(col(CrawlRequest.claimed_at).is_(None)).order_by(col(CrawlRequest.id))
            ).all())
