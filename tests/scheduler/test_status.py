"""`status` and the other read-only commands: the database next to the config file, never a new one.

Before: the default `sqlite:///data/mediawatch.db` was relative to the working folder,
so `status` run from another folder silently created an empty database and showed
every source as never crawled.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.service import send_digest
from scheduler.app import App, build_app
from scheduler.config import config_from_mapping
from scheduler.status import CUT_RUN_REASON, build_status
from scheduler.web.crawls import StandaloneCrawls
from tests.conftest import run_cli, write_config
from tests.digest.support import TOPIC, FixedClock, SmtpSink, digest_config, make_app, store

MINIMAL = {"topics": [{"name": "t", "keywords": ["六小龙"]}]}
READ_ONLY = (("status",), ("sources",), ("articles",), ("export",), ("digests",), ("digest", "build"), ("db", "current"))


def test_read_only_commands_never_create_a_database(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    config = write_config(site / "mediawatch.toml", MINIMAL)
    for command in READ_ONLY:
        result = run_cli(*command, config=config, cwd=elsewhere)
        assert result.returncode == 1, (command, result.stderr)
        assert f"no database at {site / 'data' / 'mediawatch.db'}" in result.stderr, command
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert list(site.iterdir()) == [site / "mediawatch.toml"] and list(elsewhere.iterdir()) == []


def test_status_from_another_folder_finds_the_database_beside_the_config_and_says_so(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    config = write_config(site / "mediawatch.toml", MINIMAL)
    assert run_cli("db", "upgrade", config=config, cwd=site).returncode == 0
    result = run_cli("status", config=config, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    database = (site / "data" / "mediawatch.db").resolve()
    assert f"database: sqlite:///{database} (default, relative to the configuration file's folder)" in result.stdout
    assert list(elsewhere.iterdir()) == []


def test_a_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "database": {"url": "sqlite:////proc/mw/x.db"}})
    result = run_cli("crawl", config=config)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["mediawatch: cannot create the database folder /proc/mw: No such file or directory"]


# Both places that ask whether the daemon runs: `status`, and the web console deciding whether
# "crawl now" becomes a request for the daemon or a crawl in its own process.
DAEMON_RUNNING: dict[str, Callable[[App], bool]] = {
    "status": lambda app: build_status(app).daemon_running,
    "web console": lambda app: StandaloneCrawls(app).daemon_running(),
}


@pytest.mark.parametrize("asker", DAEMON_RUNNING)
def test_a_daemon_killed_on_this_host_is_not_running_even_with_a_fresh_heartbeat(database_url: str, asker: str) -> None:
    # After `kill -9`, status said "running" (and `status --check` exited 0) until the
    # heartbeat went stale, up to 95 s: the pid on this host answers sooner. The web console
    # kept queueing "crawl now" requests for the dead daemon for as long.
    daemon_running = DAEMON_RUNNING[asker]
    now = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)
    moment = [now]
    app = build_app(config_from_mapping({"database": {"url": database_url}, **MINIMAL}, environ={}),
                    clock=lambda: moment[0])
    try:
        assert daemon_running(app) is False  # no heartbeat at all
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        app.repository.heartbeat("daemon", gone.pid, socket.gethostname(), now - timedelta(minutes=5))
        assert daemon_running(app) is False
        # A live pid on this host, and any pid on another host (it cannot be checked), still count ...
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            app.repository.heartbeat("daemon", alive.pid, socket.gethostname(), now - timedelta(minutes=5))
            assert daemon_running(app) is True
            # ... while their last heartbeat is recent (three intervals and a bit).
            moment[0] = now + timedelta(minutes=5)
            assert daemon_running(app) is False
            moment[0] = now
        finally:
            alive.kill()
            alive.wait()
        app.repository.heartbeat("daemon", gone.pid, "another-host", now - timedelta(minutes=5))
        assert daemon_running(app) is True
    finally:
        app.close()


def test_a_run_whose_crawl_ended_without_closing_it_shows_as_interrupted(database_url: str) -> None:
    # A crawl killed mid-run leaves its run `running` until someone takes the source's lease
    # over; status showed it running all that time. A run is live only while a live process
    # holds the source's lease.
    now = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)
    moment = [now]
    source = {"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml", "allow_private": True}
    app = build_app(config_from_mapping({"database": {"url": database_url}, **MINIMAL, "sources": [source]},
                                        environ={}), clock=lambda: moment[0])
    try:
        def shown() -> tuple[str | None, str | None]:
            [status] = build_status(app).sources
            return status.last_status, status.last_error

        app.repository.sync_sources([("s", "feed", source["url"])])
        here = socket.gethostname()
        assert app.repository.try_lease("s", f"{here}:{os.getpid()}:test", timedelta(minutes=30))
        app.repository.start_run("s", "manual")
        assert shown() == ("running", None)  # a live holder on this host, its lease current
        moment[0] = now + timedelta(minutes=31)
        assert shown() == ("interrupted", CUT_RUN_REASON)  # the lease expired: nobody renews it
        moment[0] = now
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        app.repository.release_leases(["s"], f"{here}:{os.getpid()}:test")
        assert shown() == ("interrupted", CUT_RUN_REASON)  # nobody holds it
        assert app.repository.try_lease("s", f"{here}:{gone.pid}:dead", timedelta(minutes=30))
        assert shown() == ("interrupted", "process ended during the crawl")  # taking the lease recorded it
        app.repository.start_run("s", "manual")
        assert shown() == ("interrupted", CUT_RUN_REASON)  # its holder's process is gone
    finally:
        app.close()


def test_a_topic_whose_latest_digest_failed_is_shown_and_fails_the_check(tmp_path: Path) -> None:
    # With the SMTP server down, the digest failed (three attempts, recorded `failed`), but
    # status showed only the last digest sent, and `status --check` exited 0: a monitor
    # watching it would not learn that nobody got the morning's digest.
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "database": {"url": f"sqlite:///{tmp_path}/m.db"}})
    assert run_cli("db", "upgrade", config=config).returncode == 0
    repository = build_app(config_from_mapping({"database": {"url": f"sqlite:///{tmp_path}/m.db"}, **MINIMAL},
                                               environ={})).repository
    repository.heartbeat("daemon", os.getpid(), socket.gethostname(), datetime.now(UTC))  # a live daemon

    def digest(status: str, error: str | None = None) -> None:
        with sqlite3.connect(tmp_path / "m.db") as connection:
            connection.execute(
                "INSERT INTO digest (topic, created_at, period_end, status, article_count, error, sent_at) "
                "VALUES ('t', ?, ?, ?, 3, ?, ?)",
                (datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat(), status, error,
                 datetime.now(UTC).isoformat() if status == "sent" else None))

    digest("sent")
    assert run_cli("status", "--check", config=config).returncode == 0
    digest("failed", "SMTP 127.0.0.1:8025: [Errno 111] Connection refused")
    shown = run_cli("status", "--check", config=config)
    assert shown.returncode == 1
    assert "digest failing: t, last tried " in shown.stdout
    assert "SMTP 127.0.0.1:8025: [Errno 111] Connection refused" in shown.stdout
    [failing] = json.loads(run_cli("status", "--json", config=config).stdout)["failing_digests"]
    assert failing["topic"] == "t" and failing["error"] == "SMTP 127.0.0.1:8025: [Errno 111] Connection refused"
    digest("sent")  # the next one went out: the topic is fine again
    again = run_cli("status", "--check", config=config)
    assert again.returncode == 0 and "digest failing" not in again.stdout


def test_status_tells_a_digest_archived_for_nobody_from_one_sent(tmp_path: Path, clock: FixedClock, sink: SmtpSink) -> None:
    # A digest with no recipients is only written to the archive, yet status said "last digest
    # sent: …" for it: an operator read that somebody had received the morning's digest.
    url = f"sqlite:///{tmp_path}/m.db"
    for_nobody = digest_config(url, tmp_path, smtp_port=sink.port, recipients=())
    config = write_config(tmp_path / "mediawatch.toml", for_nobody)
    nobody = make_app(for_nobody, clock)
    try:
        store(nobody.repository, "南京为什么没有六小龙？")
        assert send_digest(nobody.digest_context(), TOPIC).status == "archived"
    finally:
        nobody.close()
    archived_at = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")

    shown = run_cli("status", config=config)
    assert shown.returncode == 0, shown.stderr
    assert "last digest sent: never\n" in shown.stdout
    assert f"last digest archived: {archived_at} (no recipients or channels)\n" in shown.stdout
    report = json.loads(run_cli("status", "--json", config=config).stdout)
    assert (report["last_digest_sent"], report["last_digest_archived"]) == (None, archived_at)

    clock.advance(hours=24)
    desk = make_app(digest_config(url, tmp_path, smtp_port=sink.port, recipients=("desk@example.org",)), clock)
    try:
        store(desk.repository, "江苏官媒再问六小龙")
        assert send_digest(desk.digest_context(), TOPIC).status == "sent"
    finally:
        desk.close()
    assert len(sink.messages) == 1
    sent_at = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")

    # Once a digest reaches someone, an older archive-only one is history, not news.
    again = run_cli("status", config=config)
    assert f"last digest sent: {sent_at}\n" in again.stdout
    assert "last digest archived" not in again.stdout
    assert json.loads(run_cli("status", "--json", config=config).stdout)["last_digest_archived"] is None
