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

A digest sent to nobody (no recipients, no channels: *archive-only*) is `sent` with no
delivery row and no Message-ID. It advances the archive, but its articles are still
owed to readers: a claim that has someone to send to (`adopt_archived`) moves the items
of the archive-only digests since the last *delivered* one into the new digest, so the
readers' first digest after them holds everything they never got.

Each channel a digest goes to (email, and every Apprise channel) has a
`DigestDelivery` row: created before the first attempt, updated the moment the
channel answers. A digest is `sent` as soon as one channel accepted it (or may have:
`unconfirmed`); channels that failed are retried later from the stored payload
(`undelivered`), so no channel gets a digest twice and none is silently skipped.

Removals and edits (`changes`) have no ledger rows of their own: a digest reports the
changes whose time falls in its period, from the previous *sent* digest's
`period_end` (exclusive) to its own (inclusive). Consecutive sent digests' periods
neither overlap nor leave gaps, and a failed digest never becomes "the previous
sent digest", so its changes fall into the next period. The bounds are the claim
times, not `sent_at`: a change noticed while a digest was being handed to SMTP is
after that digest's `period_end` and lands in the next one instead of between the two.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.db import idempotent_insert
from storage.models import Article, ArticleTopic, ArticleVersion, Digest, DigestDelivery, DigestItem

logger = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


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


@dataclass(frozen=True)
class LedgerChange:
    """An article a digest of the topic listed (or is listing) that was since removed or edited."""

    kind: str  # "removed" | "edited"
    item: LedgerArticle
    at: datetime  # `removed_at` or `edited_at`
    in_this_digest: bool  # listed as new coverage in the digest being built
    earlier: ArticleVersion | None = None  # edited: the version the period began with
    versions: int = 0  # edited: versions kept during the period (one per substantive edit)


