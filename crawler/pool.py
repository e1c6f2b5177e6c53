"""Decode, extract, match and fingerprint pages in worker processes, so a crawl uses every core.

These steps are pure (page bytes in, records out) and take most of a crawl's CPU time
(extraction alone about 30 ms a page); on the reactor thread they left every other core
idle. The spider hands each article page to a `PagePool` and awaits the result
(`asyncio.wrap_future`), so the event loop keeps downloading and storing meanwhile.

Each worker process builds the topic matchers once, when it starts (jieba's dictionary is
loaded once per process), and keeps them for every page of every crawl: the pool lives as
long as its owner (the daemon, a worker, one `mediawatch crawl`). Workers are started with
`forkserver`, never forked from the process running Twisted's reactor and its threads.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from crawler.extract.article import Extraction, extract_with_overrides
from crawler.normalize import content_hash
from crawler.search_terms import SearchAnalyzer
from crawler.storylines import Fingerprint, StorylineParams, fingerprint
from crawler.topics.config import TopicConfig
from crawler.topics.matcher import TopicMatcher, build_matchers
from storage.search import document_text
from storage.types import TopicMatch

logger = logging.getLogger(__name__)

_matchers: dict[str, TopicMatcher] = {}
_analyzer = SearchAnalyzer()  # the search index's terms: the analyzer the storing process would use


@dataclass(frozen=True)
class PageJob:
    """One article page and what the source says about it."""

    body: bytes
    url: str
    content_type: str | None
    topics: tuple[str, ...]  # the topics this page's source feeds
    storyline_params: StorylineParams
    published_hint: datetime | None = None
    title_hint: str | None = None
    local_tz: tzinfo | None = None
    selectors: Any = None


@dataclass(frozen=True)
class PageResult:
    extraction: Extraction
    matches: list[TopicMatch]
    fingerprint: Fingerprint
    search_terms: tuple[str, ...]  # of the extracted title and text, for the search index
    content_hash: str  # of the extracted title and text (`crawler.normalize.content_hash`)


def _start_worker(topics: Sequence[TopicConfig], base_dir: Path | None, owner: int | None = None) -> None:
    global _matchers
    if owner is not None:
        threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()
    _matchers = build_matchers(topics, base_dir)
    for matcher in _matchers.values():
        matcher.match("", "预热")  # loads jieba now rather than on the first page
    _analyzer.index_terms("预热")
    # What the worker holds from now on (matchers, model, modules) lives as long as it does:
    # moved out of the collector's reach, later collections no longer scan it (0.19 → 0.05 ms
    # of collection a page, measured in one process over 400 corpus pages).
    gc.collect()
    gc.freeze()


def _exit_with(owner: int, every: float = 2.0) -> None:
    """End this worker once its owner is gone (a daemon killed with SIGKILL cannot shut its pool down).

    A worker's parent is the forkserver, not the owner, so the owner's pid is watched;
    without this, each `kill -9` of a daemon left its workers (hundreds of MB each) for good.
    """
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # alive, another user's (never ours, but not a reason to exit)
            pass


@dataclass(frozen=True)
class TextJob:
    """An article's title and text, without a page: one stored from its feed entry, or retitled."""

    title: str
    text: str
    topics: tuple[str, ...]
    storyline_params: StorylineParams
    published: datetime | None = None  # a topic's `since` rules out a page published before it


@dataclass(frozen=True)
class TextResult:
    matches: list[TopicMatch]
    fingerprint: Fingerprint
    search_terms: tuple[str, ...]
    content_hash: str


def analyse_text(job: TextJob) -> TextResult:
    """Topic matches, storyline fingerprint, search terms and body hash of a title and text (runs in a worker)."""
    matches = [_matchers[name].match(job.title, job.text, job.published) for name in job.topics if name in _matchers]
    # Segmenting the page for the search index (jieba, a few ms a page) here rather than in
    # the storing process, whose one thread (reactor and writer) is the crawl's bottleneck.
    terms = tuple(_analyzer.index_terms(document_text(job.title, job.text)))
    print_ = fingerprint(job.title, job.text, job.storyline_params)
    # The signature without its shingles (about 25 KB a page to pickle and unpickle): the storing
    # process shingles the text again in the rare case a candidate is borderline (`choose_match`).
    return TextResult(matches, Fingerprint(print_.hashvalues, print_.shingle_count), terms,
                      content_hash(job.title, job.text))


def process_page(job: PageJob) -> PageResult:
    """Everything CPU-bound between a downloaded page and the database (runs in a worker)."""
    kwargs: dict[str, Any] = {"published_hint": job.published_hint, "title_hint": job.title_hint,
                              "selectors": job.selectors}
    if job.local_tz is not None:
        kwargs["local_tz"] = job.local_tz
    extraction = extract_with_overrides(job.body, job.url, job.content_type, **kwargs)
    article = extraction.article
    analysed = analyse_text(TextJob(article.title, article.text, job.topics, job.storyline_params, article.published))
    return PageResult(extraction, analysed.matches, analysed.fingerprint, analysed.search_terms, analysed.content_hash)


def _worker_pid() -> int:
    time.sleep(0.05)  # long enough for another idle worker to take the next call
    return os.getpid()


class PagePool:
    """`processes` workers, each with the matchers for `topics` built once."""

    def __init__(self, processes: int, topics: Sequence[TopicConfig], base_dir: Path | None = None) -> None:
        self.processes = processes
        self._ready: set[int] = set()
        self._executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_start_worker,
            initargs=(list(topics), base_dir, os.getpid()),
        )

    def start(self, timeout: float = 300) -> None:
        """Start every worker now and return once each has built its matchers (seconds of CPU each).

        Otherwise workers start on a crawl's first pages: their imports and jieba compete
        with the downloads for the CPU, and those pages wait. Blocking: call it off the reactor.
        """
        deadline = time.monotonic() + timeout
        try:
            while len(self._ready) < self.processes and time.monotonic() < deadline:
                # A worker answers only once its initializer has run; a fast one may answer twice.
                calls = [self._executor.submit(_worker_pid) for _ in range(self.processes)]
                self._ready.update(call.result(timeout=max(1.0, deadline - time.monotonic())) for call in calls)
        except Exception as exc:  # a pool that cannot start fails each page with the reason, as before
            logger.warning("page workers did not start: %r", exc)

    async def process(self, job: PageJob) -> PageResult:
        """The page's extraction, topic matches, storyline fingerprint and search terms, computed in a worker."""
        return await asyncio.wrap_future(self._executor.submit(process_page, job))

    async def analyse(self, job: TextJob) -> TextResult:
        """A title and text's topic matches, storyline fingerprint and search terms, computed in a worker.

        With workers, the process that crawls and stores never loads jieba, the seed vectors or
        the model (about 100 MB): every text is matched and segmented here, not only pages'.
        """
        return await asyncio.wrap_future(self._executor.submit(analyse_text, job))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
