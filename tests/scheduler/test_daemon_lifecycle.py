"""The daemon as a process: SIGTERM drains running crawls, a cut crawl is `interrupted`, one line per event.

Before: with an article download in flight and `shutdown_timeout = "10s"` the daemon
exited within about a second, recorded the cut crawl as `ok`, and APScheduler logged
a CancelledError traceback; at the default log level it said nothing at all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.demo.site import StaticSite
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import REPO_ROOT, run_cli, write_config
from tests.scheduler.test_leases import TOPIC, articles_fetched, slow_site, wait_for
from tests.support.crawl import source_state


def _start_daemon(
    tmp_path: Path, database_url: str, site: StaticSite, crawler: dict[str, object] | None = None,
    log_level: str | None = None, **daemon: object
) -> tuple[subprocess.Popen[str], Path]:
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, "retry_times": 0, "concurrency_per_host": 2, **(crawler or {})},
        "daemon": {"jitter": "1s", "heartbeat": "1s", **daemon},
        "topics": [TOPIC],
        "sources": [{"name": "slow", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
    })
    assert run_cli("db", "upgrade", config=config).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config),
         *(["--log-level", log_level] if log_level else []), "run", "--no-digests"], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    return process, config


def _stop(process: subprocess.Popen[str], site: StaticSite, timeout: float, fetched: int = 1) -> tuple[float, str]:
    """SIGTERM the daemon once `fetched` article pages were requested; seconds it took to exit, its stderr."""
    try:
        deadline = time.monotonic() + 90
        while articles_fetched(site) < fetched and time.monotonic() < deadline:
            time.sleep(0.1)
        assert articles_fetched(site) >= fetched, "the daemon never started crawling"
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=timeout)
        return time.monotonic() - started, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _daemon_pid(database_url: str) -> int | None:
    """The pid of the daemon that last claimed the database."""
    engine = create_engine(database_url)
    try:
        state = Repository(engine).daemon_state()
        return state.pid if state else None
    finally:
        engine.dispose()


def _statuses(database_url: str) -> tuple[list[str], int]:
    engine = create_engine(database_url)
    try:
        repository = Repository(engine)
        return [r.status for r in repository.runs_for("slow")], repository.count_articles()
    finally:
        engine.dispose()


def test_sigterm_lets_a_running_crawl_finish_within_the_timeout(tmp_path: Path, database_url: str) -> None:
    with StaticSite(slow_site(articles=8, delay=0.5)) as site:
        process, _ = _start_daemon(tmp_path, database_url, site, shutdown_timeout="60s")
        _, stderr = _stop(process, site, timeout=90)
    assert process.returncode == 0, stderr
    statuses, articles = _statuses(database_url)
    assert statuses == ["ok"] and articles == 8  # finished, not cut
    assert "Traceback" not in stderr and "CancelledError" not in stderr


def test_sigterm_past_the_timeout_records_the_cut_crawl_as_interrupted(tmp_path: Path, database_url: str) -> None:
    with StaticSite(slow_site(articles=30, delay=3)) as site:
        process, _ = _start_daemon(tmp_path, database_url, site, shutdown_timeout="2s")
        took, stderr = _stop(process, site, timeout=60)
    assert process.returncode == 0, stderr
    assert took >= 1.5  # it waited for the crawl, up to the timeout
    statuses, _ = _statuses(database_url)
    assert statuses == ["interrupted"]
    assert "Traceback" not in stderr and "CancelledError" not in stderr
    # The cut crawl is no success: it was logged "status=ok" and reset the source's failure count and last success.
    assert "status=ok" not in stderr, stderr
    state = source_state(database_url, "slow")
    assert state.last_success_at is None and state.consecutive_failures == 0


def test_sigterm_past_the_timeout_still_stores_the_articles_fetched_before_the_cut(
    tmp_path: Path, database_url: str
) -> None:
    routes = slow_site(articles=6, delay=0)
    routes["a/5.html"] = replace(routes["a/5.html"], delay=60)  # holds the crawl past the drain's timeout
    with StaticSite(routes) as site:
        # Batches wait a minute to fill: only the drain's flush can have written the five fast articles.
        process, _ = _start_daemon(tmp_path, database_url, site, crawler={"store_delay": 60, "download_timeout": 90},
                                   shutdown_timeout="8s")
        _, stderr = _stop(process, site, timeout=60, fetched=6)  # the five fast pages and the held one
    assert process.returncode == 0, stderr
    engine = create_engine(database_url)
    try:
        [run] = Repository(engine).runs_for("slow")
        stored = Repository(engine).count_articles()
    finally:
        engine.dispose()
    assert run.status == "interrupted"
    assert stored == 5 and run.new == 5
    assert "Traceback" not in stderr


@pytest.mark.parametrize("log_level", [None, "info"])
def test_daemon_says_one_line_per_event(tmp_path: Path, database_url: str, log_level: str | None) -> None:
    # At --log-level info the crawler's own line for a finished run came out beside the daemon's.
    with StaticSite(slow_site(articles=2, delay=0)) as site:
        process, config = _start_daemon(tmp_path, database_url, site, log_level=log_level, shutdown_timeout="30s")
        try:
            deadline = time.monotonic() + 90
            while _statuses(database_url)[0][:1] != ["ok"] and time.monotonic() < deadline:
                time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    lines = stderr.splitlines()
    assert process.returncode == 0, stderr
    start = [line for line in lines if "daemon started" in line]
    assert len(start) == 1 and str(config) in start[0] and "1 source(s)" in start[0]
    finished = [line for line in lines if "source=slow status=ok" in line]
    assert len(finished) == 1 and "new=2" in finished[0]
    assert any("daemon stopped" in line for line in lines)
    # Nothing from APScheduler's or Scrapy's own loggers, and no tracebacks.
    assert not [line for line in lines if " apscheduler" in line or " scrapy" in line or "tracked" in line]
    assert "Traceback" not in stderr
    if log_level is None:
        assert len(lines) <= 6, stderr


def test_metrics_port_in_use_is_one_line_and_exit_1(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": database_url}, "topics": [TOPIC], "daemon": {"metrics_port": port},
        })
        result = run_cli("run", config=config, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"mediawatch: [daemon] metrics_port: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_a_second_daemon_on_the_same_database_is_refused_in_one_line(tmp_path: Path, database_url: str) -> None:
    # Two ran side by side: every source crawled twice an interval, both racing to every digest.
    with StaticSite(slow_site(articles=2, delay=0)) as site:
        first, config = _start_daemon(tmp_path, database_url, site, shutdown_timeout="10s")
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                engine = create_engine(database_url)
                try:
                    state = Repository(engine).daemon_state()
                finally:
                    engine.dispose()
                if state is not None:
                    break
                time.sleep(0.2)
            assert state is not None and state.pid == first.pid
            second = run_cli("run", "--no-digests", config=config, timeout=60)
            assert first.poll() is None  # the first one is untouched
        finally:
            first.send_signal(signal.SIGTERM)
            _, stderr = first.communicate(timeout=60)
    assert second.returncode == 1
    [line] = second.stderr.strip().splitlines()
    assert line.startswith("mediawatch: another daemon is running on this database") and f"pid {first.pid} " in line
    # On this host a killed daemon is taken over at once (its pid is gone): no wait to announce.
    assert line.endswith(": stop it first"), line
    assert first.returncode == 0, stderr


def test_a_daemon_killed_with_sigkill_does_not_stop_the_next_one(tmp_path: Path, database_url: str) -> None:
    with StaticSite(slow_site(articles=2, delay=0)) as site:
        first, _ = _start_daemon(tmp_path, database_url, site)
        try:
            deadline = time.monotonic() + 90
            while articles_fetched(site) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            first.kill()
            first.communicate()
        second, _ = _start_daemon(tmp_path, database_url, site, shutdown_timeout="10s")
        try:
            # Until it has claimed the database it may still be importing, SIGTERM not yet handled
            # (a fixed three seconds' wait was not enough on a busy machine: it died of the signal).
            wait_for(lambda: second.poll() is not None or _daemon_pid(database_url) == second.pid, timeout=90)
            assert second.poll() is None, second.communicate()[1]
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = second.communicate(timeout=60)
    assert second.returncode == 0, stderr
    assert "another daemon" not in stderr


def test_a_daemon_whose_database_file_is_deleted_stops_and_says_so(tmp_path: Path, database_url: str) -> None:
    # It went on crawling into the deleted file: every run logged "ok", nothing it stored
    # survived its exit, `status` said "no database", and a second daemon could start.
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite database file")
    path = Path(database_url.removeprefix("sqlite:///"))
    with StaticSite(slow_site(articles=2, delay=0)) as site:
        process, _ = _start_daemon(tmp_path, database_url, site, shutdown_timeout="5s")
        try:
            deadline = time.monotonic() + 90
            while articles_fetched(site) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 1, stderr
    assert f"mediawatch: the database file {path} was deleted while the daemon ran" in stderr.strip().splitlines()[-1]
