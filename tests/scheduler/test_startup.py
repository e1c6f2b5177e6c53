"""What a command's start-up imports: `status` and `--help` leave out what they do not use.

`make bench` times `mediawatch status` (goal: under 0.3 s). Most of that time was
imports it did not need: alembic for the schema check, SQLModel and the table classes,
the daemon module (APScheduler's scheduler, prometheus-client) for the digest
timetable, and on a SQLite database at head SQLAlchemy itself (`storage.sqlite`). These tests fail when one of them comes back on that path; how fast it is
stays the benchmark's business.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT, run_cli, write_config

MINIMAL = {"topics": [{"name": "t", "keywords": ["六小龙"]}]}
# Modules that were on `status`'s start-up path and are not needed there.
NOT_FOR_STATUS = ("alembic", "sqlalchemy", "sqlmodel", "storage.models", "storage.repository", "scheduler.daemon",
                  "apscheduler.schedulers", "prometheus_client")
NOT_FOR_HELP = (*NOT_FOR_STATUS, "pydantic", "scheduler.config")
# A listing's CSS selectors are checked at load with cssselect, not parsel (which brings lxml and w3lib).
NOT_FOR_SELECTORS = ("parsel", "lxml", "w3lib", "scrapy")

LOADED = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from scheduler.cli.main import run
    with contextlib.redirect_stdout(io.StringIO()):
        status = run(sys.argv[2:])
    with open(sys.argv[1], "w") as handle:
        json.dump({"status": status, "modules": sorted(sys.modules)}, handle)
    """
)


def _loaded(tmp_path: Path, *args: str) -> list[str]:
    """The modules `mediawatch <args>` imported, in a fresh interpreter; the command must succeed."""
    record = tmp_path / "loaded.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    result = subprocess.run([sys.executable, "-c", LOADED, str(record), *args], capture_output=True, text=True,
                            timeout=120, env={**env, "PYTHONPATH": str(REPO_ROOT)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(record.read_text(encoding="utf-8"))
    assert loaded["status"] == 0
    return list(loaded["modules"])


def _matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_status_on_sqlite_imports_neither_sqlalchemy_nor_alembic_nor_the_orm_nor_the_daemon(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", MINIMAL)
    assert run_cli("db", "upgrade", config=config).returncode == 0
    assert _matching(_loaded(tmp_path, "--config", str(config), "status"), NOT_FOR_STATUS) == []


def test_status_checks_css_selectors_without_parsel(tmp_path: Path) -> None:
    listing = {"name": "l", "kind": "listing", "url": "http://127.0.0.1:9/", "every": "1h", "allow_private": True,
               "link_selector": "a[href*='/news/']::attr(href)", "selectors": {"body": "article .text"}}
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": [listing]})
    assert run_cli("db", "upgrade", config=config).returncode == 0
    assert _matching(_loaded(tmp_path, "--config", str(config), "status"), NOT_FOR_SELECTORS) == []


def test_help_imports_no_database_or_configuration_code(tmp_path: Path) -> None:
    assert _matching(_loaded(tmp_path, "--help"), NOT_FOR_HELP) == []


def test_a_database_error_is_still_one_line_although_main_imports_no_sqlalchemy(tmp_path: Path) -> None:
    # main() recognises SQLAlchemy's errors without importing SQLAlchemy itself (--help needs none of it).
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "database": {"url": f"sqlite:///{tmp_path}/x.db"}})
    assert run_cli("db", "upgrade", config=config).returncode == 0
    with sqlite3.connect(tmp_path / "x.db") as connection:
        connection.execute("DROP TABLE crawl_run")
    result = run_cli("status", config=config)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "mediawatch: database error: no such table: crawl_run (is the schema current? try `mediawatch db current`)"
    ]
