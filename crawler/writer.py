"""Store a crawl's articles in batches, on a thread of its own, so the reactor never waits on the database.

Storing one article (its row, topic matches, search terms and storyline) took 25-35 ms
in a transaction of its own, on the reactor thread: with extraction in worker
processes, that was what kept the crawl on one core. The pipeline hands each article
to an `ArticleWriter` and awaits its outcome; the writer collects articles and writes
`store_batch` of them, or whatever arrived within `store_delay` seconds, in one
transaction (`write_batch`), one batch at a time, on its thread. A batch is also
written as soon as no article has arrived for a tenth of `store_delay` (the quiet gap):
when articles stop coming (a crawl's last pages, a small run) nothing more will join
the batch, and waiting out the whole delay only held the crawl open (a daemon's run of
20 feeds spent 0.4 of its 0.7 s so). Articles that arrive closer together than the gap,
as in any busy crawl, still share a batch.

A batch that fails is written again one article at a time, so a bad article costs
only itself. `close()` writes whatever is pending: a crawl ends (or is cancelled by a
daemon's drain) only after it. A crash loses at most the batches not yet written;
their URLs are not stored, so the next run fetches them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from crawler.storylines import Fingerprint, StorylineIndex, fingerprint
from storage.errors import StorageError
from storage.models import Article
from storage.repository import ArticleBatch, Repository
from storage.types import TopicMatch

logger = logging.getLogger(__name__)


@dataclass
class PendingArticle:
    """An article on its way to the database, with everything stored beside it."""

    row: Article
    matches: Sequence[TopicMatch]
    alias: str | None = None
    fingerprint: Fingerprint | None = None  # computed in a worker process, or here when None
    search_terms: Sequence[str] | None = None  # likewise
    check_outlet: bool = False  # set `row.new_outlet` if no stored article is from its outlet
    clear_urls: tuple[str, ...] = ()  # their failures are forgotten once it is stored
    on_stored: Callable[[Stored], None] | None = field(default=None, repr=False)  # called on the event loop


@dataclass(frozen=True)
class Stored:
    """What became of one pending article."""

    article_id: int | None = None  # None: a duplicate (its URL was stored already), or it failed
    storyline_id: int | None = None
    error: str | None = None  # why it could not be stored

    @property
    def is_new(self) -> bool:
        return self.article_id is not None


def write_batch(repository: Repository, storylines: StorylineIndex, items: Sequence[PendingArticle]) -> list[Stored]:
    """Store `items` in one transaction; if that fails, each in a transaction of its own.

    Search terms and storyline signatures are computed before the transaction, which holds
    SQLite's write lock (and on PostgreSQL the storyline lock) while it runs.
    """
    prepared = [
        (item, _search_terms(repository, item), item.fingerprint or fingerprint(item.row.title, item.row.text,
                                                                               storylines.params))
        for item in items
    ]
    try:
        with repository.article_batch() as batch:
            return [_store(batch, storylines, item, terms, print_) for item, terms, print_ in prepared]
    except (SQLAlchemyError, StorageError) as exc:
        if len(items) == 1:
            return [_store_alone(repository, storylines, items[0], prepared[0][2])]
        logger.warning("batch of %d article(s) failed (%s); storing them one at a time", len(items), exc)
    return [_store_alone(repository, storylines, item, print_) for item, _, print_ in prepared]


def _search_terms(repository: Repository, item: PendingArticle) -> Sequence[str] | None:
    """The worker's terms when it computed them (and this repository keeps an index), else the repository's."""
    if item.search_terms is not None and repository.analyzer is not None:
        return item.search_terms
    return repository.search_terms(item.row.title, item.row.text)


def _store(
    batch: ArticleBatch, storylines: StorylineIndex, item: PendingArticle, terms: Sequence[str] | None,
    print_: Fingerprint,
) -> Stored:
    row = item.row
    if item.check_outlet and row.outlet:
        row.new_outlet = not batch.outlet_known(row.outlet)
    article_id = batch.add(row, item.matches, alias=item.alias, terms=terms)
    batch.clear_url_failures(item.clear_urls)  # stored now, by this crawl or before it
    if article_id is None:
        return Stored()
    assignment = storylines.assign(
        article_id, title=row.title, text=row.text, content_hash=row.content_hash, precomputed=print_,
        connection=batch.connection,
    )
    return Stored(article_id, assignment.storyline_id)


def _store_alone(
    repository: Repository, storylines: StorylineIndex, item: PendingArticle, print_: Fingerprint
) -> Stored:
    """The article in its own transaction, its storyline in another (as before batching)."""
    row = item.row
    try:
        if item.check_outlet and row.outlet:
            row.new_outlet = not repository.known_outlets([row.outlet])
        article_id = repository.add_article(row, item.matches, alias=item.alias)
        repository.clear_url_failures(item.clear_urls)
    except SQLAlchemyError as exc:
        return Stored(error=f"database error: {exc}")
    if article_id is None:
        return Stored()
    storyline_id = None
    try:
        storyline_id = storylines.assign(
            article_id, title=row.title, text=row.text, content_hash=row.content_hash, precomputed=print_
        ).storyline_id
    except (SQLAlchemyError, StorageError) as exc:  # stored anyway; the next crawl's assign_pending() places it
        logger.error("url=%s id=%s storyline not assigned: %s", row.url, article_id, exc)
    return Stored(article_id, storyline_id)


class ArticleWriter:
    """Collects articles and stores them `batch` at a time, on its own thread.

    A partial batch is written `delay` seconds after its first article, or once no
    article has arrived for `quiet` seconds (a tenth of `delay` unless given), whichever
    comes first.

    `write` stores one batch (`write_batch` with the crawl's repository and storyline
    index) and runs on the writer's thread, one batch at a time, in arrival order.
    Everything else runs on the event loop.
    """

    def __init__(
        self, write: Callable[[Sequence[PendingArticle]], list[Stored]], *, batch: int = 50, delay: float = 0.5,
        quiet: float | None = None,
    ) -> None:
        self._write = write
        self.batch = batch
        self.delay = delay
        self.quiet = delay / 10 if quiet is None else min(quiet, delay)
        self._pending: list[tuple[PendingArticle, asyncio.Future[Stored]]] = []
        self._timer: asyncio.TimerHandle | None = None  # the delay, from the batch's first article
        self._quiet_timer: asyncio.TimerHandle | None = None  # the quiet gap, from its latest article
        self._last_arrival = 0.0
        self._writing: set[asyncio.Future[list[Stored]]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="article-writer")
        self._closed = False

    async def store(self, item: PendingArticle) -> Stored:
        """Queue `item`; returns once its batch is written (and `item.on_stored` was called)."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[Stored] = loop.create_future()
        self._pending.append((item, outcome))
        self._last_arrival = loop.time()
        if len(self._pending) >= self.batch:
            self.flush()
        else:
            if self._timer is None:
                self._timer = loop.call_later(self.delay, self.flush)
            if self._quiet_timer is None:
                self._quiet_timer = loop.call_later(self.quiet, self._flush_if_quiet)
        return await outcome

    def _flush_if_quiet(self) -> None:
        # One timer for the whole batch, moved on when articles kept arriving (cheaper than
        # cancelling and scheduling one for every article of a busy crawl).
        self._quiet_timer = None
        loop = asyncio.get_running_loop()
        waited = loop.time() - self._last_arrival
        if waited >= self.quiet:
            self.flush()
        elif self._pending:
            self._quiet_timer = loop.call_later(self.quiet - waited, self._flush_if_quiet)

    def flush(self) -> None:
        """Start writing what is pending now."""
        for timer in (self._timer, self._quiet_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._quiet_timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        items = [item for item, _ in pending]
        # After `close()` (an item that arrived while a cancelled crawl wound down) on the loop's default threads.
        executor = None if self._closed else self._executor
        writing = asyncio.get_running_loop().run_in_executor(executor, self._write, items)
        self._writing.add(writing)
        writing.add_done_callback(lambda done: self._settle(done, pending))

    def _settle(
        self, done: asyncio.Future[list[Stored]], pending: list[tuple[PendingArticle, asyncio.Future[Stored]]]
    ) -> None:
        self._writing.discard(done)
        if done.cancelled() or done.exception() is not None:
            # A bug, not a database error (those come back as outcomes): every article of the batch failed.
            error = "cancelled" if done.cancelled() else repr(done.exception())
            logger.error("storing a batch of %d article(s) crashed: %s", len(pending), error)
            results = [Stored(error=f"storing crashed: {error}")] * len(pending)
        else:
            results = done.result()
        for (item, outcome), result in zip(pending, results, strict=True):
            if item.on_stored is not None:
                try:
                    item.on_stored(result)
                except Exception:
                    logger.exception("url=%s after storing", item.row.url)
            if not outcome.done():  # its waiter may have been cancelled
                outcome.set_result(result)

    async def close(self) -> None:
        """Write everything pending and wait for it; the writer's thread ends."""
        self.flush()
        while self._writing:
            await asyncio.wait(list(self._writing))
        self._closed = True
        self._executor.shutdown(wait=False)
