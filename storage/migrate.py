"""Schema migrations (Alembic), driven from code so users never need alembic.ini.

A brand-new database is brought to head automatically; an existing one that is
behind is refused with the command that fixes it, so the daemon never runs on a
schema it does not understand.

Creating and upgrading the schema is serialised across processes (three first runs
at once used to fail: "unknown revision" on SQLite, a duplicate `pg_type` key on
PostgreSQL): a file lock next to a SQLite database, an advisory lock on PostgreSQL.
Whoever gets the lock second finds the schema at head and does nothing.

Checking that a database is at head is on every command's start-up path, so it
needs no alembic (importing it took about 0.13 s of `mediawatch status`'s 0.66 s):
the head is read from the revision files (`storage.revisions`), the current
revision from the `alembic_version` table. Alembic is imported only to
change the schema, or to count how many migrations behind an old database is.
tests/storage/test_migrate.py fails if the head read here ever differs from alembic's.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.errors import SchemaOutOfDateError, StorageError
from storage.revisions import MIGRATIONS_DIR, VERSION_TABLE, head_from_revision_files
from storage.sqlite import sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

# pg_advisory_lock key for schema changes: any fixed number other code does not use ("mediaw").
ADVISORY_LOCK_KEY = 0x6D6564696177


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of mediawatch knows."""
    head = head_from_revision_files()
    if head is None:  # not one linear chain as written by the template: let alembic decide
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        revisions = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(revisions) > 1:  # migrations are linear: alembic refuses this too
        raise StorageError(f"the database has {len(revisions)} schema revisions ({', '.join(revisions)}); expected one")
    return revisions[0] if revisions else None


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the cross-process lock for schema changes on this database."""
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    if engine.dialect.name == "sqlite":
        if path is None:  # in-memory: one process by definition
            yield
            return
        lock_path = path.resolve().with_name(path.name + ".schema-lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        return
    yield


@dataclass(frozen=True)
class SchemaChange:
    """What an upgrade did: the revision before (None: there was no schema) and after."""

    before: str | None
    after: str | None


def upgrade(engine: Engine, revision: str = "head") -> SchemaChange:
    """Apply every pending migration (one process at a time)."""
    with schema_lock(engine):
        before = current_revision(engine)  # inside the lock: another process may have just upgraded it
        _upgrade_unlocked(engine, revision)
        change = SchemaChange(before=before, after=current_revision(engine))
    logger.info("database upgraded from %s to %s", change.before or "no schema", change.after)
    return change


def _upgrade_unlocked(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def ensure_schema(engine: Engine, *, create: bool = True) -> None:
    """Create the schema of an empty database; refuse one that is out of date.

    With `create=False` (read-only commands) an empty database is an error too.
    """
    head = head_revision()
    if current_revision(engine) == head:
        return  # the common case needs no lock
    if not create:
        _check_schema(engine, head)
        return
    with schema_lock(engine):
        _check_schema(engine, head, create=True)


def _check_schema(engine: Engine, head: str, *, create: bool = False) -> None:
    current = current_revision(engine)
    if current == head:
        return
    if current is None and not sa.inspect(engine).get_table_names():
        if not create:
            raise StorageError(
                f"the database {engine.url.render_as_string(hide_password=True)} has no mediawatch schema yet "
                "(run `mediawatch crawl` or `mediawatch db upgrade` first)"
            )
        _upgrade_unlocked(engine)
        logger.info("database created at revision %s", head)
        return
    behind = _migrations_behind(current, head)
    where = (
        f"{behind} migration{'s' if behind != 1 else ''} behind (at revision {current}, newest {head})"
        if behind is not None
        else f"at a revision this mediawatch does not know ({current or 'none'}; newest {head})"
    )
    raise SchemaOutOfDateError(f"database schema is {where}: run `mediawatch db upgrade`")


def _migrations_behind(current: str | None, head: str) -> int | None:
    """How many migrations lead from `current` to `head`, or None when `current` is not in the chain."""
    if current is None:
        return None
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    try:
        return sum(1 for _ in script.iterate_revisions(head, current))  # excludes `current` itself
    except Exception:  # alembic raises several kinds for a revision it does not know
        return None
