"""`storage.timetable` (what `mediawatch status` reads, in plain SQL) agrees with the ORM.

It names the few columns it reads by its dataclasses' fields instead of importing the
table classes, so these tests pin that each one is a column of the model with a type
the reading understands, and that its reads — over an engine's raw connection and, on
SQLite, over the standard library's `sqlite3` as `status` reads — return what the
repository and the digest ledger wrote and read back.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage import sqlite
from storage.columns import UTCDateTime
from storage.db import create_engine
from storage.ledger import DigestLedger
from storage.migrate import ensure_schema
from storage.repository import Repository
from storage.timetable import FailedDigest, Heartbeat, LastRun, SourceHealth, read_timetable

# Each dataclass the timetable fills, and the table its fields are read from.
READ_FROM = {SourceHealth: "source", LastRun: "crawl_run", Heartbeat: "daemon_state", FailedDigest: "digest"}
# How the reading converts a field of each annotation (`storage.timetable._typed`).
READ_AS: dict[str, type] = {"str": sa.String, "str | None": sa.String, "int": sa.Integer, "int | None": sa.Integer,
                            "bool": sa.Boolean, "datetime": UTCDateTime, "datetime | None": UTCDateTime}


def test_every_column_the_timetable_reads_is_the_models_column_with_its_type() -> None:
    for shape, table_name in READ_FROM.items():
        table = SQLModel.metadata.tables[table_name]
        for field in dataclasses.fields(shape):
            assert field.name in table.c, f"{table_name}.{field.name} is not a column of the model"
            assert isinstance(field.type, str) and field.type in READ_AS, f"{shape.__name__}.{field.name}: {field.type}"
            modelled = table.c[field.name].type
            assert issubclass(_kind(modelled), READ_AS[field.type]), (
                f"{table_name}.{field.name}: read as {field.type}, {modelled!r} in the model"
            )
            assert not table.c[field.name].nullable or field.type.endswith("| None"), (
                f"{table_name}.{field.name} may be NULL but is read as {field.type}"
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


def _read(database_url: str, engine: sa.Engine, via: str, **which: str) -> Any:
    """`read_timetable` over an engine's raw connection (the web console's) or `sqlite3` (`status`'s on SQLite)."""
    if via == "sqlite3":
        if engine.dialect.name != "sqlite":
            pytest.skip("status reads only SQLite through sqlite3")
        connection: Any = sqlite.connect_at_head(database_url)
        assert connection is not None, "a SQLite database at head is read through sqlite3"
    else:
        connection = engine.raw_connection()
    with closing(connection):
        return read_timetable(connection, **which)


@pytest.mark.parametrize("via", ["engine", "sqlite3"])
def test_the_timetable_reads_what_the_repository_and_the_ledger_wrote(database_url: str, via: str) -> None:
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
        # The later one is the last digest sent, whatever its topic and whether by email or a channel.
        for topic, message_id in (("robots", "<1.robots@mediawatch.test>"), ("nanjing", None)):
            digest = ledger.claim(topic, now=clock(), period_start=None, allow_empty=True)
            assert digest is not None and digest.id is not None
            sent_at[topic] = clock()
            if message_id is None:  # a channel's delivery, no email
                ledger.open_deliveries(digest.id, topic, [("newsroom", "{}")])
                ledger.record_delivery(digest.id, "newsroom", "sent", at=sent_at[topic])
            assert ledger.mark_sent(digest.id, sent_at=sent_at[topic], message_id=message_id)
        unsent = ledger.claim("hefei", now=clock(), period_start=None, allow_empty=True)
        assert unsent is not None and unsent.id is not None
        ledger.release(unsent.id, "smtp refused")
        # A topic is failing while its latest digest attempt failed; one sent later clears it. These
        # go to nobody (no Message-ID, no delivery row): archived, never the last digest sent.
        for topic, outcomes in (("suzhou", ("failed", "sent")), ("wuxi", ("sent", "failed"))):
            for outcome in outcomes:
                attempt = ledger.claim(topic, now=clock(), period_start=None, allow_empty=True)
                assert attempt is not None and attempt.id is not None
                if outcome == "sent":
                    assert ledger.mark_sent(attempt.id, sent_at=clock(), message_id=None)
                else:
                    ledger.release(attempt.id, f"{topic}: connection refused")

        state = _read(database_url, engine, via, job_id="digest")

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
        assert state.last_digest_sent == sent_at["nanjing"]  # suzhou's and wuxi's, later, went to nobody
        topics = ("robots", "nanjing", "hefei", "suzhou", "wuxi")
        assert state.last_digest_sent == max(d.sent_at for t in topics if (d := ledger.last_delivered(t)) and d.sent_at)
        archived = ledger.archive_only([d.id for d in ledger.list_digests() if d.id is not None])
        assert state.last_digest_archived == max(d.sent_at for d in ledger.list_digests() if d.id in archived and d.sent_at)
        assert state.last_digest_archived > sent_at["nanjing"]
        assert [(d.topic, d.error) for d in state.failing_digests] == [
            ("hefei", "smtp refused"), ("wuxi", "wuxi: connection refused")]
        assert state.failing_digests[0].created_at == unsent.created_at
        assert all(t.tzinfo is not None for t in (state.job_next_run, state.last_digest_sent,
                                               state.last_digest_archived, state.daemon.heartbeat_at))

        nothing = _read(database_url, engine, via, job_id="digest:robots", daemon="elsewhere")
        assert nothing.daemon is None and nothing.job_next_run is None
    finally:
        engine.dispose()


def test_sqlite3_reads_only_a_database_at_head_and_leaves_the_rest_to_the_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mediawatch.db"
    assert sqlite.connect_at_head(url) is None  # missing: the engine path says so
    with closing(sqlite3.connect(tmp_path / "other.db")) as connection:
        connection.execute("CREATE TABLE other (x)")
    assert sqlite.connect_at_head(f"sqlite:///{tmp_path}/other.db") is None  # no mediawatch schema
    engine = create_engine(url)
    ensure_schema(engine)
    engine.dispose()
    connection = sqlite.connect_at_head(url)
    assert connection is not None
    with closing(connection):
        connection.execute("UPDATE alembic_version SET version_num = 'behind'")
        connection.commit()
    assert sqlite.connect_at_head(url) is None  # out of date: the engine path refuses it with the fix


@pytest.mark.parametrize("url", [
    "sqlite:///data/mediawatch.db", "sqlite:////srv/mw/mediawatch.db", "sqlite+pysqlite:///rel.db", "sqlite:///~/mw.db",
    "sqlite:///data/%C3%A9t%C3%A9.db", "sqlite:///data/x.db?timeout=5", "sqlite://", "sqlite:///:memory:",
    "sqlite:///file:mem?mode=memory&uri=true", "postgresql://u:p@localhost/test", "postgresql+psycopg://localhost/x",
    "not a url",
])
def test_sqlite_file_reads_a_url_as_sqlalchemy_does(url: str) -> None:
    from sqlalchemy.engine import make_url

    expected = None
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        expected = None if parsed.database.startswith("file:") else Path(parsed.database).expanduser()
    assert sqlite.sqlite_file(url) == expected
    plain = sqlite.plain_sqlite_file(url)
    assert plain is None or plain == expected  # the standard-library reading answers only when it is sure
