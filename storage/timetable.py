"""Where the timetable stands, read with SQLAlchemy Core alone: what `mediawatch status` shows.

Each source's health and next run, its latest crawl run, the daemon's heartbeat, when
a scheduled job is next due and when the last digest went out, read in one short
connection. No ORM: importing SQLModel and the table classes took about 0.12 s of
`status`'s 0.66 s, so the few columns read here are declared as lightweight tables;
tests/storage/test_timetable.py checks each against `storage.models` (a renamed or
retyped column fails there) and the reads against the repository's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.columns import UTCDateTime

SOURCE = sa.table(
    "source",
    sa.column("name", sa.String),
    sa.column("healthy", sa.Boolean),
    sa.column("unhealthy_reason", sa.String),
    sa.column("next_run_at", UTCDateTime),
    sa.column("consecutive_failures", sa.Integer),
)
CRAWL_RUN = sa.table(
    "crawl_run",
    sa.column("id", sa.Integer),
    sa.column("source_name", sa.String),
    sa.column("started_at", UTCDateTime),
    sa.column("status", sa.String),
    sa.column("found", sa.Integer),
    sa.column("new", sa.Integer),
    sa.column("duplicate", sa.Integer),
    sa.column("failed", sa.Integer),
    sa.column("http_status", sa.Integer),
    sa.column("error", sa.Text),
)
DAEMON_STATE = sa.table(
    "daemon_state", sa.column("name", sa.String), sa.column("pid", sa.Integer), sa.column("host", sa.String),
    sa.column("heartbeat_at", UTCDateTime),
)
JOB_STATE = sa.table("job_state", sa.column("job_id", sa.String), sa.column("next_run_at", UTCDateTime))
DIGEST = sa.table("digest", sa.column("status", sa.String), sa.column("sent_at", UTCDateTime))


@dataclass(frozen=True)
class SourceHealth:
    name: str
    healthy: bool
    unhealthy_reason: str | None
    next_run_at: datetime | None
    consecutive_failures: int


@dataclass(frozen=True)
class LastRun:
    source_name: str
    started_at: datetime
    status: str
    found: int
    new: int
    duplicate: int
    failed: int
    http_status: int | None
    error: str | None


@dataclass(frozen=True)
class Heartbeat:
    pid: int
    host: str
    heartbeat_at: datetime


@dataclass(frozen=True)
class TimetableState:
    sources: dict[str, SourceHealth]
    last_runs: dict[str, LastRun]
    daemon: Heartbeat | None
    job_next_run: datetime | None  # of the job asked for; None if it never ran or has no next time
    last_digest_sent: datetime | None  # of any topic


def latest_run_ids() -> sa.Subquery:
    """Each source's latest crawl run (running or finished) as (source_name, id): the repository's too."""
    return (
        sa.select(CRAWL_RUN.c.source_name, sa.func.max(CRAWL_RUN.c.id).label("id"))
        .group_by(CRAWL_RUN.c.source_name)
        .subquery()
    )


def read_timetable(engine: Engine, *, job_id: str, daemon: str = "daemon") -> TimetableState:
    """The timetable's state: every source's, the daemon named `daemon`, the job `job_id`."""
    latest = latest_run_ids()
    run_columns = [CRAWL_RUN.c[name] for name in LastRun.__dataclass_fields__]
    with engine.connect() as connection:
        sources = connection.execute(sa.select(*SOURCE.c)).mappings().all()
        runs = connection.execute(
            sa.select(*run_columns).join(latest, CRAWL_RUN.c.id == latest.c.id)
        ).mappings().all()
        heartbeat = connection.execute(
            sa.select(DAEMON_STATE.c.pid, DAEMON_STATE.c.host, DAEMON_STATE.c.heartbeat_at).where(DAEMON_STATE.c.name == daemon)
        ).mappings().first()
        job_next_run = connection.execute(
            sa.select(JOB_STATE.c.next_run_at).where(JOB_STATE.c.job_id == job_id)
        ).scalar()
        last_sent = connection.execute(
            sa.select(sa.func.max(DIGEST.c.sent_at)).where(DIGEST.c.status == "sent")
        ).scalar()
    return TimetableState(
        sources={row["name"]: SourceHealth(**row) for row in sources},
        last_runs={row["source_name"]: LastRun(**row) for row in runs},
        daemon=Heartbeat(**heartbeat) if heartbeat else None,
        job_next_run=job_next_run,
        last_digest_sent=last_sent,
    )
