""""Crawl now" end to end: `mediawatch web` alone crawls in its own process; with the daemon
running, the daemon crawls (its own console directly, a separate console through a request row).
Real processes, a real loopback site, a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from scheduler.demo import DEMO_TOPIC, demo_sources
from scheduler.demo.site import StaticSite
from storage.db import create_engine
from tests.conftest import REPO_ROOT, run_cli, write_config
from tests.digest.support import free_port
from tests.scheduler.test_leases import articles_fetched, slow_site
from tests.scheduler.web.support import console_environ, csrf_from, sign_in


def _config(tmp_path: Path, database_url: str, site: StaticSite, *, all_sources: bool = False, **web: Any) -> Path:
    sources = [dict(s, every="1h") for s in demo_sources(site.base_url)
               if all_sources or s["name"] in ("jiangnan", "jinling")]
    return write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url},
        "crawler": {"autothrottle": False, "retry_times": 0},
        "daemon": {"jitter": "1s", "heartbeat": "1s", "shutdown_timeout": "5s"},
        "topics": [DEMO_TOPIC],
        "sources": sources,
        "digest": {"recipients": [], "archive_dir": str(tmp_path / "digests"), "timezone": "Asia/Shanghai"},
        "web": {"secure_cookies": False, **web},
    })


@contextmanager
def _process(config: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env.update(console_environ(), PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config), *args], cwd=REPO_ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def _runs(database_url: str, source: str, trigger: str) -> list[tuple[str, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT status, new FROM crawl_run WHERE source_name = :s AND trigger = :t ORDER BY id"
            ), {"s": source, "t": trigger}).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def _press_crawl_now(url: str, source: str) -> str:
    with httpx.Client(base_url=url, timeout=10) as client:
        assert sign_in(client).status_code == 303
        page = client.get(f"/sources/{source}")
        answer = client.post(f"/sources/{source}/crawl", data={"csrf_token": csrf_from(page.text)})
        assert answer.status_code == 303, answer.text
        return client.get(answer.headers["location"]).text


def _wait_for_run(database_url: str, source: str, trigger: str, count: int = 1, seconds: float = 90) -> list[tuple[str, int]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = [r for r in _runs(database_url, source, trigger) if r[0] != "running"]
        if len(runs) >= count:
            return runs
        time.sleep(0.3)
    raise AssertionError(f"no finished {trigger} run of {source}: {_runs(database_url, source, trigger)}")


def test_standalone_console_crawls_in_its_own_process(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    config = _config(tmp_path, database_url, demo_site)
    assert run_cli("db", "upgrade", config=config).returncode == 0
    port = free_port()
    with _process(config, "web", "--port", str(port)) as web:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url, web)
        page = _press_crawl_now(url, "jiangnan")
        assert "crawl started" in page
        runs = _wait_for_run(database_url, "jiangnan", "manual")
        with httpx.Client(base_url=url, timeout=10) as client:
            sign_in(client)
            found = client.get("/api/articles", params={"q": "六小龍", "source": "jiangnan"}).json()
    assert runs[0][0] == "ok" and runs[0][1] > 0
    assert found["articles"], "the crawled articles are searchable at once"


def test_with_the_daemon_running_both_consoles_crawl_through_the_daemon(
    tmp_path: Path, database_url: str, demo_site: StaticSite
) -> None:
    daemon_port, console_port = free_port(), free_port()
    config = _config(tmp_path, database_url, demo_site, enabled=True, port=daemon_port)
    assert run_cli("db", "upgrade", config=config).returncode == 0
    with _process(config, "run", "--no-digests") as daemon:
        daemon_url = f"http://127.0.0.1:{daemon_port}"
        _wait_for(daemon_url, daemon)
        _wait_for_run(database_url, "jinling", "scheduled")  # the daemon's own first crawl, then quiet for 1h
        assert "crawl started by the daemon" in _press_crawl_now(daemon_url, "jinling")
        assert _wait_for_run(database_url, "jinling", "manual")[0][0] in ("ok", "not_modified")

        with _process(config, "web", "--port", str(console_port)) as console:
            console_url = f"http://127.0.0.1:{console_port}"
            _wait_for(console_url, console)
            assert "the daemon will start it" in _press_crawl_now(console_url, "jinling")
            assert len(_wait_for_run(database_url, "jinling", "manual", count=2)) == 2
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, stderr[-3000:]
    assert f"web console at {daemon_url}/" in stderr  # the operator is told where it is


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_stopping_the_standalone_console_lets_the_crawl_it_started_finish(
    tmp_path: Path, database_url: str, stop: signal.Signals
) -> None:
    # uvicorn re-raises the signal it caught once its server has stopped, which killed the
    # process (exit 143, or 130 with Ctrl-C) before the console could wait for its crawls.
    with StaticSite(slow_site(articles=6, delay=0.5)) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 0, "concurrency_per_host": 2},
            "daemon": {"shutdown_timeout": "60s"},
            "topics": [{"name": "t", "keywords": ["六小龙"]}],
            "sources": [{"name": "slow", "kind": "feed", "url": f"{site.base_url}/feed.xml", "allow_private": True}],
            "digest": {"recipients": [], "archive_dir": str(tmp_path / "digests")},
            "web": {"secure_cookies": False},
        })
        assert run_cli("db", "upgrade", config=config).returncode == 0
        port = free_port()
        with _process(config, "web", "--port", str(port)) as web:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url, web)
            assert "crawl started" in _press_crawl_now(url, "slow")
            deadline = time.monotonic() + 60
            while not articles_fetched(site) and time.monotonic() < deadline:
                time.sleep(0.05)
            web.send_signal(stop)
            _, stderr = web.communicate(timeout=90)
    assert web.returncode == 0, stderr[-2000:]
    assert _runs(database_url, "slow", "manual") == [("ok", 6)]
    assert "Traceback" not in stderr
