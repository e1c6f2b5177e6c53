"""Engine construction: SQLite tuned for two writers, PostgreSQL by URL.

SQLite gets WAL (readers never block the writer), a busy timeout (a second process
waits instead of failing with "database is locked") and `BEGIN IMMEDIATE` on every
transaction, so check-then-insert sequences cannot interleave between processes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from storage.errors import StorageError
from storage.sqlite import SQLITE_BUSY_TIMEOUT_MS, sqlite_file

if TYPE_CHECKING:
    # Imported where used: on SQLite, the PostgreSQL dialect was 6% of `mediawatch status`'s imports.
    from sqlalchemy.dialects import postgresql, sqlite

    UpsertInsert = sqlite.Insert | postgresql.Insert

logger = logging.getLogger(__name__)


def create_engine(url: str, *, echo: bool = False, create: bool = True) -> Engine:
    """Build an engine for `url`, creating a SQLite file's parent folder if needed.

    With `create=False` a SQLite file that does not exist is an error instead: a
    read-only command must not leave an empty database behind.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None and not create and not path.is_file():
            raise StorageError(
                f"no database at {path}: nothing has been stored with this configuration yet "
                "(run `mediawatch crawl` or `mediawatch db upgrade` first)"
            )
        return _create_sqlite_engine(parsed, echo=echo)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", "postgresql"):
        # psycopg 3 is the driver we ship; a bare postgresql:// URL would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, echo=echo, pool_pre_ping=True)


def _create_sqlite_engine(url: sa.URL, *, echo: bool) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the database folder {folder}: {exc.strerror or exc}") from exc
    engine = sa.create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def idempotent_insert(engine: Engine, model: Any) -> UpsertInsert:
    """An INSERT for `model`'s table that can take `ON CONFLICT …` on this engine's backend.

    `INSERT … ON CONFLICT DO NOTHING/UPDATE` is how every insert that may race another
    process (articles, digest items, source rows) stays exactly-once.
    """
    return dialect_insert(engine.dialect.name, model.__table__)


def dialect_insert(dialect: str, table: sa.Table) -> UpsertInsert:
    """`idempotent_insert` by backend name, for a statement built once per backend and cached."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    raise StorageError(f"idempotent inserts are not implemented for {dialect}")


def describe(engine: Engine) -> str:
    """The engine's URL with any password hidden, for logs and status output."""
    return engine.url.render_as_string(hide_password=True)
