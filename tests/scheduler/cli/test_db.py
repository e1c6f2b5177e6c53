"""`mediawatch db upgrade`: what it did to the schema, said in its one line."""

from __future__ import annotations

from pathlib import Path

from storage.db import create_engine
from storage.migrate import head_revision, upgrade
from storage.revisions import MIGRATIONS_DIR
from tests.conftest import run_cli, write_config

TOPIC = {"name": "t", "keywords": ["六小龙"]}


def _two_behind_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()][2]


def test_db_upgrade_says_whether_it_created_upgraded_or_left_the_schema(tmp_path: Path, database_url: str) -> None:
    # On a fresh database it said only "at revision 0007", as it did on one already there: whether the
    # schema had been created, brought up from an old revision or left alone was anyone's guess.
    head = head_revision()
    config = write_config(tmp_path / "mediawatch.toml", {"database": {"url": database_url}, "topics": [TOPIC]})

    def upgraded(config: Path) -> str:
        result = run_cli("db", "upgrade", config=config)
        assert result.returncode == 0, result.stderr
        [line] = result.stdout.splitlines()
        return line.split(": ", 1)[1]  # after the database's URL

    assert upgraded(config) == f"created the schema at revision {head}"
    assert upgraded(config) == f"already at revision {head}; nothing to do"

    behind = _two_behind_head()
    old = write_config(tmp_path / "old.toml", {"database": {"url": f"sqlite:///{tmp_path / 'old.db'}"}, "topics": [TOPIC]})
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, behind)
    finally:
        engine.dispose()
    assert upgraded(old) == f"upgraded from revision {behind} to {head}"
