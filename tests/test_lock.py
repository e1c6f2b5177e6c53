"""Installs are reproducible: the Dockerfile and the Makefile install from the lock, and the
lock pins every direct dependency in pyproject.toml (an unpinned typer is how a new click
copy once turned every usage error into a traceback)."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (REPO_ROOT / lock).read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line):
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def direct(extra: str | None = None) -> list[Requirement]:
    lines = PYPROJECT["project"]["optional-dependencies"][extra] if extra else PYPROJECT["project"]["dependencies"]
    return [Requirement(line) for line in lines]


def test_runtime_lock_pins_every_dependency_within_its_range() -> None:
    locked = pins("requirements.lock")
    for requirement in direct():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not pinned in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (name, locked[name])


def test_dev_lock_pins_runtime_and_test_dependencies_at_the_same_versions() -> None:
    dev, runtime = pins("requirements-dev.lock"), pins("requirements.lock")
    for requirement in direct() + direct("test"):
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{name} is not pinned in requirements-dev.lock: run `make lock`"
        assert requirement.specifier.contains(dev[name], prereleases=True), (name, dev[name])
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}  # the two locks agree


def test_dockerfile_installs_the_runtime_lock_and_nothing_else() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install ([^&\n]+)", dockerfile)
    assert installs and all("-r requirements.lock" in i or "--no-deps" in i for i in installs), installs
    assert "COPY pyproject.toml README.md requirements.lock" in dockerfile


def test_makefile_installs_the_dev_lock_and_pins_the_locking_tool() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line and "uv==" not in line]
    assert installs and all("-r requirements-dev.lock" in i or "--no-deps" in i or "--upgrade pip" in i for i in installs)
    assert re.search(r"^UV_VERSION := \d+\.\d+\.\d+$", makefile, re.M)
    assert "uv pip compile pyproject.toml" in makefile


def test_readme_says_how_to_update_the_lock() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("## Development"):]
    assert "make lock" in development and "requirements-dev.lock" in development
