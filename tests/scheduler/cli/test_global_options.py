"""Global options (`--config`/`-c`, `--log-level`, `--log-json`) work before or after the command.

`mediawatch status --config x.toml` is how most people type it (git, docker and
systemctl accept options anywhere); it used to be refused with "No such option".
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scheduler.cli.main import run
from tests.conftest import run_cli, write_config

TOPIC = {"name": "t", "keywords": ["六小龙"]}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = run(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./mediawatch.toml: only the named file can be read
    monkeypatch.delenv("MEDIAWATCH_CONFIG", raising=False)
    (tmp_path / "named").mkdir()
    return write_config(tmp_path / "named" / "mediawatch.toml", {"topics": [TOPIC]})


@pytest.mark.parametrize("spelling", [["--config", "{}"], ["-c", "{}"], ["--config={}"]])
def test_config_after_the_command_is_the_same_as_before_it(
    config: Path, capsys: pytest.CaptureFixture[str], spelling: list[str]
) -> None:
    given = [part.format(config) for part in spelling]
    before = _run([*given, "config", "check"], capsys)
    after = _run(["config", "check", *given], capsys)
    assert before[0] == 0, before[2]
    assert after == before
    assert f"{config}: OK" in after[1]


def test_config_between_a_group_and_its_command(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(["config", "--config", str(config), "check"], capsys)
    assert status == 0, err
    assert f"{config}: OK" in out


def test_two_different_config_files_are_a_usage_error(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_config(tmp_path / "other.toml", {"topics": [TOPIC]})
    status, _, err = _run(["-c", str(config), "config", "check", "-c", str(other)], capsys)
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 2 and str(config) in lines[0] and str(other) in lines[0], lines
    # The same file twice is what was meant, not a mistake.
    assert _run(["-c", str(config), "config", "check", "-c", str(config)], capsys)[0] == 0


def test_log_options_after_the_command_apply(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(["config", "check", "--config", str(config), "--log-level", "debug"], capsys)
    assert status == 0, err
    assert logging.getLogger().level == logging.DEBUG
    status, _, err = _run(["config", "check", "--log-level", "loud"], capsys)
    assert status == 2 and "loud" in err


def test_command_help_lists_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["status", "--help"], capsys)
    assert status == 0
    assert "--config" in out and "--log-level" in out


def test_config_after_the_command_in_a_real_process(config: Path, tmp_path: Path) -> None:
    result = run_cli("status", "--config", str(config), cwd=tmp_path)
    # No database yet: status says so (exit 1); it did read the named file, not ./mediawatch.toml.
    assert "No such option" not in result.stderr
    assert result.returncode == 1 and f"no database at {config.parent / 'data'}" in result.stderr, result.stderr


def test_a_terminal_that_cannot_show_chinese_gets_escapes_not_a_traceback(tmp_path: Path) -> None:
    encoding = "ascii"  # (run_cli reads UTF-8, which ASCII is; a latin-1 terminal fails the same way)
    # PYTHONIOENCODING=ascii (or a latin-1 terminal) made every command that prints a headline die with
    # UnicodeEncodeError and a traceback; JSON Lines must stay JSON (🐉 is outside the BMP).
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>南京六小龙 🐉</title></head><body><h1>南京六小龙 🐉</h1>"
                    + "<p>南京为何养不出六小龙，这是一场难得的自我追问。</p>" * 20 + "</body></html>", encoding="utf-8")
    result = run_cli("extract", "--url", "https://example.com/a", str(page), env={"PYTHONIOENCODING": encoding})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["title"] == "南京六小龙 🐉"
    listed = run_cli("config", "settings", env={"PYTHONIOENCODING": encoding})
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
