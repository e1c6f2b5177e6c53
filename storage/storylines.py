"""Storylines in the database: the LSH index, the storyline rows, and the digest's queries.

The index is three tables (see `storage.models`): `storyline_band` maps each LSH
band key to the articles that have it (its primary key is the lookup index),
`storyline_signature` holds each article's MinHash signature for verifying a
candidate, and `storyline` describes each group. Deciding what matches is not
done here but in `crawler.storylines`; this module only reads and writes.

Assignment runs in one transaction serialised across processes: `BEGIN
IMMEDIATE` on SQLite (see `storage.db`), a transaction-scoped advisory lock on
PostgreSQL. Two processes storing copies of one story at the same moment
therefore see each other, and the second joins the first's storyline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.clock import Clock, utc_now
from storage.errors import StorageError
from storage.models import Article, Storyline, StorylineBand, StorylineSignature

logger = logging.getLogger(__name__)

# SQLModel's table classes get __table__ from SQLAlchemy at class creation; the stubs do not declare it.
_article = Article.__table__  # type: ignore[attr-defined]
_storyline = Storyline.__table__  # type: ignore[attr-defined]
_signature = StorylineSignature.__table__  # type: ignore[attr-defined]
_band = StorylineBand.__table__  # type: ignore[attr-defined]

# pg_advisory_xact_lock key for "storyline assignment" (any constant bigint no one else uses).
_PG_LOCK_KEY = 0x6D77_5354_4F52_59  # "mwSTORY"


def lock_storyline_assignment(connection: sa.Connection) -> None:
    """Serialise storyline assignment across processes for the rest of this transaction.

    A transaction-scoped advisory lock on PostgreSQL; on SQLite the engine's `BEGIN
    IMMEDIATE` already holds the write lock, so there is nothing to take.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))


@dataclass(frozen=True)
class ExactDuplicate:
    article_id: int
    storyline_id: int


@dataclass(frozen=True)
class Candidate:
    """A stored article sharing at least one LSH band with the one being assigned."""

    article_id: int
    storyline_id: int
    shingle_count: int
    signature: bytes = field(repr=False)
    band_hits: int = 0


@dataclass(frozen=True)
class PendingArticle:
    """A stored article that has no storyline yet."""

    article_id: int
    title: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class StorylineMember:
    article_id: int
    storyline_id: int
    source_name: str
    title: str
    url: str
    published_at: datetime | None
    fetched_at: datetime

    @property
    def reported_at(self) -> datetime:
        return self.published_at or self.fetched_at


@dataclass(frozen=True)
class StorylineSummary:
    id: int
    first_article_id: int
    first_source_name: str
    first_reported_at: datetime
    last_joined_at: datetime
    article_count: int
    sources: tuple[str, ...]  # distinct outlets, in the order they reported


def _member_order() -> tuple[sa.ColumnElement, ...]:
    return (sa.func.coalesce(_article.c.published_at, _article.c.fetched_at), _article.c.id)


@lru_cache(maxsize=8)
def _candidates_statement(key_count: int) -> sa.Select:
    """The candidate query for `key_count` band keys, built once: it is a large statement."""
    per_key = [
        sa.select(_band.c.article_id)
        .where(_band.c.band_key == sa.bindparam(f"key_{i}"), _band.c.article_id != sa.bindparam("article_id"))
        .order_by(_band.c.article_id.desc())
        .limit(sa.bindparam("bucket_cap"))
        .subquery()
        for i in range(key_count)
    ]
    found = sa.union_all(*(sa.select(part.c.article_id) for part in per_key)).subquery()
    hits = sa.func.count().label("hits")
    top = (
        sa.select(found.c.article_id, hits)
        .group_by(found.c.article_id)
        .order_by(hits.desc(), found.c.article_id)
        .limit(sa.bindparam("limit"))
        .subquery()
    )
    return (
        sa.select(
            _signature.c.article_id,
            _article.c.storyline_id,
            _signature.c.shingle_count,
            _signature.c.signature,
            top.c.hits,
        )
        .join(top, top.c.article_id == _signature.c.article_id)
        .join(_article, _article.c.id == _signature.c.article_id)
        .where(_article.c.storyline_id.is_not(None))
    )


# The statements every article's assignment runs, built once with placeholders: building
# them with `.values(...)` and `.where(column == value)` for each article cost the crawl's
# writer thread more CPU than running them. SQLAlchemy caches each one's compiled form.
_assigned_article = sa.select(
    _article.c.id,
    _article.c.storyline_id,
    _article.c.source_name,
    _article.c.published_at,
    _article.c.fetched_at,
).where(_article.c.id == sa.bindparam("article_id"))
_same_content = sa.select(_article.c.id, _article.c.storyline_id).where(
    _article.c.content_hash == sa.bindparam("content_hash"),
    _article.c.id != sa.bindparam("article_id"),
    _article.c.storyline_id.is_not(None),
)
_title_and_text = (
    sa.select(_article.c.title, _article.c.text).where(_article.c.id == sa.bindparam("article_id"))
)
_signature_insert = sa.insert(_signature)
_band_insert = sa.insert(_band)
_storyline_insert = sa.insert(_storyline).returning(_storyline.c.id)
_storyline_joined = (
    sa.update(_storyline)
    .where(_storyline.c.id == sa.bindparam("storyline_id"))
    .values(article_count=_storyline.c.article_count + 1, last_joined_at=sa.bindparam("now"))
)
# Parameter names differ from the columns set: an UPDATE reserves those for its SET clause.
_storyline_reported_earlier = (
    sa.update(_storyline)
    .where(
        _storyline.c.id == sa.bindparam("storyline_id"),
        _storyline.c.first_reported_at > sa.bindparam("reported_at"),
    )
    .values(
        first_article_id=sa.bindparam("article_id"),
        first_source_name=sa.bindparam("source_name"),
        first_reported_at=sa.bindparam("reported_at"),
    )
)
_article_storyline_set = (
    sa.update(_article)
    .where(_article.c.id == sa.bindparam("article_id"))
    .values(storyline_id=sa.bindparam("new_storyline_id"))
)


class AssignmentTransaction:
    """The reads and writes of one article's assignment, inside one locked transaction."""

    def __init__(self, connection: sa.Connection, article: sa.Row, now: datetime) -> None:
        self._connection = connection
        self._article = article
        self._now = now
        self.article_id: int = article.id
        self.current_storyline_id: int | None = article.storyline_id

    def find_exact_duplicate(self, content_hash: str) -> ExactDuplicate | None:
        """The earliest stored article with this content hash that already has a storyline."""
        # All copies are read and the earliest picked here: with `ORDER BY id LIMIT 1`
        # PostgreSQL may walk the primary key instead of the hash index, which scans the
        # whole table whenever the hash is new (90 ms at 100k articles, measured).
        rows = self._connection.execute(
            _same_content, {"content_hash": content_hash, "article_id": self.article_id}
        ).all()
        if not rows:
            return None
        first = min(rows, key=lambda row: row.id)
        return ExactDuplicate(first.id, first.storyline_id)

    def find_candidates(self, band_keys: Iterable[int], limit: int, bucket_cap: int = 100) -> list[Candidate]:
        """Stored articles sharing a band key, most shared bands first, at most `limit` of them.

        Each key contributes at most its `bucket_cap` most recent articles, so a key that
        boilerplate made common (an outlet's footer deciding a whole band) costs the same
        at a million articles as at a thousand. A true duplicate shares many bands and is
        still found through the others.
        """
        keys = list(dict.fromkeys(band_keys))
        if not keys:
            return []
        params: dict[str, object] = {f"key_{i}": key for i, key in enumerate(keys)}
        params.update(article_id=self.article_id, bucket_cap=bucket_cap, limit=limit)
        rows = self._connection.execute(_candidates_statement(len(keys)), params).all()
        return [
            Candidate(r.article_id, r.storyline_id, r.shingle_count, bytes(r.signature), r.hits) for r in rows
        ]

    def title_and_text(self, article_id: int) -> tuple[str, str]:
        """A stored article's title and text (to compare a borderline candidate exactly)."""
        row = self._connection.execute(_title_and_text, {"article_id": article_id}).one()
        return row.title, row.text

    def index(self, signature: bytes, shingle_count: int, band_keys: Iterable[int]) -> None:
        """Store the article's signature and band keys so later articles can find it."""
        self._connection.execute(_signature_insert, {
            "article_id": self.article_id, "shingle_count": shingle_count, "signature": signature,
        })
        rows = [{"band_key": key, "article_id": self.article_id} for key in dict.fromkeys(band_keys)]
        if rows:
            # One statement with many parameter sets: compiled once and cached, sent as one batch
            # (psycopg pipelines it). A multi-row VALUES was compiled anew for every article:
            # about a quarter of the storing thread's time in a crawl.
            self._connection.execute(_band_insert, rows)

    def create(self) -> int:
        """Start a new storyline with this article as its first member; returns its id."""
        storyline_id = self._connection.execute(_storyline_insert, {
            "first_article_id": self.article_id,
            "first_source_name": self._article.source_name,
            "first_reported_at": self._reported_at,
            "created_at": self._now,
            "last_joined_at": self._now,
            "article_count": 1,
        }).scalar_one()
        self._set_storyline(storyline_id)
        return int(storyline_id)

    def join(self, storyline_id: int) -> None:
        """Add this article to an existing storyline, and make it the first if it was reported earlier."""
        self._connection.execute(_storyline_joined, {"storyline_id": storyline_id, "now": self._now})
        self._connection.execute(_storyline_reported_earlier, {
            "storyline_id": storyline_id,
            "reported_at": self._reported_at,
            "article_id": self.article_id,
            "source_name": self._article.source_name,
        })
        self._set_storyline(storyline_id)

    @property
    def _reported_at(self) -> datetime:
        return self._article.published_at or self._article.fetched_at

    def _set_storyline(self, storyline_id: int) -> None:
        self._connection.execute(
            _article_storyline_set, {"article_id": self.article_id, "new_storyline_id": storyline_id}
        )
        self.current_storyline_id = storyline_id


class StorylineStore:
    """All storyline queries. Each public method is one short transaction."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    @contextmanager
    def assignment(self, article_id: int, connection: sa.Connection | None = None) -> Iterator[AssignmentTransaction]:
        """A transaction for assigning one stored article, exclusive across processes.

        Committed when the block ends, rolled back if it raises. With `connection`, the
        assignment is part of that connection's transaction instead (a batch of articles
        stored together), which must hold the lock already (`lock_storyline_assignment`).
        """
        if connection is not None:
            yield self._assignment(connection, article_id)
            return
        with self.engine.begin() as own:
            lock_storyline_assignment(own)
            yield self._assignment(own, article_id)

    def _assignment(self, connection: sa.Connection, article_id: int) -> AssignmentTransaction:
        article = connection.execute(_assigned_article, {"article_id": article_id}).first()
        if article is None:
            raise StorageError(
                f"article {article_id} is not stored: store it before assigning a storyline"
            )
        return AssignmentTransaction(connection, article, self.clock())

    def pending_articles(self, limit: int | None = None, batch: int = 200) -> Iterator[PendingArticle]:
        """Articles without a storyline, oldest first, read in short batches."""
        after, served = 0, 0
        while limit is None or served < limit:
            size = batch if limit is None else min(batch, limit - served)
            with self.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(_article.c.id, _article.c.title, _article.c.text, _article.c.content_hash)
                    .where(_article.c.storyline_id.is_(None), _article.c.id > after)
                    .order_by(_article.c.id)
                    .limit(size)
                ).all()
            if not rows:
                return
            for row in rows:
                yield PendingArticle(row.id, row.title, row.text, row.content_hash)
            after, served = rows[-1].id, served + len(rows)

    # -- reading, for the digest and the command line ------------------------
    def storyline_of(self, article_id: int) -> int | None:
        """The storyline an article belongs to (None if it is not stored or not assigned yet)."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(_article.c.storyline_id).where(_article.c.id == article_id)
            ).scalar_one_or_none()

    def get_storyline(self, storyline_id: int) -> StorylineSummary | None:
        found = self.list_storylines(ids=[storyline_id])
        return found[0] if found else None

    def list_storylines(
        self,
        *,
        since: datetime | None = None,
        min_articles: int = 1,
        limit: int | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[StorylineSummary]:
        """Storylines most recently joined first; `since` keeps those joined at or after it."""
        query = sa.select(_storyline).where(_storyline.c.article_count >= min_articles)
        if since is not None:
            query = query.where(_storyline.c.last_joined_at >= since)
        if ids is not None:
            query = query.where(_storyline.c.id.in_(list(ids)))
        query = query.order_by(_storyline.c.last_joined_at.desc(), _storyline.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        members = self.members_by_storyline(row.id for row in rows)
        return [
            StorylineSummary(
                id=row.id,
                first_article_id=row.first_article_id,
                first_source_name=row.first_source_name,
                first_reported_at=row.first_reported_at,
                last_joined_at=row.last_joined_at,
                article_count=row.article_count,
                sources=tuple(dict.fromkeys(m.source_name for m in members.get(row.id, []))),
            )
            for row in rows
        ]

    def storyline_members(self, storyline_id: int) -> list[StorylineMember]:
        """Every article of a storyline, first reported first."""
        return self.members_by_storyline([storyline_id]).get(storyline_id, [])

    def members_by_storyline(self, storyline_ids: Iterable[int]) -> dict[int, list[StorylineMember]]:
        """Members of several storylines at once (a digest groups its entries with this)."""
        wanted = list(dict.fromkeys(storyline_ids))
        result: dict[int, list[StorylineMember]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                rows = connection.execute(
                    sa.select(
                        _article.c.id,
                        _article.c.storyline_id,
                        _article.c.source_name,
                        _article.c.title,
                        _article.c.url,
                        _article.c.published_at,
                        _article.c.fetched_at,
                    )
                    .where(_article.c.storyline_id.in_(wanted[start : start + 500]))
                    .order_by(*_member_order())
                ).all()
                for r in rows:
                    result.setdefault(r.storyline_id, []).append(
                        StorylineMember(
                            r.id, r.storyline_id, r.source_name, r.title, r.url, r.published_at, r.fetched_at
                        )
                    )
        return result
