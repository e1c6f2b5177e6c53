"""What `mediawatch status` reports: per-source health and timing, digests, the daemon.

Read through `storage.timetable` (plain SQL), never `app.repository`: building the
repository imports the ORM. The command line's `status` opens no engine at all when
the database is a SQLite file at head (`storage.sqlite`): SQLAlchemy's import was
about 0.15 s of its 0.38 s start-up.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from scheduler.digest_jobs import DIGEST_JOB, digest_trigger
from storage import sqlite
from storage.clock import Clock, utc_now
from storage.processes import heartbeat_is_alive, lease_is_held
from storage.timetable import TimetableState, read_timetable

if TYPE_CHECKING:
    from scheduler.app import App
    from scheduler.config import Config

# A run still `running` whose source no live process holds: its crawl was cut (kill -9, a crash).
# The repository records it as interrupted when the source is next taken; status says so at once.
CUT_RUN = "interrupted"
CUT_RUN_REASON = "the process crawling it ended; recorded as interrupted when the source is next crawled"


@dataclass(frozen=True)
class SourceStatus:
    name: str
    kind: str
    enabled: bool
    healthy: bool
    reason: str | None
    last_run: str | None
    last_status: str | None
    last_found: int | None
    last_new: int | None
    last_duplicate: int | None
    last_failed: int | None
    http_status: int | None
    last_error: str | None
    next_run: str | None
    consecutive_failures: int

    @property
    def note(self) -> str | None:
        """What a list of sources says beside the source: why it is unhealthy, else its last run's note.

        Any status: a partial run says what was lost, and a run that went well may still say
        something ("6 link(s) deferred …", "read the feed it advertises").
        """
        return self.reason or self.last_error or None


@dataclass(frozen=True)
class FailingDigest:
    topic: str
    tried_at: str  # local time of the last attempt
    error: str | None


@dataclass(frozen=True)
class StatusReport:
    timezone: str
    database: str
    database_origin: str
    daemon_running: bool
    daemon_heartbeat: str | None
    daemon_pid: int | None
    sources: list[SourceStatus]
    last_digest_sent: str | None  # that went to someone
    last_digest_archived: str | None  # that only went to the archive (nobody to send it to), if later than the last sent
    next_digest_due: str | None
    unhealthy: int
    failing_digests: list[FailingDigest]  # topics whose latest digest failed (nobody got it yet)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def build_status(app: App) -> StatusReport:
    """The status of an open app's database (the web console's)."""
    from storage.db import describe

    with closing(app.engine.raw_connection()) as connection:
        timetable = read_timetable(connection, job_id=DIGEST_JOB)
    return _report(app.config, timetable, describe(app.engine), app.clock())


def status_of(config: Config, *, clock: Clock = utc_now) -> StatusReport:
    """The status of `config`'s database, opened for this report alone (the command line's).

    A SQLite file at head is read with `sqlite3`; anything else through the app, whose
    engine says what is missing or out of date.
    """
    connection = sqlite.connect_at_head(config.database.url)
    if connection is None:
        from scheduler.app import build_app

        app = build_app(config, clock=clock, create=False)
        try:
            return build_status(app)
        finally:
            app.close()
    with closing(connection):
        timetable = read_timetable(connection, job_id=DIGEST_JOB)
    return _report(config, timetable, config.database.url, clock())


def _report(config: Config, timetable: TimetableState, database: str, now: datetime) -> StatusReport:
    tz = ZoneInfo(config.digest.timezone)
    states, runs = timetable.sources, timetable.last_runs
    sources = []
    for source in config.sources:
        state, run = states.get(source.name), runs.get(source.name)
        last_status, last_error = (run.status, run.error) if run else (None, None)
        if last_status == "running" and not (state and lease_is_held(state.lease_owner, state.lease_expires_at, now=now)):
            last_status, last_error = CUT_RUN, CUT_RUN_REASON
        sources.append(
            SourceStatus(
                name=source.name,
                kind=source.kind,
                enabled=source.enabled,
                healthy=state.healthy if state else True,
                reason=state.unhealthy_reason if state else None,
                last_run=_local(run.started_at, tz) if run else None,
                last_status=last_status,
                last_found=run.found if run else None,
                last_new=run.new if run else None,
                last_duplicate=run.duplicate if run else None,
                last_failed=run.failed if run else None,
                http_status=run.http_status if run else None,
                last_error=last_error,
                next_run=_local(state.next_run_at, tz) if state and source.enabled else None,
                consecutive_failures=state.consecutive_failures if state else 0,
            )
        )
    daemon = timetable.daemon
    running = daemon is not None and heartbeat_is_alive(daemon.host, daemon.pid, daemon.heartbeat_at, now=now,
                                                        interval=config.daemon.heartbeat)
    last_sent = timetable.last_digest_sent
    # An archive-only digest is worth a line only while it is the latest: once one reaches
    # someone, "last digest archived" from before SMTP was set up would read as news.
    last_archived = timetable.last_digest_archived
    if last_archived is not None and last_sent is not None and last_sent >= last_archived:
        last_archived = None
    next_due = timetable.job_next_run if timetable.job_next_run and timetable.job_next_run > now else None
    if next_due is None:
        next_due = digest_trigger(config.digest.schedule, config.digest.timezone).get_next_fire_time(None, now)
    return StatusReport(
        timezone=config.digest.timezone,
        database=database,
        database_origin=config.database_origin,
        daemon_running=running,
        daemon_heartbeat=_local(daemon.heartbeat_at, tz) if daemon else None,
        daemon_pid=daemon.pid if daemon else None,
        sources=sources,
        last_digest_sent=_local(last_sent, tz),
        last_digest_archived=_local(last_archived, tz),
        next_digest_due=_local(next_due, tz),
        unhealthy=sum(1 for s in sources if s.enabled and not s.healthy),
        failing_digests=[FailingDigest(d.topic, _local(d.created_at, tz) or "", d.error)
                         for d in timetable.failing_digests],
    )
