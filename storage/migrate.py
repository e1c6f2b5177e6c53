"""Schema migrations (Alembic), driven from code so users never need alembic.ini.

A brand-new database is brought to head automatically; an existing one that is
behind is refused with the command that fixes it, so the daemon never runs on a
schema it does not understand.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storage.errors import SchemaOutOfDateError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of mediawatch knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)
    logger.info("database upgraded to %s", current_revision(engine))


def ensure_schema(engine: Engine) -> None:
    """Create the schema of an empty database; refuse one that is out of date."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None and not sa.inspect(engine).get_table_names():
        upgrade(engine)
        return
    raise SchemaOutOfDateError(
        f"database schema is at {current or 'an unknown revision'}, this mediawatch needs {head}: "
        "run `mediawatch db upgrade`"
    )