@dataclass(frozen=True)
class SentStory:
    """A storyline as the readers first got it: the article a sent digest listed, and when."""

    storyline_id: int
    article: Article
    sent_at: datetime


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

    def sent_storylines(
        self, topic: str, storyline_ids: Iterable[int], *, delivered_only: bool
    ) -> dict[int, SentStory]:
        """Which of these storylines an earlier sent digest of `topic` already listed, and how.

        `delivered_only`: count only digests that reached someone (a topic with readers,
        whose archive-only digests are handed on to the next delivered one), not those
        archived for nobody.
        """
        wanted = sorted(set(storyline_ids))
        if not wanted:
            return {}
        query = (
            select(Article, Digest.sent_at)
            .join(DigestItem, col(DigestItem.article_id) == col(Article.id))
            .join(Digest, col(Digest.id) == col(DigestItem.digest_id))
            .where(col(DigestItem.topic) == topic, col(Digest.status) == "sent")
            .where(col(Article.storyline_id).in_(wanted))
            .order_by(col(Digest.id), col(Article.id))
        )
        if delivered_only:
            query = query.where(_delivered())
        found: dict[int, SentStory] = {}
        with Session(self.engine) as session:
            for article, sent_at in session.exec(query).all():
                assert article.storyline_id is not None and sent_at is not None
                # The first digest that listed the story, and the article it listed first.
                found.setdefault(article.storyline_id, SentStory(article.storyline_id, article, sent_at))
        return found

    def coverage(self, topic: str) -> list[CoveragePoint]:
        """Every article ever relevant to `topic`, for the volume chart."""
        query = (
            select(Article.source_name, Article.published_at, Article.fetched_at)
            .join(ArticleTopic, col(ArticleTopic.article_id) == col(Article.id))
            .where(col(ArticleTopic.topic) == topic, col(ArticleTopic.relevant).is_(True))
        )
        with Session(self.engine) as session:
            return [CoveragePoint(name, published or fetched) for name, published, fetched in session.exec(query).all()]

    def changes(
        self,
        topic: str,
        *,
        since: datetime | None,
        until: datetime,
        digest_id: int | None = None,
        include_pending: bool = False,
    ) -> list[LedgerChange]:
        """Removals and edits in the period `(since, until]` of articles the topic's digests list.

        An article counts when it is relevant to `topic` and a sent digest of the topic
        holds it, or the digest being built does: `digest_id`, or for a preview
        (`include_pending`) the articles no digest holds yet. An article removed in the
        period is reported as removed only, not also as edited. Most relevant first,
        then most recent.
        """
        here: sa.ColumnElement[bool]
        if digest_id is not None:
            here = sa.exists().where(col(DigestItem.digest_id) == digest_id, col(DigestItem.article_id) == col(Article.id))
        elif include_pending:
            here = ~sa.exists().where(col(DigestItem.topic) == topic, col(DigestItem.article_id) == col(Article.id))
        else:
            here = sa.false()
        sent = (
            sa.exists()
            .where(col(DigestItem.topic) == topic, col(DigestItem.article_id) == col(Article.id))
            .where(col(DigestItem.digest_id) == col(Digest.id), col(Digest.status) == "sent")
        )
        query = (
            select(Article, ArticleTopic, here.label("here"))
            .join(ArticleTopic, col(ArticleTopic.article_id) == col(Article.id))
            .where(col(ArticleTopic.topic) == topic, col(ArticleTopic.relevant).is_(True))
            .where(sa.or_(_within(col(Article.removed_at), since, until), _within(col(Article.edited_at), since, until)))
            .where(sa.or_(sent, here))
            .order_by(col(Article.id))
        )
        with Session(self.engine) as session:
            rows = session.exec(query).all()
            edited_ids = [a.id for a, _, _ in rows if not _in(a.removed_at, since, until)]
            versions: dict[int, list[ArticleVersion]] = {}
            if edited_ids:
                kept = session.exec(
                    select(ArticleVersion)
                    .where(col(ArticleVersion.article_id).in_(edited_ids))
                    .where(_within(col(ArticleVersion.captured_at), since, until))
                    .order_by(col(ArticleVersion.captured_at), col(ArticleVersion.id))
                ).all()
                for version in kept:
                    versions.setdefault(version.article_id, []).append(version)
        found = []
        for article, match, in_this in rows:
            item = _ledger_article(article, match)
            if _in(article.removed_at, since, until):
                assert article.removed_at is not None
                found.append(LedgerChange("removed", item, article.removed_at, bool(in_this)))
            elif article.edited_at is not None:
                period = versions.get(article.id or 0, [])
                found.append(
                    LedgerChange("edited", item, article.edited_at, bool(in_this), period[0] if period else None, len(period))
                )
        found.sort(key=lambda c: (-c.item.score, -c.at.timestamp(), c.item.article.id or 0))
        return found

    def get(self, digest_id: int) -> Digest | None:
        with Session(self.engine) as session:
            return session.get(Digest, digest_id)

    def last_sent(self, topic: str) -> Digest | None:
        """The topic's most recent sent digest (its `period_end` starts the next period).

        "Most recent" is by id, the order digests were claimed in, so a clock that
        jumped backwards cannot make an older digest look like the latest.
        """
        query = (
            select(Digest)
            .where(col(Digest.topic) == topic, col(Digest.status) == "sent")
            .order_by(col(Digest.id).desc())
            .limit(1)
        )
        with Session(self.engine) as session:
            return session.exec(query).first()

    def last_delivered(self, topic: str) -> Digest | None:
        """The topic's most recent sent digest that went to someone (not archive-only), by id."""
        query = (
            select(Digest)
            .where(col(Digest.topic) == topic, col(Digest.status) == "sent", _delivered())
            .order_by(col(Digest.id).desc())
            .limit(1)
        )
        with Session(self.engine) as session:
            return session.exec(query).first()

    def owed_to_readers(self, topic: str) -> list[LedgerArticle]:
        """Articles of the archive-only digests since the last delivered one (what `adopt_archived` takes)."""
        query = (
            select(Article, ArticleTopic)
            .join(DigestItem, col(DigestItem.article_id) == col(Article.id))
            .join(ArticleTopic, sa.and_(col(ArticleTopic.article_id) == col(Article.id),
                                        col(ArticleTopic.topic) == col(DigestItem.topic)))
            .where(col(DigestItem.topic) == topic, col(DigestItem.digest_id).in_(_archive_only_since_delivered(topic)))
            .order_by(col(Article.id))
        )
        with Session(self.engine) as session:
            return [_ledger_article(a, t) for a, t in session.exec(query).all()]

    def in_progress(self, topic: str) -> bool:
        """Whether a digest of `topic` is pending: being sent right now, or left by a crashed process."""
        query = select(Digest.id).where(col(Digest.topic) == topic, col(Digest.status) == "pending").limit(1)
        with Session(self.engine) as session:
            return session.exec(query).first() is not None

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

    def archive_only(self, digest_ids: Sequence[int]) -> set[int]:
        """Which of these digests were sent to nobody (archived alone): `sent` in the ledger, shown as archived."""
        if not digest_ids:
            return set()
        with Session(self.engine) as session:
            return {digest_id for digest_id in session.exec(
                select(Digest.id).where(col(Digest.id).in_(list(digest_ids)), col(Digest.status) == "sent",
                                        sa.not_(_delivered()))
            ).all() if digest_id is not None}

    # -- writing ---------------------------------------------------------------
    def claim(
        self, topic: str, *, now: datetime, period_start: datetime | None, allow_empty: bool = False,
        adopt_archived: bool = False,
    ) -> Digest | None:
        """Create a pending digest holding every pending article of `topic`, atomically.

        With `adopt_archived` (the digest goes to someone) it also takes over the items
        of the archive-only digests since the last delivered one (`owed_to_readers`).
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
                idempotent_insert(self.engine, DigestItem)
                .from_select(["digest_id", "topic", "article_id"], pending)
                .on_conflict_do_nothing(index_elements=["topic", "article_id"])
            )
            session.exec(statement)
            if adopt_archived:
                session.exec(
                    sa.update(DigestItem)
                    .where(col(DigestItem.topic) == topic,
                           col(DigestItem.digest_id).in_(_archive_only_since_delivered(topic)))
                    .values(digest_id=digest_id)
                )
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
            result = session.exec(
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
            result = session.exec(
                sa.update(Digest)
                .where(col(Digest.id) == digest_id, col(Digest.status) == "pending")
                .values(status="failed", error=error[:2000])
            )
            if not result.rowcount:
                session.rollback()
                return 0
            deleted = session.exec(
                sa.delete(DigestItem).where(col(DigestItem.digest_id) == digest_id)
            )
            session.commit()
            released = int(deleted.rowcount or 0)
        logger.info("digest %s released %d article(s): %s", digest_id, released, error)
        return released

    def release_stale(self, topic: str, *, older_than: datetime) -> list[int]:
        """Release pending digests created before `older_than` (their process died).

        A stale digest that one channel already accepted (or may have) is not released
        but recorded as sent: its articles went out, and its other channels are
        retried like any failed delivery. Only a digest no channel has seen goes back
        to the pool. The remaining duplicate window is the moment between a channel's
        acceptance and the commit that records it.
        """
        query = select(Digest.id).where(
            col(Digest.topic) == topic, col(Digest.status) == "pending", col(Digest.created_at) < older_than
        )
        with Session(self.engine) as session:
            stale = [int(i) for i in session.exec(query).all() if i is not None]
        released = []
        for digest_id in stale:
            reached = [d for d in self.deliveries(digest_id) if d.status in ("sent", "unconfirmed")]
            if reached:
                logger.warning("digest %s of topic %r was left pending after %s accepted it; recording it as sent",
                               digest_id, topic, ", ".join(d.channel for d in reached))
                self._interrupt_deliveries(digest_id)
                first = min((d.sent_at for d in reached if d.sent_at), default=None) or older_than
                email = next((d for d in reached if d.channel == "email"), None)
                found = _MESSAGE_ID.search(email.payload) if email is not None else None
                self.mark_sent(digest_id, sent_at=first, message_id=found.group(1) if found else None)
                continue
            logger.warning("digest %s of topic %r was left pending; releasing its articles", digest_id, topic)
            self.release(digest_id, "abandoned: the sending process stopped before recording the outcome")
            released.append(digest_id)
        return released

    # -- deliveries per channel ---------------------------------------------------
    def open_deliveries(self, digest_id: int, topic: str, payloads: Sequence[tuple[str, str]]) -> None:
        """Create a pending delivery row per (channel, payload) before the first attempt."""
        if not payloads:
            return
        rows = [
            {"digest_id": digest_id, "topic": topic, "channel": channel, "status": "pending", "attempts": 0,
             "payload": payload}
            for channel, payload in payloads
        ]
        statement = idempotent_insert(self.engine, DigestDelivery).values(rows).on_conflict_do_nothing(
            index_elements=["digest_id", "channel"]
        )
        with Session(self.engine) as session:
            session.exec(statement)
            session.commit()

    def record_delivery(
        self, digest_id: int, channel: str, status: str, *, at: datetime, error: str | None = None
    ) -> bool:
        """Record one attempt's outcome: "sent", "failed" or "unconfirmed".

        A delivery already `sent` never changes again (False is returned): whatever a
        late retry reports, the channel has its copy.
        """
        values: dict[str, object] = {
            "status": status, "attempts": col(DigestDelivery.attempts) + 1,
            "error": None if status == "sent" else (error or "")[:2000],
        }
        if status in ("sent", "unconfirmed"):
            values["sent_at"] = at
        with Session(self.engine) as session:
            result = session.exec(
                sa.update(DigestDelivery)
                .where(col(DigestDelivery.digest_id) == digest_id, col(DigestDelivery.channel) == channel)
                .where(col(DigestDelivery.status) != "sent")
                .values(**values)
            )
            session.commit()
            return bool(result.rowcount)

    def deliveries(self, digest_id: int) -> list[DigestDelivery]:
        """One digest's delivery rows, in the order they were opened."""
        query = select(DigestDelivery).where(col(DigestDelivery.digest_id) == digest_id).order_by(col(DigestDelivery.id))
        with Session(self.engine) as session:
            return list(session.exec(query).all())

    def undelivered(self, topic: str, *, max_attempts: int, stale_before: datetime) -> list[DigestDelivery]:
        """Deliveries of the topic's sent digests still owed: failed, unconfirmed or interrupted.

        A delivery still `pending` counts only when its digest was created before
        `stale_before` (its process died; a younger one may be sending right now).
        Oldest first; a delivery that has used up `max_attempts` is given up on (it
        stays `failed` with its last error, for `mediawatch digests` to show).
        """
        owed = sa.or_(
            col(DigestDelivery.status).in_(("failed", "unconfirmed")),
            sa.and_(col(DigestDelivery.status) == "pending", col(Digest.created_at) < stale_before),
        )
        query = (
            select(DigestDelivery)
            .join(Digest, col(Digest.id) == col(DigestDelivery.digest_id))
            .where(col(DigestDelivery.topic) == topic, col(Digest.status) == "sent")
            .where(owed)
            .where(col(DigestDelivery.attempts) < max_attempts)
            .order_by(col(DigestDelivery.id))
        )
        with Session(self.engine) as session:
            return list(session.exec(query).all())

    def _interrupt_deliveries(self, digest_id: int) -> None:
        with Session(self.engine) as session:
            session.exec(
                sa.update(DigestDelivery)
                .where(col(DigestDelivery.digest_id) == digest_id, col(DigestDelivery.status) == "pending")
                .values(status="failed", error="interrupted: the sending process stopped")
            )
            session.commit()


