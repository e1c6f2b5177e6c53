"""`storage.timetable` (what `mediawatch status` reads, with SQLAlchemy Core) agrees with the ORM.

It declares the few columns it reads instead of importing the table classes, so these
tests pin that each one is a column of the model with the same type, and that its
reads return what the repository and the digest ledger wrote and read back.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.columns import UTCDateTime
from storage.db import create_engine
from storage.ledger import DigestLedger
from storage.migrate import ensure_schema
from storage.repository import Repository
from storage.timetable import (
    CRAWL_RUN,
    DAEMON_STATE,
    DIGEST,
    JOB_STATE,
    SOURCE,
    Heartbeat,
    LastRun,
    SourceHealth,
    read_timetable,
)


def test_every_column_the_timetable_reads_is_the_models_column_with_its_type() -> None:
    for light in (SOURCE, CRAWL_RUN, DAEMON_STATE, JOB_STATE, DIGEST):
        table = SQLModel.metadata.tables[light.name]
        for column in light.c:
            assert column.name in table.c, f"{light.name}.{column.name} is not a column of the model"
            declared, modelled = column.type, table.c[column.name].type
            assert issubclass(_kind(modelled), _kind(declared)), (
                f"{light.name}.{column.name}: {declared!r} here, {modelled!r} in the model"
            )


def _kind(column_type: Any) -> type:
    """The SQL type a column is read as: UTCDateTime (aware timestamps) or the type under SQLModel's AutoString."""
    if isinstance(column_type, UTCDateTime):
        return UTCDateTime
    return type(column_type.impl if isinstance(column_type, sa.types.TypeDecorator) else column_type)


class SteppingClock:
    """A clock that moves one minute each time it is read."""

    def __init__(self) -> None:
        self.now = datetime(2025, 2, 9, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _fields(row: Any, shape: Any) -> dict[str, Any]:
    return {field.name: getattr(row, field.name) for field in dataclasses.fields(shape)}


def test_the_timetable_reads_what_the_repository_and_the_ledger_wrote(database_url: str) -> None:
    engine = create_engine(database_url)
    ensure_schema(engine)
    try:
        clock = SteppingClock()
        repository, ledger = Repository(engine, clock), DigestLedger(engine)
        repository.sync_sources([(name, "feed", f"https://{name}.example/rss.xml") for name in ("jiangnan", "jinling", "quiet")])
        ok = repository.start_run("jiangnan", "scheduled")
        repository.finish_run(ok, status="ok", found=5, new=3, duplicate=2, failed=0, http_status=200, error=None)
        failed = repository.start_run("jiangnan", "manual")
        repository.finish_run(failed, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=503,
                              error="503 Service Unavailable")
        repository.start_run("jinling", "scheduled")  # still running: the latest run all the same
        repository.set_health("jinling", healthy=False, reason="5 failures in a row")
        next_crawl = datetime(2025, 2, 9, 18, 30, tzinfo=datetime.now().astimezone().tzinfo)
        repository.set_next_run("jiangnan", next_crawl)
        repository.heartbeat("daemon", pid=4242, host="desk", started_at=clock())
        next_digest = datetime(2025, 2, 10, 0, 0, tzinfo=UTC)
        repository.save_job_state("digest", next_run_at=next_digest)
        sent_at = {}
        for topic in ("robots", "nanjing"):  # the later one is the last digest sent, whatever its topic
            digest = ledger.claim(topic, now=clock(), period_start=None, allow_empty=True)
            assert digest is not None and digest.id is not None
            sent_at[topic] = clock()
            assert ledger.mark_sent(digest.id, sent_at=sent_at[topic], message_id=None)
        unsent = ledger.claim("hefei", now=clock(), period_start=None, allow_empty=True)
        assert unsent is not None and unsent.id is not None
        ledger.release(unsent.id, "smtp refused")

        state = read_timetable(engine, job_id="digest")

        assert state.sources == {
            name: SourceHealth(**_fields(source, SourceHealth)) for name, source in repository.list_source_states().items()
        }
        assert state.last_runs == {
            name: LastRun(**_fields(run, LastRun)) for name, run in repository.last_runs().items()
        }
        assert set(state.sources) == {"jiangnan", "jinling", "quiet"} and set(state.last_runs) == {"jiangnan", "jinling"}
        assert (state.last_runs["jiangnan"].status, state.last_runs["jiangnan"].http_status) == ("failed", 503)
        assert state.last_runs["jinling"].status == "running"
        assert state.sources["jinling"].healthy is False and state.sources["jiangnan"].next_run_at == next_crawl
        assert state.sources["jiangnan"].consecutive_failures == 1
        daemon = repository.daemon_state()
        assert daemon is not None and state.daemon == Heartbeat(pid=4242, host=daemon.host, heartbeat_at=daemon.heartbeat_at)
        assert state.job_next_run == next_digest
        assert state.last_digest_sent == sent_at["nanjing"]
        assert all(t.tzinfo is not None for t in (state.job_next_run, state.last_digest_sent, state.daemon.heartbeat_at))

        nothing = read_timetable(engine, job_id="digest:robots", daemon="elsewhere")
        assert nothing.daemon is None and nothing.job_next_run is None
    finally:
        engine.dispose()
