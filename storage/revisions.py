"""Which schema revision is the newest, read from the migration files without alembic or SQLAlchemy.

Checking that a database is at head is on every command's start-up path, and
`mediawatch status` on SQLite reads through the standard library alone, so the head
comes from the revision files' `revision` / `down_revision` lines. `storage.migrate`
asks alembic only when these lines are not one linear chain it is sure of.
"""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # alembic's default, which storage/migrations/env.py keeps
# `revision = '0003'`, `down_revision: str | None = None`: how alembic's template writes them.
_REVISION_LINE = re.compile(
    r"""^(?P<key>revision|down_revision)\s*(?::[^=]*)?=\s*(?:['"](?P<id>[^'"]+)['"]|None)\s*(?:#.*)?$""",
    re.MULTILINE,
)


def head_from_revision_files(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The head of the linear chain the revision files declare, read without alembic.

    None when the files are not one linear chain this reading is sure of (a branch, a
    revision line it cannot parse); `head_revision` then asks alembic.
    """
    down_of: dict[str, str | None] = {}
    for script in versions.glob("*.py"):
        found = {m["key"]: m["id"] for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8"))}
        if "revision" not in found or "down_revision" not in found or found["revision"] in down_of:
            return None
        down_of[str(found["revision"])] = found["down_revision"]
    heads = set(down_of) - set(down_of.values())
    if len(heads) != 1:
        return None
    (head,) = heads
    # Linear: from the head, each file's down_revision leads to the next, through every file to None.
    chain: list[str] = []
    revision: str | None = head
    while revision is not None and revision in down_of and revision not in chain:
        chain.append(revision)
        revision = down_of[revision]
    return head if revision is None and len(chain) == len(down_of) else None