def _delivered() -> sa.ColumnElement[bool]:
    """A digest that went to someone: a delivery row, or a Message-ID (email digests from before deliveries)."""
    return sa.or_(
        col(Digest.message_id).is_not(None),
        sa.exists().where(col(DigestDelivery.digest_id) == col(Digest.id)),
    )


def _archive_only_since_delivered(topic: str) -> Any:
    """Ids of the topic's sent archive-only digests claimed after its last delivered digest."""
    last = (
        sa.select(sa.func.coalesce(sa.func.max(Digest.id), 0))
        .where(col(Digest.topic) == topic, col(Digest.status) == "sent", _delivered())
        .scalar_subquery()
    )
    archive_only = aliased(Digest, name="archive_only")
    return (
        sa.select(col(archive_only.id))
        .where(col(archive_only.topic) == topic, col(archive_only.status) == "sent")
        .where(col(archive_only.message_id).is_(None))
        .where(~sa.exists().where(col(DigestDelivery.digest_id) == col(archive_only.id)))
        .where(col(archive_only.id) > last)
    )


def _within(column: Any, since: datetime | None, until: datetime) -> sa.ColumnElement[bool]:
    """`column` in the period `(since, until]`; an open start when `since` is None (the first digest)."""
    inside = sa.and_(column.is_not(None), column <= until)
    return sa.and_(inside, column > since) if since is not None else inside


def _in(moment: datetime | None, since: datetime | None, until: datetime) -> bool:
    return moment is not None and moment <= until and (since is None or moment > since)


def _ledger_article(article: Article, match: ArticleTopic) -> LedgerArticle:
    try:
        terms = json.loads(match.matched or "[]")
    except ValueError:
        terms = []
    matched: Sequence[str] = [str(t) for t in terms] if isinstance(terms, list) else []
    return LedgerArticle(article=article, score=float(match.score), matched=tuple(matched))
