"""Schema creation is serialised: several processes opening a brand-new database at once all succeed.

Before the lock, three simultaneous first runs failed on SQLite ("unknown revision,
run db upgrade") and on PostgreSQL (duplicate key on `pg_type_typname_nsp_index`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from storage.db import create_engine
from storage.migrate import current_revision, head_revision
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
