"""`mediawatch demo` works offline, leaves a usable configuration behind, and never deletes what it did not make."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from scheduler.cli.common import invocation
from scheduler.demo import DEMO_SITE, DEMO_TOPIC
from tests.conftest import REPO_ROOT, run_cli


def test_demo_crawls_the_bundled_site_into_a_fresh_database(tmp_path: Path) -> None:
    expected = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for source in expected["sources"]:
        assert source["name"] in result.stdout
    assert f"stored articles ({len(expected['articles'])})" in result.stdout
    assert (tmp_path / "demo" / "mediawatch.db").is_file()
    # Running it again starts over instead of finding everything already stored.
    again = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert again.returncode == 0
    assert f"stored articles ({len(expected['articles'])})" in again.stdout


def test_demo_refuses_a_folder_it_did_not_make_and_deletes_nothing(tmp_path: Path) -> None:
    important = tmp_path / "important"
    important.mkdir()
    (important / "notes.txt").write_text("do not lose me")
    for target in (important, tmp_path):  # `--dir .` must not wipe the working folder either
        result = run_cli("demo", "--dir", str(target), cwd=tmp_path)
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 2 and "nothing was deleted" in result.stderr
    assert (important / "notes.txt").read_text() == "do not lose me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important"]


def test_demo_config_lets_every_other_command_use_the_demo_data(tmp_path: Path) -> None:
    result = run_cli("demo", "--dir", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = tmp_path / "demo" / "mediawatch.toml"
    assert config.is_file() and f"config:   {config}" in result.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    status = run_cli("status", config=config, cwd=elsewhere)
    assert status.returncode == 0, status.stderr
    assert f"database: sqlite:///{tmp_path / 'demo' / 'mediawatch.db'}" in status.stdout
    assert "never" not in status.stdout.split("sources", 1)[1].split("last digest")[0]  # every source has a run
    articles = run_cli("articles", "--json", config=config, cwd=elsewhere)
    assert articles.returncode == 0 and len(articles.stdout.splitlines()) >= 5
    assert list(elsewhere.iterdir()) == []
    # The "next:" line is a command that runs as printed, from where the demo ran, even
    # with no `mediawatch` on PATH (a venv that was never activated).
    suggested = next(line for line in result.stdout.splitlines() if line.startswith("next:"))
    command = shlex.split(suggested.removeprefix("next:").split("   (or", 1)[0])
    assert command[-3:] == ["--config", str(config), "status"], suggested
    env = {**os.environ, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, (suggested, again.stderr)


def test_the_suggested_command_is_the_one_that_ran() -> None:
    venv_bin = "/home/u/proj/.venv/bin"
    on_path = {"mediawatch": "/usr/local/bin/mediawatch"}.get
    # Installed on PATH: the bare name.
    assert invocation("/usr/local/bin/mediawatch", "/usr/bin/python3", which=on_path) == "mediawatch"
    assert invocation("mediawatch", "/usr/bin/python3", which=on_path) == "mediawatch"
    # A venv's script, not on PATH (or another one is): the path it was started by.
    assert invocation(".venv/bin/mediawatch", f"{venv_bin}/python", which=on_path) == ".venv/bin/mediawatch"
    assert invocation(f"{venv_bin}/mediawatch", f"{venv_bin}/python", which=lambda _: None) == f"{venv_bin}/mediawatch"
    # `python -m scheduler`: that interpreter with -m.
    assert invocation("/src/scheduler/__main__.py", f"{venv_bin}/python", which=on_path) == f"{venv_bin}/python -m scheduler"
    # A path with a space still pastes as one word.
    assert invocation("/my tools/mediawatch", "/usr/bin/python3", which=on_path) == "'/my tools/mediawatch'"


def test_demo_serve_keeps_the_site_up_until_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "demo", "--serve", "--dir", str(tmp_path / "demo")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("serving:") or not line:
                break
        serving = lines[-1]
        assert serving.startswith("serving:"), "".join(lines)
        base = serving.split("stays up on ", 1)[1].split(";", 1)[0]
        time.sleep(1)  # still up after the demo finished
        feed = urllib.request.urlopen(f"{base}/jiangnan/rss.xml", timeout=10).read()
        assert b"<rss" in feed
        # The written config points at the site that is still up: a manual crawl finds it unchanged.
        crawl = run_cli("crawl", "--source", "jiangnan", config=tmp_path / "demo" / "mediawatch.toml")
        assert crawl.returncode == 0, crawl.stderr
        assert "FAILED" not in crawl.stderr
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0


def test_demo_digest_shows_readers_a_title_not_the_topic_key(tmp_path: Path) -> None:
    # The demo's topic had no title, so its digest's masthead, footer (and, sent, its subject) read
    # "nanjing-six-dragons": the config key the README says readers never see.
    result = run_cli("demo", "--dir", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [text] = (tmp_path / "demo" / "digests" / "nanjing-six-dragons").glob("*.txt")
    masthead, *rest = text.read_text(encoding="utf-8").splitlines()
    assert masthead == DEMO_TOPIC["title"]
    assert "nanjing-six-dragons" not in "\n".join(rest)


def test_demo_points_at_the_web_console_and_how_to_sign_in(tmp_path: Path) -> None:
    # The demo named the CLI's read commands but never the console, nor that it needs a password hash.
    result = run_cli("demo", "--dir", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = tmp_path / "demo" / "mediawatch.toml"
    [browse] = [line for line in result.stdout.splitlines() if line.startswith("browse:")]
    assert "web --hash-password" in browse and "MEDIAWATCH_WEB_PASSWORD_HASH" in browse
    assert f"--config {config} web" in browse


def test_the_serve_hint_keeps_the_folder_the_demo_was_given(tmp_path: Path) -> None:
    # After `demo --dir other` it suggested `demo --serve`, which serves (and writes its config
    # with the new site's port) into ./demo: the suggested `run` on other/mediawatch.toml then
    # crawled a site that was no longer there.
    folder = tmp_path / "other place"
    result = run_cli("demo", "--dir", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [hint] = [line for line in result.stdout.splitlines() if "--serve" in line]
    assert f"demo --dir {shlex.quote(str(folder))} --serve`" in hint
    assert f"--config {shlex.quote(str(folder / 'mediawatch.toml'))} run" in hint
    default = run_cli("demo", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    [hint] = [line for line in default.stdout.splitlines() if "--serve" in line]
    assert "demo --serve`" in hint  # the default folder needs no --dir
