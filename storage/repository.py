"""All database queries. Each method is one short transaction.

Short transactions matter on SQLite: every transaction there is `BEGIN IMMEDIATE`,
so a session held open across network I/O would block the other process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.clock import Clock, utc_now
from storage.db import dialect_insert, idempotent_insert
from storage.models import (
    Article,
    ArticleAlias,
    ArticleTopic,
    ArticleVersion,
    CrawlRun,
    DaemonState,
    Digest,
    DigestItem,
    HostState,
    JobState,
    Source,
    UrlFailure,
)
from storage.processes import holder_is_dead
from storage.search import Analyzer, document_text, write_terms
from storage.storylines import lock_storyline_assignment
from storage.types import RunOutcome, TopicMatch

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import ReturningInsert

    from storage.db import UpsertInsert

logger = logging.getLogger(__name__)

# SQLModel sets __table__ at runtime; its stubs do not declare it.
_article_table: sa.Table = Article.__table__  # type: ignore[attr-defined]
_topic_table: sa.Table = ArticleTopic.__table__  # type: ignore[attr-defined]
_alias_table: sa.Table = ArticleAlias.__table__  # type: ignore[attr-defined]
_failure_table: sa.Table = UrlFailure.__table__  # type: ignore[attr-defined]


# The statements storing an article runs, built once (per backend where they need its
# `ON CONFLICT`) with placeholders and executed with each article's values: building them
# with `.values(...)` and `.where(column == value)` for every article took about half the
# crawl's writer thread, more than running them. SQLAlchemy caches each one's compiled form.
@lru_cache(maxsize=4)
def _article_insert(dialect: str) -> ReturningInsert[Any]:
    """Insert an article unless its URL is stored; returns its id, or no row."""
    return (
        dialect_insert(dialect, _article_table).on_conflict_do_nothing(index_elements=["url"])
        .returning(_article_table.c.id)
    )


@lru_cache(maxsize=4)
def _alias_insert(dialect: str) -> UpsertInsert:
    return dialect_insert(dialect, _alias_table).on_conflict_do_nothing(index_elements=["url"])


_topic_insert = sa.insert(_topic_table)
_article_id_by_url = sa.select(_article_table.c.id).where(_article_table.c.url == sa.bindparam("url"))
_outlet_article = (
    sa.select(_article_table.c.id).where(_article_table.c.outlet == sa.bindparam("outlet")).limit(1)
)
_url_failures_delete = sa.delete(_failure_table).where(
    _failure_table.c.url.in_(sa.bindparam("urls", expanding=True))
)


class ArticleBatch:
    """The article writes of one transaction (see `Repository.article_batch`)."""

    def __init__(self, repository: Repository, connection: sa.Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name
        self._clock = repository.clock

    def add(
        self, article: Article, matches: Sequence[TopicMatch], *, alias: str | None = None,
        terms: Sequence[str] | None = None,
    ) -> int | None:
        """Insert the article, its topic matches, alias and search terms; None if its URL is stored already.

        An article stored earlier in the same transaction counts as stored: a URL twice in one batch is stored once.
        """
        values = article.model_dump(exclude={"id"})
        article_id = self.connection.execute(_article_insert(self._dialect), values).scalar()
        if article_id is None:
            if alias is not None and alias != article.url:
                self.add_alias(alias, article.url)
            return None
        if matches:
            self.connection.execute(_topic_insert, [
                {"article_id": article_id, "topic": match.topic, "score": match.score, "relevant": match.relevant,
                 "matched": json.dumps(list(match.matched), ensure_ascii=False)}
                for match in matches
            ])
        if alias is not None and alias != article.url:
            self._insert_alias(alias, int(article_id))
        if terms is not None:
            write_terms(self.connection, int(article_id), terms)
        return int(article_id)

    def add_alias(self, alias: str, url: str) -> bool:
        """Remember `alias` for the article stored under `url`; False if there is none."""
        article_id = self.connection.execute(_article_id_by_url, {"url": url}).scalar()
        if article_id is None:
            return False
        self._insert_alias(alias, int(article_id))
        return True

    def _insert_alias(self, alias: str, article_id: int) -> None:
        values = {"url": alias, "article_id": article_id, "created_at": self._clock()}
        self.connection.execute(_alias_insert(self._dialect), values)

    def outlet_known(self, outlet: str) -> bool:
        """Whether an article from `outlet` is stored (including earlier in this transaction)."""
        return self.connection.execute(_outlet_article, {"outlet": outlet}).first() is not None

    def clear_url_failures(self, urls: Iterable[str]) -> None:
        """Forget the failures of URLs stored in this transaction."""
        wanted = list(dict.fromkeys(urls))
        if wanted:
            self.connection.execute(_url_failures_delete, {"urls": wanted})


@dataclass(frozen=True)
class StoredArticle:
    """An article with its per-topic matches, as read back for display."""

    article: Article
    matches: tuple[TopicMatch, ...]


class Repository:
    """The only place that talks SQL."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, analyzer: Analyzer | None = None) -> None:
        self.engine = engine
        self.clock = clock
        # With an analyzer, articles enter the search index as they are stored and edited
        # (without one, `storage.search.SearchIndex.backfill` indexes them later).
        self.analyzer = analyzer

    def _search_terms(self, title: str, text: str) -> list[str] | None:
        # Segmenting takes milliseconds: done before the write transaction, which holds SQLite's lock.
        return self.analyzer.index_terms(document_text(title, text)) if self.analyzer is not None else None

    # -- sources -------------------------------------------------------------
    def sync_sources(self, sources: Iterable[tuple[str, str, str]]) -> None:
        """Make sure a state row exists for each (name, kind, url), updating kind and url.

        A source whose URL changed forgets the old URL's ETag and Last-Modified: sent to
        the new URL they would at best be ignored, at worst earn a wrong 304.
        """
        table = Source.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ at runtime
        with Session(self.engine) as session:
            for name, kind, url in sources:
                moved = table.c.url != url
                statement = (
                    idempotent_insert(self.engine, Source)
                    .values(name=name, kind=kind, url=url)
                    .on_conflict_do_update(
                        index_elements=["name"],
                        set_={
                            "kind": kind,
                            "url": url,
                            "etag": sa.case((moved, None), else_=table.c.etag),
                            "last_modified": sa.case((moved, None), else_=table.c.last_modified),
                        },
                    )
                )
                session.exec(statement)
            session.commit()

    def get_source(self, name: str) -> Source | None:
        with Session(self.engine) as session:
            return session.exec(select(Source).where(Source.name == name)).first()

    def list_source_states(self) -> dict[str, Source]:
        with Session(self.engine) as session:
            return {s.name: s for s in session.exec(select(Source)).all()}

    def save_http_validators(self, name: str, etag: str | None, last_modified: str | None) -> None:
        """Remember a feed's ETag / Last-Modified for the next conditional GET."""
        with Session(self.engine) as session:
            session.exec(
                sa.update(Source).where(col(Source.name) == name).values(etag=etag, last_modified=last_modified)
            )
            session.commit()

    def try_lease(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take one source's crawl lock unless another live holder has it (see `try_leases`)."""
        return name in self.try_leases([name], owner, ttl)

    def try_leases(self, names: Sequence[str], owner: str, ttl: timedelta) -> set[str]:
        """Take the crawl lock of each source in `names` that no other live holder has; the names taken.

        One conditional UPDATE for all of them, in one transaction, so two processes racing
        for a lock cannot both win and a poll of many sources costs no transaction per source.
        A holder that died stops blocking others when its lease expires (a live holder
        renews it, see `renew_leases`), or at once when it ran on this host and its
        process is gone. Runs the previous holder left `running` are then closed as
        `interrupted`: whoever holds the lease is the only one crawling the source.
        """
        if not names:
            return set()
        now = self.clock()
        wanted = col(Source.name).in_(list(names))
        with Session(self.engine) as session:
            holders = {name: holder for name, holder in session.exec(select(Source.name, Source.lease_owner).where(wanted))}
            dead = {h for h in set(holders.values()) if h and h != owner and holder_is_dead(h)}
            reclaim = [col(Source.lease_owner).is_(None), col(Source.lease_owner) == owner,
                       col(Source.lease_expires_at) < now]
            if dead:
                reclaim.append(col(Source.lease_owner).in_(dead))
            session.exec(
                sa.update(Source).where(wanted).where(sa.or_(*reclaim)).values(lease_owner=owner, lease_expires_at=now + ttl)
            )
            won = set(session.exec(select(Source.name).where(wanted, col(Source.lease_owner) == owner)).all())
            taken_over = [name for name in won if holders.get(name) != owner]
            stale = self._interrupt_stale_runs(session, taken_over) if taken_over else {}
            session.commit()
        for name, closed in stale.items():
            logger.warning("source=%s closed %d run(s) left running by %s as interrupted", name, closed,
                           holders.get(name) or "a process that ended")
        return won

    def renew_lease(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Extend a lease this owner holds; False if it was lost (taken over after expiring)."""
        return name in self.renew_leases([name], owner, ttl)

    def renew_leases(self, names: Sequence[str], owner: str, ttl: timedelta) -> set[str]:
        """Extend the leases this owner holds on `names`, in one transaction; the names still held."""
        if not names:
            return set()
        held = [col(Source.name).in_(list(names)), col(Source.lease_owner) == owner]
        with Session(self.engine) as session:
            session.exec(sa.update(Source).where(*held).values(lease_expires_at=self.clock() + ttl))
            kept = set(session.exec(select(Source.name).where(*held)).all())
            session.commit()
            return kept

    def release_lease(self, name: str, owner: str) -> None:
        self.release_leases([name], owner)

    def release_leases(self, names: Sequence[str], owner: str) -> None:
        """Let go of this owner's leases on `names`, in one transaction."""
        if not names:
            return
        with Session(self.engine) as session:
            session.exec(
                sa.update(Source)
                .where(col(Source.name).in_(list(names)), col(Source.lease_owner) == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
            session.commit()

    def set_health(self, name: str, *, healthy: bool, reason: str | None) -> None:
        with Session(self.engine) as session:
            session.exec(
                sa.update(Source).where(col(Source.name) == name).values(healthy=healthy, unhealthy_reason=reason)
            )
            session.commit()

    def set_next_run(self, name: str, when: datetime | None) -> None:
        with Session(self.engine) as session:
            session.exec(sa.update(Source).where(col(Source.name) == name).values(next_run_at=when))
            session.commit()

    # -- scheduled jobs and the daemon ---------------------------------------
    def get_job_state(self, job_id: str) -> JobState | None:
        with Session(self.engine) as session:
            return session.get(JobState, job_id)

    def save_job_state(
        self, job_id: str, *, last_run_at: datetime | None = None, next_run_at: datetime | None = None,
        last_status: str | None = None,
    ) -> None:
        with Session(self.engine) as session:
            state = session.get(JobState, job_id) or JobState(job_id=job_id)
            if last_run_at is not None:
                state.last_run_at = last_run_at
            if next_run_at is not None:
                state.next_run_at = next_run_at
            if last_status is not None:
                state.last_status = last_status
            session.add(state)
            session.commit()

    def heartbeat(self, name: str, pid: int, host: str, started_at: datetime) -> None:
        with Session(self.engine) as session:
            self._beat(session, session.get(DaemonState, name), name, pid, host, started_at)

    def _beat(self, session: Session, state: DaemonState | None, name: str, pid: int, host: str,
              started_at: datetime) -> None:
        """Write the daemon's row (`state`, or a new one) as alive now, and commit."""
        now = self.clock()
        state = state or DaemonState(name=name, pid=pid, host=host, started_at=started_at, heartbeat_at=now)
        state.pid, state.host, state.started_at, state.heartbeat_at = pid, host, started_at, now
        session.add(state)
        session.commit()

    def claim_daemon(self, name: str, pid: int, host: str, started_at: datetime,
                     *, is_alive: Callable[[DaemonState], bool]) -> DaemonState | None:
        """Record this process as the daemon `name`, unless another one that `is_alive` holds it.

        Returns that other daemon's state (nothing is written then), or None once claimed.
        The read and the write are one transaction (SQLite's are `BEGIN IMMEDIATE`, the row
        is locked on PostgreSQL), so of two daemons started at once one claims and one is refused.
        """
        for attempt in range(2):
            try:
                with Session(self.engine) as session:
                    state = session.exec(select(DaemonState).where(col(DaemonState.name) == name).with_for_update()).first()
                    if state is not None and (state.pid, state.host) != (pid, host) and is_alive(state):
                        session.expunge(state)
                        return state
                    self._beat(session, state, name, pid, host, started_at)
                    return None
            except sa.exc.IntegrityError:  # PostgreSQL: another daemon inserted the row first; read it
                if attempt:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    def daemon_state(self, name: str = "daemon") -> DaemonState | None:
        with Session(self.engine) as session:
            return session.get(DaemonState, name)

    def clear_daemon_state(self, name: str = "daemon") -> None:
        with Session(self.engine) as session:
            state = session.get(DaemonState, name)
            if state is not None:
                session.delete(state)
                session.commit()

    def interrupt_stale_runs(self, source_names: Iterable[str]) -> int:
        """Close runs left 'running' by a process that died, so status tells the truth."""
        with Session(self.engine) as session:
            closed = self._interrupt_stale_runs(session, list(source_names))
            session.commit()
            return sum(closed.values())

    def _interrupt_stale_runs(self, session: Session, source_names: list[str]) -> dict[str, int]:
        """Inside `session`'s transaction: close the sources' runs left 'running'; how many per source."""
        running = [col(CrawlRun.status) == "running", col(CrawlRun.source_name).in_(source_names)]
        counts = dict(session.exec(
            select(CrawlRun.source_name, sa.func.count()).where(*running).group_by(col(CrawlRun.source_name))
        ).all())
        if counts:
            # A running run's counts are still 0 (written when it finishes), though its batches were
            # stored: what the source stored since the run began is the run's (one lease holder at a
            # time), and it found at least that many.
            stored = (sa.select(sa.func.count()).select_from(Article)
                      .where(col(Article.source_name) == col(CrawlRun.source_name),
                             col(Article.fetched_at) >= col(CrawlRun.started_at))
                      .correlate(CrawlRun).scalar_subquery())
            session.exec(sa.update(CrawlRun).where(*running).values(
                status="interrupted", finished_at=self.clock(), error="process ended during the crawl",
                new=stored, found=stored,
            ))
        return {name: int(count) for name, count in counts.items()}

    def interrupt_runs_since(self, source_name: str, started_since: datetime, error: str) -> int:
        """Record the runs of a source started since `started_since` as cut short by a shutdown.

        Scrapy may absorb a cancellation and let the crawl return as if it had finished,
        so the daemon, which knows what it cut, has the last word on the status.
        """
        with Session(self.engine) as session:
            result = session.exec(
                sa.update(CrawlRun)
                .where(col(CrawlRun.source_name) == source_name, col(CrawlRun.started_at) >= started_since,
                       col(CrawlRun.status) != "interrupted")
                .values(status="interrupted", finished_at=sa.func.coalesce(col(CrawlRun.finished_at), self.clock()),
                        error=error)
            )
            session.commit()
            return int(result.rowcount or 0)

    def last_source_fetch(self, name: str) -> datetime | None:
        """When a finished run of this source last got an answer from its source URL (any HTTP status)."""
        with Session(self.engine) as session:
            return session.exec(
                select(CrawlRun.started_at)
                .where(CrawlRun.source_name == name, col(CrawlRun.http_status).is_not(None))
                .order_by(col(CrawlRun.started_at).desc())
                .limit(1)
            ).first()

    # -- articles ------------------------------------------------------------
    def known_outlets(self, outlets: Iterable[str]) -> set[str]:
        """Which of these outlets already have a stored article."""
        wanted = list(dict.fromkeys(outlets))
        with Session(self.engine) as session:
            rows = session.exec(select(Article.outlet).where(col(Article.outlet).in_(wanted)).distinct()).all()
        return {outlet for outlet in rows if outlet is not None}

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs are already stored, as an article or as an alias of one."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        with Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(session.exec(select(Article.url).where(col(Article.url).in_(chunk))).all())
                found.update(session.exec(select(ArticleAlias.url).where(col(ArticleAlias.url).in_(chunk))).all())
        return found

    def search_terms(self, title: str, text: str) -> list[str] | None:
        """The article's search-index terms (None without an analyzer); computed outside any transaction."""
        return self._search_terms(title, text)

    def add_article(self, article: Article, matches: Sequence[TopicMatch], *, alias: str | None = None) -> int | None:
        """Store an article once. Returns its id, or None if its URL was already stored.

        `INSERT … ON CONFLICT DO NOTHING` makes this safe when two processes store
        the same URL at the same moment: exactly one of them gets an id back.
        `alias` is a URL that redirected to this one: it is remembered (for the new
        article, or for the one already stored under the URL) so it dedups next time.
        """
        terms = self._search_terms(article.title, article.text)
        with self.engine.begin() as connection:
            return ArticleBatch(self, connection).add(article, matches, alias=alias, terms=terms)

    @contextmanager
    def article_batch(self) -> Iterator[ArticleBatch]:
        """One write transaction for many articles (a crawl's batched storing); committed when the block ends.

        On PostgreSQL it takes storyline assignment's lock first, so a batch that assigns
        storylines inside it holds that lock (which serialises assignment across processes)
        from its first statement: taken after the inserts, two processes' batches could each
        wait on the other's uncommitted rows. On SQLite `BEGIN IMMEDIATE` already holds the write lock.
        """
        with self.engine.begin() as connection:
            lock_storyline_assignment(connection)
            yield ArticleBatch(self, connection)

    def add_alias(self, alias: str, url: str) -> bool:
        """Remember that `alias` leads to the article stored under `url`; False if there is none."""
        with self.engine.begin() as connection:
            return ArticleBatch(self, connection).add_alias(alias, url)

    def aliases_of(self, article_id: int) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(ArticleAlias.url).where(ArticleAlias.article_id == article_id)).all())

    # -- per-URL failures ----------------------------------------------------
    def record_url_failure(
        self, url: str, source_name: str, error: str, *, retry_at: Callable[[int, datetime], datetime | None]
    ) -> UrlFailure:
        """Count one more failure of an article URL; `retry_at(failures, now)` says when to try again (None: give up)."""
        now = self.clock()
        with Session(self.engine) as session:
            row = session.get(UrlFailure, url) or UrlFailure(
                url=url, source_name=source_name, first_failed_at=now, last_failed_at=now
            )
            row.failures += 1
            row.last_failed_at = now
            row.last_error = error[:2000]
            row.next_attempt_at = retry_at(row.failures, now)
            if row.next_attempt_at is None and row.gave_up_at is None:
                row.gave_up_at = now
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def clear_url_failures(self, urls: Iterable[str]) -> None:
        """Forget the failures of URLs that have now been stored."""
        wanted = list(urls)
        if not wanted:
            return
        with Session(self.engine) as session:
            session.exec(sa.delete(UrlFailure).where(col(UrlFailure.url).in_(wanted)))
            session.commit()

    def urls_waiting(self, urls: Iterable[str]) -> dict[str, UrlFailure]:
        """Those of `urls` not to be fetched now: backing off after failures, or given up on."""
        wanted = list(dict.fromkeys(urls))
        now = self.clock()
        found: dict[str, UrlFailure] = {}
        with Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in session.exec(select(UrlFailure).where(col(UrlFailure.url).in_(chunk))).all():
                    if row.gave_up_at is not None or (row.next_attempt_at is not None and row.next_attempt_at > now):
                        found[row.url] = row
        return found

    def url_failures(self, source_name: str | None = None) -> list[UrlFailure]:
        with Session(self.engine) as session:
            query = select(UrlFailure).order_by(col(UrlFailure.last_failed_at).desc())
            if source_name is not None:
                query = query.where(UrlFailure.source_name == source_name)
            return list(session.exec(query).all())

    # -- hosts that asked us to wait -----------------------------------------
    def set_host_wait(self, host: str, not_before: datetime, reason: str) -> None:
        """Leave `host` alone until `not_before` (a later wait already recorded is kept)."""
        now = self.clock()
        with Session(self.engine) as session:
            row = session.get(HostState, host) or HostState(host=host, updated_at=now)
            if row.not_before is None or row.not_before < not_before:
                row.not_before, row.reason = not_before, reason
            row.updated_at = now
            session.add(row)
            session.commit()

    def hosts_waiting(self) -> dict[str, HostState]:
        """Hosts whose `not_before` is still in the future."""
        now = self.clock()
        with Session(self.engine) as session:
            rows = session.exec(select(HostState).where(col(HostState.not_before) > now)).all()
            return {row.host: row for row in rows}

    def previous_found(self, source_name: str) -> int:
        """Links found by the source's latest finished run that found any (0 if none ever did)."""
        return self.previous_found_of([source_name]).get(source_name, 0)

    def previous_found_of(self, source_names: Sequence[str]) -> dict[str, int]:
        """`previous_found` of each source, read at once (a source whose runs never found anything is left out)."""
        if not source_names:
            return {}
        latest = (
            select(sa.func.max(CrawlRun.id))
            .where(col(CrawlRun.source_name).in_(list(source_names)), col(CrawlRun.found) > 0,
                   col(CrawlRun.status).in_(["ok", "partial"]))
            .group_by(col(CrawlRun.source_name))
        )
        with Session(self.engine) as session:
            rows = session.exec(select(CrawlRun.source_name, CrawlRun.found).where(col(CrawlRun.id).in_(latest))).all()
        return {name: int(found) for name, found in rows}

    def fill_missing_text(self, article_id: int, *, title: str, text: str, content_hash: str,
                          published_at: datetime | None, terms: Sequence[str] | None = None) -> None:
        """A text-missing article whose page now has text: store it (not an edit: there was nothing to edit).

        `terms` are the new text's search-index terms when a page worker computed them already.
        """
        now = self.clock()
        terms = terms if terms is not None else self._search_terms(title, text)
        with Session(self.engine) as session:
            article = session.get(Article, article_id)
            if article is None:
                raise KeyError(article_id)
            article.title, article.text, article.content_hash = title, text, content_hash
            article.text_missing = False
            article.title_source = "page"
            # A bare day (a sitemap's or feed's date, read as midnight UTC) gives way to the page's own time.
            if published_at is not None and (article.published_at is None
                                             or (article.date_source or "").endswith("-day")):
                article.published_at, article.date_source = published_at, "page"
            article.last_checked_at = now
            session.add(article)
            if terms is not None:
                write_terms(session.connection(), article_id, terms)
            session.commit()

    def has_articles_from(self, source_name: str) -> bool:
        """Whether any article is stored under this source name (configured still or not)."""
        with Session(self.engine) as session:
            return session.exec(select(Article.id).where(Article.source_name == source_name).limit(1)).first() is not None

    def count_articles(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(sa.func.count()).select_from(Article)).one())

    def list_articles(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        relevant_only: bool = True,
        limit: int | None = None,
        published_since: datetime | None = None,
        source: str | None = None,
    ) -> list[StoredArticle]:
        """Articles newest first, optionally only those relevant to `topic`, fetched since `since`,
        published since `published_since`, or from `source` (searching is `storage.console`'s)."""
        with Session(self.engine) as session:
            query = select(Article)
            if topic is not None:
                query = query.join(ArticleTopic, col(ArticleTopic.article_id) == col(Article.id)).where(
                    ArticleTopic.topic == topic
                )
                if relevant_only:
                    query = query.where(col(ArticleTopic.relevant).is_(True))
            if since is not None:
                query = query.where(col(Article.fetched_at) >= since)
            if published_since is not None:
                query = query.where(col(Article.published_at) >= published_since)
            if source is not None:
                query = query.where(col(Article.source_name) == source)
            query = query.order_by(col(Article.fetched_at).desc(), col(Article.id).desc())
            if limit:
                query = query.limit(limit)
            return with_matches(session, list(session.exec(query).all()))

    def digest_membership(self, article_ids: Sequence[int]) -> dict[int, list[dict[str, object]]]:
        """For each article, the digests it went into: id, topic, status."""
        found: dict[int, list[dict[str, object]]] = {}
        with Session(self.engine) as session:
            for start in range(0, len(article_ids), 500):
                chunk = list(article_ids[start : start + 500])
                rows = session.exec(
                    select(DigestItem.article_id, Digest.id, Digest.topic, Digest.status)
                    .join(Digest, col(Digest.id) == col(DigestItem.digest_id))
                    .where(col(DigestItem.article_id).in_(chunk))
                ).all()
                for article_id, digest_id, topic, status in rows:
                    found.setdefault(article_id, []).append({"digest": digest_id, "topic": topic, "status": status})
        return found

    # -- edits and takedowns -------------------------------------------------
    def articles_to_recheck(self, since: datetime, limit: int) -> list[Article]:
        """Articles fetched since `since` and not known to be removed, least recently checked first."""
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Article)
                    .where(col(Article.fetched_at) >= since, col(Article.removed_at).is_(None))
                    .order_by(col(Article.last_checked_at).is_not(None), col(Article.last_checked_at), col(Article.id))
                    .limit(limit)
                ).all()
            )

    def mark_checked(self, article_id: int, *, etag: str | None, last_modified: str | None) -> None:
        with Session(self.engine) as session:
            session.exec(
                sa.update(Article).where(col(Article.id) == article_id)
                .values(last_checked_at=self.clock(), etag=etag, last_modified=last_modified)
            )
            session.commit()

    def mark_removed(self, article_id: int) -> None:
        """Record that the article is gone; its text stays."""
        now = self.clock()
        with Session(self.engine) as session:
            session.exec(
                sa.update(Article).where(col(Article.id) == article_id, col(Article.removed_at).is_(None))
                .values(removed_at=now, last_checked_at=now)
            )
            session.commit()

    def record_edit(self, article_id: int, *, title: str, text: str, content_hash: str,
                    terms: Sequence[str] | None = None) -> None:
        """Keep the current version, then store the new title and text (and `terms`, as `fill_missing_text`)."""
        now = self.clock()
        terms = terms if terms is not None else self._search_terms(title, text)
        with Session(self.engine) as session:
            article = session.get(Article, article_id)
            if article is None:
                raise KeyError(article_id)
            session.add(ArticleVersion(article_id=article_id, captured_at=now, title=article.title,
                                       text=article.text, content_hash=article.content_hash))
            article.title, article.text, article.content_hash = title, text, content_hash
            article.edited_at = now
            article.last_checked_at = now
            session.add(article)
            if terms is not None:
                write_terms(session.connection(), article_id, terms)
            session.commit()

    def article_versions(self, article_id: int) -> list[ArticleVersion]:
        with Session(self.engine) as session:
            return list(session.exec(
                select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(col(ArticleVersion.id))
            ).all())

    # -- crawl runs ----------------------------------------------------------
    def start_run(self, source_name: str, trigger: str) -> int:
        return self.start_runs([source_name], trigger)[source_name]

    def start_runs(self, source_names: Sequence[str], trigger: str) -> dict[str, int]:
        """A `running` crawl run for each source, inserted in one transaction; their ids by source."""
        now = self.clock()
        table = CrawlRun.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ at runtime
        ids: dict[str, int] = {}
        with self.engine.begin() as connection:
            for name in source_names:  # one short INSERT each; RETURNING-free, so any SQLite and PostgreSQL alike
                result = connection.execute(table.insert().values(
                    source_name=name, trigger=trigger, started_at=now, status="running", found=0, new=0,
                    duplicate=0, failed=0, refused=0))
                ids[name] = int(result.inserted_primary_key[0])  # type: ignore[index]  # one row: one key
        return ids

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        found: int,
        new: int,
        duplicate: int,
        failed: int,
        http_status: int | None,
        error: str | None,
        refused: int = 0,
    ) -> CrawlRun:
        """Close one run (see `finish_runs`); the run as stored."""
        self.finish_runs([RunOutcome(run_id, status, found, new, duplicate, failed, http_status, error, refused)])
        with Session(self.engine) as session:
            run = session.get(CrawlRun, run_id)
            assert run is not None
            return run

    def finish_runs(self, outcomes: Sequence[RunOutcome]) -> dict[str, Source]:
        """Close runs and fold each outcome into its source's state, in one transaction; the sources' new states.

        "partial" (the source answered, some of its entries were lost) counts as a
        success of the source: its health is about the source, not each article.
        """
        if not outcomes:
            return {}
        now = self.clock()
        runs = CrawlRun.__table__  # type: ignore[attr-defined]
        sources = Source.__table__  # type: ignore[attr-defined]
        with Session(self.engine, expire_on_commit=False) as session:
            connection = session.connection()
            ids = [outcome.run_id for outcome in outcomes]
            names: dict[int, str] = {
                run_id: name
                for run_id, name in connection.execute(sa.select(runs.c.id, runs.c.source_name).where(runs.c.id.in_(ids)))
            }
            if missing := set(ids) - set(names):
                raise KeyError(sorted(missing)[0])
            connection.execute(
                runs.update().where(runs.c.id == sa.bindparam("run_id")).values(
                    finished_at=now, status=sa.bindparam("run_status"), found=sa.bindparam("run_found"),
                    new=sa.bindparam("run_new"), duplicate=sa.bindparam("run_duplicate"),
                    failed=sa.bindparam("run_failed"), http_status=sa.bindparam("run_http_status"),
                    error=sa.bindparam("run_error"), refused=sa.bindparam("run_refused")),
                [{"run_id": o.run_id, "run_status": o.status, "run_found": o.found, "run_new": o.new,
                  "run_duplicate": o.duplicate, "run_failed": o.failed, "run_http_status": o.http_status,
                  "run_error": o.error, "run_refused": o.refused} for o in outcomes],
            )
            touched = sorted({names[o.run_id] for o in outcomes})
            succeeded = sorted({names[o.run_id] for o in outcomes if o.status in ("ok", "partial", "not_modified")})
            failed = sorted({names[o.run_id] for o in outcomes if o.status == "failed"})
            with_new = sorted({names[o.run_id] for o in outcomes if o.new})
            name = sources.c.name
            connection.execute(sources.update().where(name.in_(touched)).values(last_run_at=now))
            if succeeded:
                connection.execute(sources.update().where(name.in_(succeeded))
                                   .values(last_success_at=now, consecutive_failures=0))
            if failed:
                connection.execute(sources.update().where(name.in_(failed))
                                   .values(consecutive_failures=sources.c.consecutive_failures + 1))
            if with_new:
                connection.execute(sources.update().where(name.in_(with_new)).values(last_new_at=now))
            if validators := [o for o in outcomes if o.validators is not None]:
                connection.execute(
                    sources.update().where(name == sa.bindparam("source")).values(
                        etag=sa.bindparam("new_etag"), last_modified=sa.bindparam("new_last_modified")),
                    [{"source": names[o.run_id], "new_etag": o.validators[0], "new_last_modified": o.validators[1]}
                     for o in validators if o.validators is not None],
                )
            states = {s.name: s for s in session.exec(select(Source).where(col(Source.name).in_(touched))).all()}
            session.commit()
        return states

    def last_runs(self) -> dict[str, CrawlRun]:
        """The latest finished or running run of each source (as `storage.timetable` reads them for status)."""
        latest = sa.select(sa.func.max(CrawlRun.id).label("id")).group_by(col(CrawlRun.source_name)).subquery()
        with Session(self.engine) as session:
            runs = session.exec(select(CrawlRun).join(latest, col(CrawlRun.id) == latest.c.id)).all()
        return {run.source_name: run for run in runs}

    def runs_for(self, source_name: str, limit: int = 20) -> list[CrawlRun]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(CrawlRun)
                    .where(CrawlRun.source_name == source_name)
                    .order_by(col(CrawlRun.id).desc())
                    .limit(limit)
                ).all()
            )


def with_matches(session: Session, articles: list[Article]) -> list[StoredArticle]:
    """The articles with their per-topic matches, read in one query (for any list of articles)."""
    ids = [a.id for a in articles]
    rows = session.exec(select(ArticleTopic).where(col(ArticleTopic.article_id).in_(ids))).all() if ids else []
    by_article: dict[int, list[TopicMatch]] = {}
    for row in rows:
        by_article.setdefault(row.article_id, []).append(
            TopicMatch(row.topic, row.score, row.relevant, tuple(json.loads(row.matched)))
        )
    return [StoredArticle(a, tuple(by_article.get(a.id or 0, ()))) for a in articles]
