"""Where the timetable stands, read with plain SQL over a DB-API connection: what `mediawatch status` shows.

Each source's health and next run, its latest crawl run, the daemon's heartbeat, when
a scheduled job is next due and when the last digest went out (or only to the archive), read in one short
connection. The connection is the standard library's `sqlite3` on a SQLite database
at head (`storage.sqlite.connect_at_head`: status then imports neither SQLAlchemy nor
the ORM) or an engine's raw connection otherwise (PostgreSQL, the web console). The
SQL is what both backends read alike; the few columns read are named by the
dataclasses below, and tests/storage/test_timetable.py checks each against
`storage.models` and the reads, over both kinds of connection, against the repository's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, /) -> object: ...
    def fetchall(self) -> Sequence[Sequence[Any]]: ...
    def close(self) -> object: ...


class Connection(Protocol):
    """What is used of a DB-API connection (`sqlite3`'s, or SQLAlchemy's `engine.raw_connection()`)."""

    def cursor(self) -> Any: ...


@dataclass(frozen=True)
class SourceHealth:
    name: str
    healthy: bool
    unhealthy_reason: str | None
    next_run_at: datetime | None
    consecutive_failures: int
    lease_owner: str | None  # who crawls it now ("host:pid:suffix"), until lease_expires_at
    lease_expires_at: datetime | None


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
class FailedDigest:
    """A topic's latest digest attempt, when it failed (no digest of the topic went out since)."""

    topic: str
    created_at: datetime
    error: str | None


@dataclass(frozen=True)
class TimetableState:
    sources: dict[str, SourceHealth]
    last_runs: dict[str, LastRun]
    daemon: Heartbeat | None
    job_next_run: datetime | None  # of the job asked for; None if it never ran or has no next time
    last_digest_sent: datetime | None  # of any topic, that went to someone (email or a channel)
    last_digest_archived: datetime | None  # of any topic, that only went to the archive (nobody to send to)
    failing_digests: list[FailedDigest]  # topics whose latest digest failed, by topic


# A sent digest that reached someone: a Message-ID (email digests from before deliveries) or a
# delivery row; the SQL of `storage.ledger._delivered`, which tests/storage/test_timetable.py compares.
_DELIVERED = ("(d.message_id IS NOT NULL OR EXISTS "
              "(SELECT 1 FROM digest_delivery AS dd WHERE dd.digest_id = d.id))")


def read_timetable(connection: Connection, *, job_id: str, daemon: str = "daemon") -> TimetableState:
    """The timetable's state: every source's, the daemon named `daemon`, the job `job_id`."""
    cursor: Cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT {_columns(SourceHealth)} FROM source")
        sources = [SourceHealth(*_typed(SourceHealth, row)) for row in cursor.fetchall()]
        # Each source's latest run, running or finished: the repository's `last_runs` too.
        cursor.execute(f"SELECT {_columns(LastRun, 'run.')} FROM crawl_run AS run JOIN "
                       "(SELECT MAX(id) AS id FROM crawl_run GROUP BY source_name) AS latest ON run.id = latest.id")
        runs = [LastRun(*_typed(LastRun, row)) for row in cursor.fetchall()]
        cursor.execute(f"SELECT name, {_columns(Heartbeat)} FROM daemon_state")
        heartbeats = {row[0]: Heartbeat(*_typed(Heartbeat, row[1:])) for row in cursor.fetchall()}
        cursor.execute("SELECT job_id, next_run_at FROM job_state")
        next_runs = {row[0]: _utc(row[1]) for row in cursor.fetchall()}
        # A digest "sent" with nobody to send to was only archived: `storage.ledger._delivered`
        # tells the two apart by its Message-ID or a delivery row, and so does this.
        cursor.execute(f"SELECT MAX(sent_at) FROM digest AS d WHERE status = 'sent' AND {_DELIVERED}")
        ((last_sent,),) = cursor.fetchall()
        cursor.execute(f"SELECT MAX(sent_at) FROM digest AS d WHERE status = 'sent' AND NOT {_DELIVERED}")
        ((last_archived,),) = cursor.fetchall()
        # Each topic's latest digest that was sent or failed (not empty, not being sent now).
        cursor.execute(f"SELECT {_columns(FailedDigest, 'd.')} FROM digest AS d JOIN "
                       "(SELECT MAX(id) AS id FROM digest WHERE status IN ('sent', 'failed') GROUP BY topic) "
                       "AS latest ON d.id = latest.id WHERE d.status = 'failed' ORDER BY d.topic")
        failing = [FailedDigest(*_typed(FailedDigest, row)) for row in cursor.fetchall()]
    finally:
        cursor.close()
    return TimetableState(
        sources={source.name: source for source in sources},
        last_runs={run.source_name: run for run in runs},
        daemon=heartbeats.get(daemon),
        job_next_run=next_runs.get(job_id),
        last_digest_sent=_utc(last_sent),
        last_digest_archived=_utc(last_archived),
        failing_digests=failing,
    )


def _columns(shape: type, prefix: str = "") -> str:
    """The columns named by `shape`'s fields, quoted (`new`, `failed`, `status` are column names too)."""
    return ", ".join(f'{prefix}"{field.name}"' for field in fields(shape))


def _typed(shape: type, row: Sequence[Any]) -> list[Any]:
    """`row` as `shape`'s field types: SQLite gives booleans as 0/1 and timestamps as text."""
    values = []
    for field, value in zip(fields(shape), row, strict=True):
        if value is not None and field.type in ("bool", "bool | None"):
            value = bool(value)
        elif field.type in ("datetime", "datetime | None"):
            value = _utc(value)
        values.append(value)
    return values


def _utc(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime, as `storage.columns.UTCDateTime` reads it."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
