"""SQLite through the standard library alone, for `mediawatch status`'s start-up.

Importing SQLAlchemy was about 0.15 s of `status`'s 0.38 s, so on a SQLite database
that is already at the newest schema, status reads the timetable with `sqlite3`.
Everything else — another backend, a database that is missing, empty or behind, whose
errors the engine path words — goes through `storage.db`'s engine as before.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.revisions import VERSION_TABLE, head_from_revision_files

# How long a connection waits for another process's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for other backends and in-memory databases).

    A plain URL is read here; only an unusual one (a query string, an escaped
    character, no `scheme://`) imports SQLAlchemy to parse it.
    """
    scheme, separator, _ = url.partition("://")
    if separator and scheme.split("+", 1)[0] != "sqlite":
        return None
    plain = plain_sqlite_file(url)
    if plain is not None:
        return plain
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of a database file (None when it does not exist).

    An open connection keeps writing to the file it opened: once that file is deleted or
    replaced at its path, what is written there is lost when the process ends.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


def plain_sqlite_file(url: str) -> Path | None:
    """The file a plain SQLite URL names (`sqlite:///relative.db`, `sqlite:////abs.db`), read without SQLAlchemy.

    None for anything this reading is not sure of — another backend, an in-memory
    database, a `file:` URI, a query string or an escaped character.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+", 1)[0] != "sqlite" or not rest.startswith("/"):
        return None
    database = rest[1:]
    if not database or database == ":memory:" or database.startswith("file:") or any(c in database for c in "?%#"):
        return None
    return Path(database).expanduser()


def connect_at_head(url: str) -> sqlite3.Connection | None:
    """A connection to the SQLite file `url` names if its schema is at head, else None."""
    path = plain_sqlite_file(url)
    head = head_from_revision_files()
    if path is None or head is None or not path.is_file():
        return None
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        revisions = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    except sqlite3.Error:  # no version table: an empty or foreign database, for the engine path to explain
        revisions = []
    if revisions != [(head,)]:
        connection.close()
        return None
    return connection
