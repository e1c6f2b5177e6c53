"""Development helper: regenerate the initial migration from the models.

Only valid while no release has shipped revision 0001 (after that, add a new
revision with `python -m storage.regen_migration --new "message"`).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from storage.db import create_engine
from storage.migrate import _alembic_config, upgrade
from storage.revisions import MIGRATIONS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new", metavar="MESSAGE", help="add a new revision instead of regenerating 0001")
    parser.add_argument("--rev-id", help="revision id for --new (default: next number)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/regen.db")
        versions = MIGRATIONS_DIR / "versions"
        if args.new:
            upgrade(engine)
            existing = sorted(p.name for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
            rev_id = args.rev_id or f"{int(existing[-1][:4]) + 1:04d}"
            message = args.new
        else:
            for old in versions.glob("0001_*.py"):
                old.unlink()
            rev_id, message = "0001", "initial schema"
        with engine.begin() as connection:
            command.revision(_alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)
    for path in Path(versions).glob(f"{rev_id}_*.py"):
        print(path)


if __name__ == "__main__":
    main()
