"""Shared fixtures: real databases, a real HTTP server on 127.0.0.1, the CLI as a subprocess.

Tests that use `database_url` run against a SQLite file and, when
MEDIAWATCH_TEST_DATABASE_URL is set, once more against PostgreSQL (each test gets its
own freshly created database), so one run proves both backends; the summary at the end
says how many ran on each. `make test` runs the suite on several pytest-xdist workers: every
fixture here gives each test its own database, server port, temporary folder and queue
prefix, so tests never share state, and the backend count is taken from the test reports,
which workers send to the controller, so it covers every worker.

No test reaches the internet: `network_guard` (session-wide, autouse) refuses any socket
connect to an address other than loopback, in this process and in every Python subprocess
the tests start (`tests/support/netguard.py`), and a test during which one was refused
fails, even if the code under test caught the error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import tomli_w

from scheduler.demo import DEMO_SITE
from scheduler.demo.site import StaticSite, load_site
from storage.db import create_engine
from storage.migrate import ensure_schema
from storage.repository import Repository
from tests.support import netguard

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).parent / "data"
SHARED = REPO_ROOT.parent / "shared"
PG_ENV = "MEDIAWATCH_TEST_DATABASE_URL"

BACKEND_PROPERTY = "database_backend"
_backend_counts: Counter[str] = Counter()


NETGUARD_SITE = Path(netguard.__file__).parent / "netguard_site"


def _with_guard_path(pythonpath: str | None) -> str:
    parts = [part for part in (pythonpath or "").split(os.pathsep) if part]
    return os.pathsep.join([str(NETGUARD_SITE), *[part for part in parts if part != str(NETGUARD_SITE)]])


@pytest.fixture(scope="session", autouse=True)
def network_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Refuse non-loopback connects here and in subprocesses; yields the file refusals are recorded in.

    Subprocesses load the guard from `netguard_site/sitecustomize.py`, whose folder goes on
    PYTHONPATH: in `os.environ` (inherited by plain children and by the crawler's forkserver)
    and in any `env` a test passes to `subprocess.Popen` (most set PYTHONPATH themselves).
    """
    record = tmp_path_factory.mktemp("netguard") / "refused.log"
    record.touch()
    netguard.install()
    real_init = subprocess.Popen.__init__

    def guarded_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        if kwargs.get("env") is not None:
            env = dict(kwargs["env"])
            env["PYTHONPATH"] = _with_guard_path(env.get("PYTHONPATH"))
            env.setdefault(netguard.RECORD_ENV, os.environ.get(netguard.RECORD_ENV, str(record)))
            kwargs["env"] = env
        real_init(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", _with_guard_path(os.environ.get("PYTHONPATH")))
        patch.setenv(netguard.RECORD_ENV, str(record))
        patch.setattr(subprocess.Popen, "__init__", guarded_init)
        yield record


@pytest.fixture(autouse=True)
def _no_network_refused(network_guard: Path) -> Iterator[None]:
    """Fail the test whose code (or subprocess) tried to leave loopback, even if it caught the error."""
    before = network_guard.stat().st_size
    yield
    with network_guard.open(encoding="utf-8") as handle:
        handle.seek(before)
        refused = handle.read()
    if refused:
        pytest.fail(f"tried to reach the network:\n{refused}", pytrace=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        backends = ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on the backend the test is parametrised with."""
    # Recorded on the test's report, not in a counter here: under xdist this process is a worker.
    request.node.user_properties.append((BACKEND_PROPERTY, request.param))
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = os.environ[PG_ENV]
    name = f"mw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def repository(engine: sa.Engine) -> Repository:
    return Repository(engine)


@pytest.fixture
def demo_site() -> Iterator[StaticSite]:
    with StaticSite(load_site(DEMO_SITE)) as site:
        yield site


# The digest tests' real SMTP server, settable clock and wired app (helpers in test_digest_support).
@pytest.fixture
def sink() -> Iterator[Any]:
    from tests.digest.support import SmtpSink

    with SmtpSink() as server:
        yield server


@pytest.fixture
def clock() -> Any:
    from tests.digest.support import FixedClock

    return FixedClock()


@pytest.fixture
def app(database_url: str, tmp_path: Path, sink: Any, clock: Any) -> Iterator[Any]:
    from tests.digest.support import digest_config, make_app

    application = make_app(digest_config(database_url, tmp_path, smtp_port=sink.port), clock)
    yield application
    application.close()


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Write a configuration dict as TOML (None values dropped, as TOML has no null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    path.write_text(tomli_w.dumps(clean(data)), encoding="utf-8")
    return path


def run_cli(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `mediawatch` in a subprocess (the Twisted reactor cannot restart in-process)."""
    command = [sys.executable, "-m", "scheduler"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        command + list(args), capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd or REPO_ROOT
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count each test whose database was set up, on the backend it got (controller or lone process)."""
    if report.when == "setup":
        _backend_counts.update(value for name, value in report.user_properties if name == BACKEND_PROPERTY)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _backend_counts:
        parts = ", ".join(f"{count} on {name}" for name, count in sorted(_backend_counts.items()))
        terminalreporter.write_line(f"database-backed tests: {parts}")
