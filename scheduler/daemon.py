"""The long-running daemon: APScheduler and Scrapy sharing one asyncio event loop.

Crawl jobs run per source at the source's `every` (with jitter, and backed off while
the source is unhealthy); digest jobs run on the `[digest]` cron schedule, and on a
topic's own `[digest.topics.<topic>] schedule`, in the configured time zone. What was last run and what is next due is kept in the database,
so a restart resumes the timetable instead of re-crawling everything, and a digest
whose time passed while the daemon was down is sent once on start (within a grace
period) and never twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import SourceConfig
from crawler.health import backoff_interval
from digest.text import one_line, shorten
from scheduler.app import App, crawl_now, recheck_now
from scheduler.digest_jobs import DIGEST_JOB, DigestSchedule, digest_schedules, digest_trigger
from scheduler.metrics import Metrics
from storage.console import ConsoleQueries
from storage.db import describe
from storage.errors import DaemonRunningError, MediawatchError, StorageError
from storage.processes import heartbeat_is_alive, lease_is_held
from storage.sqlite import file_identity, sqlite_file

if TYPE_CHECKING:
    from crawler.runner import SourceResult
    from storage.models import DaemonState

if TYPE_CHECKING:
    from scheduler.queue import CrawlQueue
    from scheduler.web.server import EmbeddedConsole

logger = logging.getLogger(__name__)

CRAWL_REQUEST_POLL_SECONDS = 3  # how soon a "crawl now" asked for by a separate web console starts
ERROR_CHARS = 200  # of a run's error or note in its log line: enough to say what, and the line stays one line
DigestRunner = Callable[[datetime, tuple[str, ...]], object]  # (scheduled time, topics due)


def missed_fire_time(trigger: BaseTrigger, last_run: datetime | None, now: datetime, grace: timedelta) -> datetime | None:
    """The latest scheduled time after `last_run` that has passed, if within `grace` of now.

    Several missed times collapse into one (the latest): a week of downtime sends one
    digest, not seven.
    """
    if last_run is None:
        return None
    missed = None
    fire = trigger.get_next_fire_time(None, last_run + timedelta(seconds=1))
    while fire is not None and fire <= now:
        missed = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    if missed is not None and now - missed <= grace:
        return missed
    return None


class Daemon:
    def __init__(
        self,
        app: App,
        *,
        digest_runner: DigestRunner | None = None,
        rng: random.Random | None = None,
        name: str = "daemon",
        schedule_digests: bool = True,
    ) -> None:
        self.app = app
        self.config = app.config
        self.repository = app.repository
        self.digest_runner = digest_runner
        self.rng = rng or random.Random()
        self.name = name
        self.schedule_digests = schedule_digests
        self.started_at = app.clock()
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()
        # Which source each running crawl job is crawling, and since when (to record a cut crawl).
        self._crawling: dict[asyncio.Task[object], tuple[str, datetime]] = {}
        self._jitter = self.config.daemon.jitter.total_seconds()
        self._max_backoff = self.config.crawler.max_backoff
        self._current_interval: dict[str, timedelta] = {}
        self.metrics = Metrics()
        self._metrics_server: Any = None
        # With a shared queue the daemon only schedules: due sources are enqueued for `mediawatch worker`s.
        self.queue: CrawlQueue | None = None
        if self.config.queue.url:
            from scheduler.queue import CrawlQueue

            self.queue = CrawlQueue(self.config.queue.url, prefix=self.config.queue.prefix,
                                    claim_after=self.config.queue.claim_after)
        self._console: EmbeddedConsole | None = None
        self._stop: asyncio.Event | None = None
        # The SQLite file the daemon opened, and its identity, to notice it deleted or replaced.
        self._database_file = sqlite_file(app.engine.url.render_as_string(hide_password=False))
        self._database_identity = file_identity(self._database_file) if self._database_file else None
        self.failure: str | None = None  # why the daemon stopped itself

    # -- life cycle ------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Schedule everything, wait for `stop`, then shut down gracefully.

        Raises DaemonRunningError when another daemon is alive on the same database: two
        would crawl every source twice and race each other to every digest; StorageError
        after stopping itself because its database file was deleted or replaced.
        """
        self._stop = stop
        self._claim()
        sources = self.config.select_sources(None)
        self.repository.sync_sources((s.name, s.kind, s.url) for s in sources)
        self._close_orphaned_runs(sources)
        if self.config.web.enabled:
            from scheduler.web.server import EmbeddedConsole

            self._console = EmbeddedConsole(self.app, self)
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
        self.scheduler = scheduler
        now = self.app.clock()
        for source in sources:
            first = self._first_run(source, now)
            self._schedule_source(source, first, self._interval(source))
        if self.schedule_digests:
            for job in digest_schedules(self.config):
                self._schedule_digest(job, now)
        if self.config.recheck.enabled:
            every = self.config.recheck.every
            scheduler.add_job(self._track(self._recheck_job), IntervalTrigger(seconds=every.total_seconds(),
                              jitter=self._jitter_for(every) or None), id="recheck", max_instances=1, coalesce=True)
        heartbeat = self.config.daemon.heartbeat.total_seconds()
        scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=heartbeat), id="heartbeat",
                          next_run_time=datetime.now(UTC))
        if self.config.daemon.metrics_port:
            self._metrics_server = self._serve_metrics()
        scheduler.add_job(self._crawl_requests, IntervalTrigger(seconds=CRAWL_REQUEST_POLL_SECONDS), id="crawl-requests",
                          max_instances=1, coalesce=True)
        scheduler.start()
        if self._console is not None:
            self._console.start()
        self._log_start(sources)
        await stop.wait()
        if self._console is not None:
            await self._console.stop()
        timeout = self.config.daemon.shutdown_timeout.total_seconds()
        logger.info("daemon stopping: %d job(s) running, waiting up to %.0fs", len(self._running), timeout)
        # Pause, drain, and only then shut APScheduler down: its asyncio executor cancels
        # whatever is still running at shutdown(), which cut crawls after a fraction of a
        # second and recorded them as finished.
        scheduler.pause()
        await self._drain(timeout)
        scheduler.shutdown(wait=False)
        if self.failure is None:
            self.repository.clear_daemon_state(self.name)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        logger.info("daemon stopped")
        if self.failure is not None:
            raise StorageError(self.failure)

    def _serve_metrics(self) -> object:
        host, port = self.config.daemon.metrics_host, self.config.daemon.metrics_port
        try:
            return self.metrics.serve(host, port)
        except OSError as exc:
            raise MediawatchError(
                f"[daemon] metrics_port: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None

    def _log_start(self, sources: list[SourceConfig]) -> None:
        """The start line: what this daemon runs, from which configuration, on which database."""
        next_digest = "off"
        if self.scheduler is not None:
            fires = [job.next_run_time for job in self.scheduler.get_jobs()
                     if job.id.split(":")[0] == DIGEST_JOB and job.next_run_time is not None]
            if fires:
                next_digest = self._local(min(fires))
        logger.info(
            "daemon started: pid %d, config %s, database %s, %d source(s), next digest %s",
            os.getpid(), self.config.path or "(built in)", describe(self.app.engine), len(sources), next_digest,
        )

    async def _drain(self, timeout: float) -> None:
        """Let running jobs finish within `timeout`, then cancel the rest (recorded as interrupted)."""
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=timeout)
        cut = [self._crawling[task] for task in pending if task in self._crawling]
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cancelled %d job(s) still running after %.0fs", len(pending), timeout)
            await asyncio.gather(*pending, return_exceptions=True)
        for source_name, started in cut:
            self.repository.interrupt_runs_since(
                source_name, started, f"stopped by shutdown after the {timeout:.0f}s shutdown_timeout"
            )
            logger.warning("source=%s status=interrupted (daemon stopping)", source_name)

    def _close_orphaned_runs(self, sources: list[SourceConfig]) -> None:
        states = self.repository.list_source_states()
        now = self.app.clock()
        free = [s.name for s in sources
                if not ((state := states.get(s.name)) and lease_is_held(state.lease_owner, state.lease_expires_at, now=now))]
        if closed := self.repository.interrupt_stale_runs(free):
            logger.warning("marked %d run(s) left running by an earlier process as interrupted", closed)

    def _track(self, coroutine_function: Callable[..., Awaitable[object]]) -> Callable[..., Awaitable[object]]:
        async def tracked(*args: object, **kwargs: object) -> object:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                return await coroutine_function(*args, **kwargs)
            except asyncio.CancelledError:
                # Only the drain cancels a job; it has recorded what it cut. Ending quietly keeps
                # APScheduler from logging the cancellation as a job error with a traceback.
                return None
            finally:
                self._running.discard(task)

        tracked.__name__ = tracked.__qualname__ = getattr(coroutine_function, "__name__", "job")
        return tracked

    # -- crawling --------------------------------------------------------------
    def _interval(self, source: SourceConfig) -> timedelta:
        state = self.repository.get_source(source.name)
        return backoff_interval(
            source, state, unhealthy_after=self.config.crawler.unhealthy_after, max_backoff=self._max_backoff
        )

    def _jitter_for(self, interval: timedelta) -> float:
        # Never more than a tenth of the interval, so "every 5s" stays every 5 seconds or so.
        return min(self._jitter, interval.total_seconds() / 10)

    def _first_run(self, source: SourceConfig, now: datetime) -> datetime:
        """When a source is next due after a (re)start: its last run plus its current interval.

        Computed from the last run rather than a stored next-run time, so a changed
        `every` takes effect on restart; overdue or never-run sources run once, soon
        (a backlog runs once, not N times), spread by jitter.
        """
        state = self.repository.get_source(source.name)
        spread = timedelta(seconds=self.rng.uniform(0, self._jitter_for(source.every)))
        if state is not None and state.last_run_at is not None:
            due = state.last_run_at + self._interval(source)
            if due > now:
                return due
        return now + spread

    def _schedule_source(self, source: SourceConfig, first: datetime, interval: timedelta) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(
            self._track(self._crawl_job),
            IntervalTrigger(seconds=interval.total_seconds(), start_date=first, jitter=self._jitter_for(interval) or None),
            args=[source.name],
            id=f"crawl:{source.name}",
            name=f"crawl {source.name}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(max(interval.total_seconds(), 60)),
            # Without this, APScheduler computes the first run when the scheduler starts: a `first`
            # that passed while the other jobs were being added would move a whole interval later.
            next_run_time=first,
        )
        self.repository.set_next_run(source.name, first)
        self._current_interval[source.name] = interval

    def crawl_soon(self, source_name: str) -> None:
        """Crawl one source now, off its timetable: the web console's "crawl now"."""
        assert self.scheduler is not None
        self.scheduler.add_job(self._track(self._crawl_job), DateTrigger(), args=[source_name, "manual"],
                               id=f"crawl-now:{source_name}", replace_existing=True, max_instances=1)

    async def _crawl_requests(self) -> None:
        """Start the crawls a separately running web console asked for."""
        try:
            requests = await asyncio.to_thread(ConsoleQueries(self.app.engine, clock=self.app.clock)
                                               .claim_crawl_requests, self.name)
        except Exception:
            logger.exception("could not read crawl requests")
            return
        known = {s.name for s in self.config.sources}
        for request in requests:
            if request.source_name in known:
                logger.info("source=%s crawl requested by %s", request.source_name, request.requested_by or "?")
                self.crawl_soon(request.source_name)

    async def _crawl_job(self, source_name: str, trigger: str = "scheduled") -> None:
        source = next((s for s in self.config.sources if s.name == source_name), None)
        if source is None:
            return
        if self.queue is not None:
            await self._enqueue(source)
            self._after_crawl(source)
            return
        task = asyncio.current_task()
        if task is not None:
            self._crawling[task] = (source_name, self.app.clock())
        try:
            await crawl_now(self.app, [source], trigger=trigger, on_done=self._finished_run)
        except asyncio.CancelledError:
            raise
        except Exception:  # the daemon never dies of one source
            logger.exception("source=%s scheduled crawl crashed", source_name)
        finally:
            self._crawling.pop(task, None)  # type: ignore[arg-type]
        self._after_crawl(source)

    async def _enqueue(self, source: SourceConfig) -> None:
        assert self.queue is not None
        try:
            # The marker outlives a dead worker's claim; it only guards against piling up duplicates.
            queued = await asyncio.to_thread(self.queue.enqueue, source.name, self.config.daemon.lease)
        except Exception:  # Redis away: the next tick tries again
            logger.exception("source=%s could not be queued", source.name)
            return
        logger.info("source=%s %s", source.name, "queued for a worker" if queued else "still queued: not queued again")

    def _finished_run(self, result: SourceResult) -> None:
        """One line per finished run, and the metrics."""
        self.metrics.observe_run(result)
        t = result.tally
        line = (f"source={result.source} status={result.status} found={t.found} new={t.new} "
                f"duplicate={t.duplicate} failed={t.failed} seconds={result.seconds:.1f}")
        if result.error:
            # One line per run, however long the error: cut at a word, and the ellipsis says so.
            line += f" {'note' if result.error_is_a_note else 'error'}={shorten(one_line(result.error), ERROR_CHARS)}"
        (logger.warning if result.status == "failed" else logger.info)("%s", line)

    def _after_crawl(self, source: SourceConfig) -> None:
        assert self.scheduler is not None
        interval = self._interval(source)
        job_id = f"crawl:{source.name}"
        if interval != self._current_interval.get(source.name):
            logger.info("source=%s interval now %s", source.name, interval)
            self._schedule_source(source, self.app.clock() + interval, interval)
            return
        job = self.scheduler.get_job(job_id)
        if job is not None and job.next_run_time is not None:
            self.repository.set_next_run(source.name, job.next_run_time)

    async def _recheck_job(self) -> None:
        try:
            await recheck_now(self.app)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("recheck job failed")

    # -- digests ---------------------------------------------------------------
    def _schedule_digest(self, job: DigestSchedule, now: datetime) -> None:
        assert self.scheduler is not None
        trigger = digest_trigger(job.schedule, self.config.digest.timezone)
        grace = self.config.daemon.digest_grace
        state = self.repository.get_job_state(job.job_id)
        if state is None or state.last_run_at is None:
            # First start: nothing can have been missed yet; count from now.
            self.repository.save_job_state(job.job_id, last_run_at=now)
        elif missed := missed_fire_time(trigger, state.last_run_at, now, grace):
            logger.info("digest of %s due at %s was missed while the daemon was down: sending now",
                        ", ".join(job.topics), self._local(missed))
            # DateTrigger() fires at the scheduler's own "now": the injected clock decides
            # *whether* a digest was missed, APScheduler's real clock decides *when* to run.
            self.scheduler.add_job(self._track(self._digest_job), DateTrigger(), args=[job, missed],
                                   id=f"{job.job_id}-catch-up", max_instances=1)
        self.scheduler.add_job(
            self._track(self._digest_job_now), trigger, args=[job], id=job.job_id, max_instances=1, coalesce=True,
            misfire_grace_time=int(grace.total_seconds()),
        )
        next_fire = trigger.get_next_fire_time(None, now)
        if next_fire is not None:
            self.repository.save_job_state(job.job_id, next_run_at=next_fire)

    async def _digest_job_now(self, job: DigestSchedule) -> None:
        # The scheduled time this run stands for: the latest fire time not after now.
        await self._digest_job(job, self.app.clock())

    async def _digest_job(self, job: DigestSchedule, scheduled: datetime) -> None:
        status, outcomes = "ok", None
        if self.digest_runner is None:
            logger.info("digest due at %s: no digest delivery configured", self._local(scheduled))
            status = "skipped"
        else:
            try:
                outcomes = await asyncio.to_thread(self.digest_runner, scheduled, job.topics)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("digest job failed; its articles stay pending for the next digest")
                status = "failed"
            if isinstance(outcomes, list | tuple) and any(getattr(o, "status", "") == "failed" for o in outcomes):
                status = "failed"
        self._log_digest(scheduled, status, outcomes)
        self.metrics.observe_digest_job(status, outcomes)
        trigger = digest_trigger(job.schedule, self.config.digest.timezone)
        self.repository.save_job_state(
            job.job_id, last_run_at=scheduled, last_status=status,
            next_run_at=trigger.get_next_fire_time(None, self.app.clock()),
        )

    def _local(self, moment: datetime) -> str:
        """A time for the log, in `[digest] timezone` as the start line's next digest is."""
        return moment.astimezone(ZoneInfo(self.config.digest.timezone)).isoformat(timespec="minutes")

    def _log_digest(self, scheduled: datetime, status: str, outcomes: object) -> None:
        """One line per digest the job produced (or one saying why there was none)."""
        when = self._local(scheduled)
        listed = list(outcomes) if isinstance(outcomes, list | tuple) else []
        if not listed and status != "skipped":
            logger.info("digest job for %s: %s", when, status)
        for outcome in listed:
            topic, result = getattr(outcome, "topic", "?"), getattr(outcome, "status", "?")
            if result == "failed":
                logger.warning("digest topic=%s status=failed (due %s) error=%s; its articles stay pending",
                               topic, when, getattr(outcome, "error", None))
                continue
            count = getattr(outcome, "article_count", None)
            logger.info("digest topic=%s status=%s%s (due %s)", topic, result,
                        f" articles={count}" if count is not None else "", when)

    # -- heartbeat -------------------------------------------------------------
    def _claim(self) -> None:
        interval = self.config.daemon.heartbeat

        def alive(state: DaemonState) -> bool:
            return heartbeat_is_alive(state.host, state.pid, state.heartbeat_at, now=self.app.clock(), interval=interval)

        holder = self.repository.claim_daemon(self.name, os.getpid(), socket.gethostname(), self.started_at,
                                              is_alive=alive)
        if holder is not None:
            tz = ZoneInfo(self.config.digest.timezone)
            # On this host a killed daemon's pid is gone and it is taken over at once; on another,
            # only its heartbeat going stale tells.
            elsewhere = "" if holder.host == socket.gethostname() else (
                f"; one that was killed is taken over {int((interval * 3).total_seconds()) + 5} s after its last heartbeat")
            raise DaemonRunningError(
                f"another daemon is running on this database (pid {holder.pid} on {holder.host}, last heartbeat "
                f"{holder.heartbeat_at.astimezone(tz).isoformat(timespec='seconds')}): stop it first{elsewhere}"
            )

    async def _heartbeat(self) -> None:
        if self.failure is None and (problem := self._database_problem()) is not None:
            # Crawling on would store into a file nobody can open again: stop, and let the
            # supervisor (systemd, compose) start a daemon on whatever is at the path now.
            logger.error("%s", problem)
            self.failure = problem
            if self._stop is not None:
                self._stop.set()
        if self.failure is not None:
            return
        try:
            self.repository.heartbeat(self.name, os.getpid(), socket.gethostname(), self.started_at)
        except Exception:
            logger.exception("could not record heartbeat")


    def _database_problem(self) -> str | None:
        """Why the daemon's SQLite file is no longer the one at its path, if it is not."""
        if self._database_file is None or self._database_identity is None:
            return None
        identity = file_identity(self._database_file)
        if identity == self._database_identity:
            return None
        what = "deleted" if identity is None else "replaced by another file"
        return (f"the database file {self._database_file} was {what} while the daemon ran: stopping, since "
                "what it stored from then on would be lost when it exits; restore the file or start the daemon again")


def send_digests_job(app: App) -> DigestRunner:
    """The digest job: send the next digest of each topic that is due.

    `scheduled` is the time the run stands for; the digest's own period comes from
    the ledger, so it is only logged.
    """
    from digest.service import send_all_digests

    def run(scheduled: datetime, topics: tuple[str, ...]) -> object:
        logger.debug("digest job for %s: %s", scheduled.isoformat(), ", ".join(topics))
        return send_all_digests(app.digest_context(), topics=topics, now=app.clock())

    return run


async def run_daemon(app: App, *, digest_runner: DigestRunner | None = None, schedule_digests: bool = True) -> None:
    """Run until SIGTERM or SIGINT; digests are sent by `digest_runner` (default: `send_digests_job`)."""
    if schedule_digests and digest_runner is None:
        digest_runner = send_digests_job(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await Daemon(app, digest_runner=digest_runner, schedule_digests=schedule_digests).run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
