"""Deployment: the compose file, health check exit codes, metrics, and data export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from scheduler.app import build_app
from scheduler.config import config_from_mapping
from scheduler.daemon import Daemon
from storage.models import Article
from storage.types import TopicMatch
from tests.conftest import REPO_ROOT, run_cli, write_config

TOPIC = {"name": "t", "keywords": ["六小龙"]}


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(found).exists():
        pytest.skip("check-jsonschema is not installed (it is a test extra: pip install -e '.[test]')")
    return found


def test_compose_file_validates_against_the_compose_spec() -> None:
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(REPO_ROOT / "docker-compose.yml")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_match_the_readme_walkthrough() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"mediawatch", "postgres", "mailpit"} <= set(services)
    assert services["redis"]["profiles"] == ["scale"]
    # The scale profile's workers take jobs from the queue the daemon fills.
    worker = services["crawler-worker"]
    assert worker["profiles"] == ["scale"] and worker["command"] == ["mediawatch", "worker"]
    assert worker["environment"]["MEDIAWATCH_QUEUE_URL"].startswith("redis://redis:6379")
    assert "service_healthy" in json.dumps(services["mediawatch"]["depends_on"])
    assert "healthcheck" in services["postgres"]
    assert any("8025" in port for port in services["mailpit"]["ports"])
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for step in ("docker compose up", "http://127.0.0.1:8025", "docker compose exec mediawatch mediawatch crawl",
                 "docker compose exec mediawatch mediawatch status"):
        assert step in readme
    env_example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for variable in ("POSTGRES_PASSWORD", "MEDIAWATCH_SMTP_PASSWORD"):
        assert variable in env_example


def test_dockerfile_runs_the_daemon_as_a_non_root_user() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER mediawatch" in dockerfile
    assert 'CMD ["mediawatch", "run"]' in dockerfile


def _populate(database_url: str) -> None:
    config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC]}, environ={})
    app = build_app(config)
    fetched = datetime(2025, 2, 10, tzinfo=UTC)
    for index, title in enumerate(["南京六小龙之问", "西湖春节客流", 'Quote "and" comma, newline\nin title']):
        relevant = "六小龙" in title
        app.repository.add_article(
            Article(url=f"https://example.org/{index}", source_name="s", title=title, text=f"正文 {index}",
                    content_hash=str(index), fetched_at=fetched),
            [TopicMatch("t", 0.9 if relevant else 0.0, relevant, ("六小龙",) if relevant else ())],
        )
    app.close()


def test_export_jsonl_has_one_object_per_stored_article(tmp_path: Path, database_url: str) -> None:
    _populate(database_url)
    config = write_config(tmp_path / "mediawatch.toml", {"database": {"url": database_url}, "topics": [TOPIC]})
    result = run_cli("export", "--format", "jsonl", config=config)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    assert {r["url"] for r in records} == {f"https://example.org/{i}" for i in range(3)}
    on_topic = next(r for r in records if r["title"] == "南京六小龙之问")
    assert on_topic["topics"] == [{"topic": "t", "relevant": True, "score": 0.9, "matched": ["六小龙"]}]
    assert on_topic["digests"] == [] and "storyline_id" in on_topic
    only_topic = run_cli("export", "--topic", "t", config=config)
    assert len(only_topic.stdout.splitlines()) == 1


def test_export_csv_round_trips_awkward_titles(tmp_path: Path, database_url: str) -> None:
    _populate(database_url)
    config = write_config(tmp_path / "mediawatch.toml", {"database": {"url": database_url}, "topics": [TOPIC]})
    out = tmp_path / "articles.csv"
    result = run_cli("export", "--format", "csv", "--output", str(out), config=config)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 3
    assert 'Quote "and" comma, newline\nin title' in {r["title"] for r in rows}


def test_status_check_fails_without_a_running_daemon(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {"database": {"url": database_url}, "topics": [TOPIC]})
    assert run_cli("db", "upgrade", config=config).returncode == 0  # status never creates a database itself
    result = run_cli("status", "--check", config=config)
    assert result.returncode == 1
    assert "daemon: not running" in result.stdout


def test_daemon_refuses_an_out_of_date_schema(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('0000')")
    config = write_config(tmp_path / "mediawatch.toml", {"database": {"url": f"sqlite:///{db}"}, "topics": [TOPIC]})
    result = run_cli("run", config=config)
    assert result.returncode == 1
    assert "mediawatch db upgrade" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_daemon_serves_prometheus_metrics_on_loopback(database_url: str) -> None:
    port = _free_port()
    config = config_from_mapping(
        {"database": {"url": database_url}, "topics": [TOPIC], "daemon": {"metrics_port": port}}, environ={}
    )
    app = build_app(config)
    body: list[str] = []

    async def scrape() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Daemon(app).run(stop))
        await asyncio.sleep(0.3)
        body.append(
            await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())
        )
        stop.set()
        await task

    asyncio.run(scrape())
    app.close()
    assert "mediawatch_crawl_runs" in body[0]
    assert "mediawatch_digests_sent" in body[0]


def test_compose_can_start_rsshub_in_the_discovery_profile() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    rsshub = compose["services"]["rsshub"]
    assert rsshub["profiles"] == ["discovery"]
    assert rsshub["image"].startswith("diygod/rsshub")
    assert all(port.startswith("127.0.0.1:") for port in rsshub["ports"])
    # The daemon reads rsshub sources from the compose service, not from localhost inside its container.
    environment = compose["services"]["mediawatch"]["environment"]
    assert environment["MEDIAWATCH_DISCOVERY_RSSHUB_URL"] == "http://rsshub:1200"
