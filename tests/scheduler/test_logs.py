"""One line per event: libraries quiet unless debugging, tracebacks only at debug.

Before: with no network, one `crawl` of the example configuration wrote 859 lines to
stderr at the default level, 22 of them Scrapy tracebacks from the robots.txt middleware.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.logs import configure_logging
from tests.conftest import run_cli, write_config


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _raise() -> None:
    raise ValueError("boom\nsecond line")


def _emit(capsys: pytest.CaptureFixture[str], level: str) -> list[str]:
    configure_logging(level)
    try:
        _raise()
    except ValueError:
        logging.getLogger("scrapy.downloadermiddlewares.robotstxt").error("robots failed", exc_info=True)
        logging.getLogger("apscheduler.scheduler").warning("Adding job tentatively")
        logging.getLogger("crawler.runner").exception("source=s crawl crashed")
    logging.getLogger("scheduler.daemon").info("daemon started")
    return capsys.readouterr().err.splitlines()


def test_default_level_keeps_own_lines_short_and_drops_library_noise(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    lines = _emit(capsys, "warning")
    assert len(lines) == 2
    assert lines[0].endswith("crawler.runner: source=s crawl crashed: ValueError: boom second line")
    assert lines[1].endswith("INFO scheduler.daemon: daemon started")  # the daemon's events show by default


def test_error_level_hides_the_daemon_events_too(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    lines = _emit(capsys, "error")
    assert len(lines) == 1 and "crawl crashed" in lines[0]


def test_debug_shows_libraries_and_tracebacks(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    lines = _emit(capsys, "debug")
    text = "\n".join(lines)
    assert "robots failed" in text and "Adding job tentatively" in text
    assert text.count("Traceback") == 2


def test_offline_crawl_is_one_line_per_source(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: every request is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sources = [
        {"name": f"s{i}", "kind": kind, "url": f"http://127.0.0.1:{port}/{i}", "allow_private": True,
         **({"link_selector": "a"} if kind == "listing" else {})}
        for i, kind in enumerate(["feed", "listing", "sitemap", "feed", "listing"])
    ]
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "crawler": {"retry_times": 0, "autothrottle": False},
        "topics": [{"name": "t", "keywords": ["x"]}],
        "sources": sources,
    })
    result = run_cli("crawl", config=config)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    # Per source: the crawler's warning (what failed, where) and the command's progress line.
    assert len(lines) <= 2 * len(sources), result.stderr
    assert all(len(line) < 300 for line in lines)


def test_log_json_crawl_writes_only_json_on_stderr(tmp_path: Path) -> None:
    # "--log-json: one JSON object per line", but the crawl's progress ("  s0: FAILED, 0 new")
    # went to stderr between the JSON log lines, and a log pipeline parsing stderr choked on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "crawler": {"retry_times": 0, "autothrottle": False},
        "topics": [{"name": "t", "keywords": ["x"]}],
        "sources": [{"name": "s0", "kind": "feed", "url": f"http://127.0.0.1:{port}/feed", "allow_private": True}],
    })
    result = run_cli("--log-json", "crawl", config=config)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result.stderr
    records = [json.loads(line) for line in lines]  # raises on a line that is not JSON
    assert any("s0" in json.dumps(record, ensure_ascii=False) for record in records)
    assert "│ s0 " in result.stdout  # the table still says how each source did
