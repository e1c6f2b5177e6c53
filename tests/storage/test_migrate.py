"""Schema creation is serialised, and the schema check that needs no alembic agrees with alembic.

Before the lock, three simultaneous first runs failed on SQLite ("unknown revision,
run db upgrade") and on PostgreSQL (duplicate key on `pg_type_typname_nsp_index`).
Every command checks the schema at start-up by reading the revision files and the
`alembic_version` table itself (importing alembic was a fifth of `mediawatch status`);
the tests below pin that this reading is alembic's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import create_engine
from storage.errors import SchemaOutOfDateError
from storage.migrate import current_revision, ensure_schema, head_revision, upgrade
from storage.revisions import MIGRATIONS_DIR, head_from_revision_files
from tests.conftest import REPO_ROOT

FIRST_RUN = textwrap.dedent(
    """
    import sys, time
    from storage.db import create_engine
    from storage.migrate import ensure_schema
    start = float(sys.argv[2])
    while time.time() < start:  # every process starts at the same moment
        time.sleep(0.001)
    engine = create_engine(sys.argv[1])
    ensure_schema(engine)
    engine.dispose()
    """
)


def test_simultaneous_first_runs_all_succeed_and_create_the_schema_once(database_url: str) -> None:
    processes = 6
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start = time.time() + 3  # enough for every interpreter to have imported mediawatch
    children = [
        subprocess.Popen([sys.executable, "-c", FIRST_RUN, database_url, str(start)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    outcomes = [(child.wait(timeout=120), child.stderr.read() if child.stderr else "") for child in children]
    failures = [stderr.strip().splitlines()[-1:] for status, stderr in outcomes if status != 0]
    assert failures == []
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def _alembic_scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def _alembics_current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    # Start-up reads the head from the revision files; a migration that broke that reading
    # (or a chain alembic reads differently) must fail here, not let a command run on an old schema.
    head = _alembic_scripts().get_current_head()
    assert head_from_revision_files() == head
    assert head_revision() == head


def test_the_revision_read_without_alembic_is_alembics_when_empty_behind_and_current(database_url: str) -> None:
    head = head_revision()
    two_behind = [script.revision for script in _alembic_scripts().walk_revisions()][2]
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None and _alembics_current_revision(engine) is None
        upgrade(engine, two_behind)
        assert current_revision(engine) == _alembics_current_revision(engine) == two_behind
        with pytest.raises(SchemaOutOfDateError, match=rf"2 migrations behind \(at revision {two_behind}, newest {head}\)"):
            ensure_schema(engine, create=False)
        upgrade(engine)
        assert current_revision(engine) == _alembics_current_revision(engine) == head
        ensure_schema(engine, create=False)  # at head: nothing to refuse
    finally:
        engine.dispose()


def _revision_file(folder: Path, revision: str, down_revision: str, *, annotated: bool = False) -> None:
    annotation = ": str | None" if annotated else ""
    (folder / f"{revision}_step.py").write_text(
        f'"""step {revision}\n\nRevision ID: {revision}\nRevises: {down_revision}\n"""\n\n'
        f"revision{': str' if annotated else ''} = {revision!r}\n"
        f"down_revision{annotation} = {down_revision}\n",
        encoding="utf-8",
    )


def test_revision_files_that_are_not_one_linear_chain_are_left_to_alembic(tmp_path: Path) -> None:
    _revision_file(tmp_path, "a1", "None")
    _revision_file(tmp_path, "b2", "'a1'", annotated=True)  # newer alembic templates annotate
    _revision_file(tmp_path, "c3", '"b2"')
    assert head_from_revision_files(tmp_path) == "c3"
    _revision_file(tmp_path, "d4", "'b2'")  # a branch: two heads
    assert head_from_revision_files(tmp_path) is None
    (tmp_path / "d4_step.py").unlink()
    _revision_file(tmp_path, "e5", "('c3', 'a1')")  # a merge point
    assert head_from_revision_files(tmp_path) is None
    (tmp_path / "e5_step.py").unlink()
    _revision_file(tmp_path, "f6", "'gone'")  # revises a revision that is not there
    assert head_from_revision_files(tmp_path) is None
