"""The digest ledger: which article went into which digest of a topic.

An article is *pending* for a topic when it is relevant to it (`ArticleTopic.relevant`)
and has no `DigestItem` row for that topic. Items exist only for digests that are
`pending` (being sent right now) or `sent`: a failed send deletes its items, which
releases the articles to the next digest. The unique constraint on
`digest_item (topic, article_id)` is what makes "each article in at most one digest
per topic" true even when two processes claim at the same moment.

Lifecycle of one digest::

    claim()  ──►  pending  ──mark_sent()──►  sent
                     │
                     └──release()/release_stale()──►  failed (items deleted)

Every method is one short transaction; none is held open across SMTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import Article, ArticleTopic, Digest, DigestItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerArticle:
    """An article as a digest sees it: the row plus why it matched the topic."""

    article: Article
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True)
class CoveragePoint:
    """One relevant article reduced to what the coverage chart needs."""

    source_name: str
    at: datetime  # published_at, or fetched_at when the publication time is unknown


class DigestLedger:
    """Claims, releases and records digests; the only place with digest queries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reading ---------------------------------------------------------------
    def pending(self, topic: str) -> list[LedgerArticle]:
        """Articles relevant to `topic` that no pending or sent digest holds (for previews)."""
        claimed = sa.exists().where(
            col(DigestItem.topic) == topic, col(DigestItem.article_id) == col(ArticleTopic.article_id)
        )
        query = (
            select(Article, ArticleTopic)
            .join(ArticleTopic, col(ArticleTopic.article_id) == col(Article.id))
            .where(col(ArticleTopic.topic) == topic, col(ArticleTopic.relevant).is_(True), ~claimed)
            .order_by(col(Article.id))
        )
        with Session(self.engine) as session:
            return [_ledger_article(a, t) for a, t in session.exec(query).all()]

    def articles_of(self, digest_id: int) -> list[LedgerArticle]:
        """The articles a digest holds."""
        query = (
            select(Article, ArticleTopic)
            .join(DigestItem, col(DigestItem.article_id) == col(Article.id))
            .join(
                ArticleTopic,
                sa.and_(
                    col(ArticleTopic.article_id) == col(Article.id), col(ArticleTopic.topic) == col(DigestItem.topic)
                ),
            )
            .where(col(DigestItem.digest_id) == digest_id)
            .order_by(col(Article.id))
        )
        with Session(self.engine) as session:
            return [_ledger_article(a, t) for a, t in session.exec(query).all()]

    def coverage(self, topic: str) -> list[CoveragePoint]:
        """Every article ever relevant to `topic`, for the volume chart."""
        query = (
            select(Article.source_name, Article.published_at, Article.fetched_at)
            .join(ArticleTopic, col(ArticleTopic.article_id) == col(Article.id))
            .where(col(ArticleTopic.topic) == topic, col(ArticleTopic.relevant).is_(True))
        )
        with Session(self.engine) as session:
            return [CoveragePoint(name, published or fetched) for name, published, fetched in session.exec(query).all()]

    def get(self, digest_id: int) -> Digest | None:
        with Session(self.engine) as session:
            return session.get(Digest, digest_id)

    def last_sent(self, topic: str) -> Digest | None:
        """The topic's most recent sent digest (its `period_end` starts the next period)."""
        query = (
            select(Digest)
            .where(col(Digest.topic) == topic, col(Digest.status) == "sent")
            .order_by(col(Digest.period_end).desc(), col(Digest.id).desc())
            .limit(1)
        )
        with Session(self.engine) as session:
            return session.exec(query).first()

    def list_digests(self, topic: str | None = None, limit: int | None = 50) -> list[Digest]:
        """Past digests, newest first."""
        query = select(Digest)
        if topic is not None:
            query = query.where(col(Digest.topic) == topic)
        query = query.order_by(col(Digest.created_at).desc(), col(Digest.id).desc())
        if limit:
            query = query.limit(limit)
        with Session(self.engine) as session:
            return list(session.exec(query).all())

    # -- writing ---------------------------------------------------------------
    def claim(
        self, topic: str, *, now: datetime, period_start: datetime | None, allow_empty: bool = False
    ) -> Digest | None:
        """Create a pending digest holding every pending article of `topic`, atomically.

        Returns None (and records nothing) when nothing is pending and `allow_empty`
        is false. `INSERT … SELECT … ON CONFLICT DO NOTHING` means a concurrent claim
        that got there first keeps its articles: on PostgreSQL the second insert waits
        for the first transaction and then skips its rows; on SQLite `BEGIN IMMEDIATE`
        serialises the two claims.
        """
        with Session(self.engine) as session:
            digest = Digest(topic=topic, created_at=now, period_start=period_start, period_end=now, status="pending")
            session.add(digest)
            session.flush()
            digest_id = digest.id
            assert digest_id is not None
            already = sa.exists().where(
                col(DigestItem.topic) == topic, col(DigestItem.article_id) == col(ArticleTopic.article_id)
            )
            pending = sa.select(
                sa.literal(digest_id, sa.Integer), sa.literal(topic, sa.String), col(ArticleTopic.article_id)
            ).where(col(ArticleTopic.topic) == topic, col(ArticleTopic.relevant).is_(True), ~already)
            statement = (
                self._insert(DigestItem)
                .from_select(["digest_id", "topic", "article_id"], pending)
                .on_conflict_do_nothing(index_elements=["topic", "article_id"])
            )
            session.exec(statement)  # type: ignore[call-overload]
            count = int(
                session.exec(
                    select(sa.func.count()).select_from(DigestItem).where(col(DigestItem.digest_id) == digest_id)
                ).one()
            )
            if count == 0 and not allow_empty:
                session.rollback()
                return None
            digest.article_count = count
            session.add(digest)
            session.commit()
            session.refresh(digest)
        logger.info("digest %s claimed for topic %r: %d article(s)", digest_id, topic, count)
        return digest

    def mark_sent(self, digest_id: int, *, sent_at: datetime, message_id: str | None) -> bool:
        """Record that the SMTP server accepted the digest. False if it was no longer pending."""
        with Session(self.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                sa.update(Digest)
                .where(col(Digest.id) == digest_id, col(Digest.status) == "pending")
                .values(status="sent", sent_at=sent_at, message_id=message_id, error=None)
            )
            session.commit()
            updated = bool(result.rowcount)
        if not updated:
            logger.warning("digest %s was not pending when its delivery was recorded", digest_id)
        return updated

    def release(self, digest_id: int, error: str) -> int:
        """Mark a pending digest failed and free its articles for the next one.

        Returns how many articles were released (0 if the digest was not pending,
        e.g. already sent: a sent digest is never released).
        """
        with Session(self.engine) as session:
            result = session.exec(  # type: ignore[call-overload]
                sa.update(Digest)
                .where(col(Digest.id) == digest_id, col(Digest.status) == "pending")
                .values(status="failed", error=error[:2000])
            )
            if not result.rowcount:
                session.rollback()
                return 0
            deleted = session.exec(  # type: ignore[call-overload]
                sa.delete(DigestItem).where(col(DigestItem.digest_id) == digest_id)
            )
            session.commit()
            released = int(deleted.rowcount or 0)
        logger.info("digest %s released %d article(s): %s", digest_id, released, error)
        return released

    def release_stale(self, topic: str, *, older_than: datetime) -> list[int]:
        """Release pending digests created before `older_than` (their process died).

        This is the one place a duplicate can come from: if the process died after
        the SMTP server accepted the message but before `mark_sent`, the released
        articles will be sent again.
        """
        query = select(Digest.id).where(
            col(Digest.topic) == topic, col(Digest.status) == "pending", col(Digest.created_at) < older_than
        )
        with Session(self.engine) as session:
            stale = [int(i) for i in session.exec(query).all() if i is not None]
        released = []
        for digest_id in stale:
            logger.warning("digest %s of topic %r was left pending; releasing its articles", digest_id, topic)
            self.release(digest_id, "abandoned: the sending process stopped before recording the outcome")
            released.append(digest_id)
        return released

    # -- helpers ---------------------------------------------------------------
    def _insert(self, model: type) -> sa.Insert:
        table = model.__table__  # type: ignore[attr-defined]
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table)
        if dialect == "postgresql":
            return postgresql.insert(table)
        raise NotImplementedError(f"the digest ledger does not support {dialect}")


def _ledger_article(article: Article, match: ArticleTopic) -> LedgerArticle:
    try:
        terms = json.loads(match.matched or "[]")
    except ValueError:
        terms = []
    matched: Sequence[str] = [str(t) for t in terms] if isinstance(terms, list) else []
    return LedgerArticle(article=article, score=float(match.score), matched=tuple(matched))
