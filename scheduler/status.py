"""What `mediawatch status` reports: per-source health and timing, digests, the daemon.

Read through `storage.timetable` (SQLAlchemy Core), never `app.repository`: building
the repository imports the ORM, which `status`'s start-up does without.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from scheduler.digest_jobs import DIGEST_JOB, digest_trigger
from storage.db import describe
from storage.processes import heartbeat_is_alive
from storage.timetable import read_timetable

if TYPE_CHECKING:
    from scheduler.app import App


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


@dataclass(frozen=True)
class StatusReport:
    timezone: str
    database: str
    database_origin: str
    daemon_running: bool
    daemon_heartbeat: str | None
    daemon_pid: int | None
    sources: list[SourceStatus]
    last_digest_sent: str | None
    next_digest_due: str | None
    unhealthy: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def build_status(app: App) -> StatusReport:
    config = app.config
    tz = ZoneInfo(config.digest.timezone)
    now = app.clock()
    timetable = read_timetable(app.engine, job_id=DIGEST_JOB)
    states, runs = timetable.sources, timetable.last_runs
    sources = []
    for source in config.sources:
        state, run = states.get(source.name), runs.get(source.name)
        sources.append(
            SourceStatus(
                name=source.name,
                kind=source.kind,
                enabled=source.enabled,
                healthy=state.healthy if state else True,
                reason=state.unhealthy_reason if state else None,
                last_run=_local(run.started_at, tz) if run else None,
                last_status=run.status if run else None,
                last_found=run.found if run else None,
                last_new=run.new if run else None,
                last_duplicate=run.duplicate if run else None,
                last_failed=run.failed if run else None,
                http_status=run.http_status if run else None,
                last_error=run.error if run else None,
                next_run=_local(state.next_run_at, tz) if state and source.enabled else None,
                consecutive_failures=state.consecutive_failures if state else 0,
            )
        )
    daemon = timetable.daemon
    running = daemon is not None and heartbeat_is_alive(daemon.host, daemon.pid, daemon.heartbeat_at, now=now,
                                                        interval=config.daemon.heartbeat)
    last_sent = timetable.last_digest_sent
    next_due = timetable.job_next_run if timetable.job_next_run and timetable.job_next_run > now else None
    if next_due is None:
        next_due = digest_trigger(config.digest.schedule, config.digest.timezone).get_next_fire_time(None, now)
    return StatusReport(
        timezone=config.digest.timezone,
        database=describe(app.engine),
        database_origin=config.database_origin,
        daemon_running=running,
        daemon_heartbeat=_local(daemon.heartbeat_at, tz) if daemon else None,
        daemon_pid=daemon.pid if daemon else None,
        sources=sources,
        last_digest_sent=_local(last_sent, tz),
        next_digest_due=_local(next_due, tz),
        unhealthy=sum(1 for s in sources if s.enabled and not s.healthy),
    )
