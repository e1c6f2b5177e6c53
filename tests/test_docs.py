"""The README tells the truth: every setting and every command is documented."""

from __future__ import annotations

import re

from scheduler.cli.main import app
from scheduler.config import settings_table
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    missing = [key for key, _, _ in settings_table() if f"`{key}`" not in README]
    assert missing == [], f"undocumented settings (run python -m scheduler.readme_settings): {missing}"


def test_every_command_is_in_the_readme() -> None:
    import typer.main

    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names += [f"{name} {s}" for s in sub] if sub else [name]
    # In the "Command line" table, where a user looks, not only somewhere in the prose.
    missing = [n for n in names if not re.search(rf"^\| `mediawatch {re.escape(n)}\b", README, re.M)]
    assert missing == [], f"commands missing from the README's command table: {missing}"


def test_every_repository_path_the_readme_names_exists() -> None:
    named = re.findall(r"`((?:tests|bench|scheduler|crawler|digest|storage|docs)/[\w/.\-]+)`", README)
    missing = [path for path in named if not (REPO_ROOT / path.rstrip("/")).exists()]
    assert named and missing == [], f"the README names paths that do not exist: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:400]
    assert "make demo" in head and "make test" in head
