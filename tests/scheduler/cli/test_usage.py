"""Usage errors: every command, as a user types it in a real process.

Each command gets `--help` (exit 0), an option it does not have, and a bad value for
one of its options (a wrong type, out of range, or no value at all): exit 2, at most
two plain lines on stderr, never a traceback. typer 0.29 ships its own copy of click,
which is how every one of these once printed a 40-line traceback and exited 1.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import typer.main

from scheduler.cli.main import app, database_error_line, run
from tests.conftest import run_cli, write_config

TOPIC = {"name": "t", "keywords": ["六小龙"]}


def command_paths() -> list[tuple[str, ...]]:
    group = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        paths += [(name, s) for s in sub] if sub else [(name,)]
    return paths


def option_with_value(path: tuple[str, ...]) -> str | None:
    """An option of the command that takes a value (giving it none is a usage error)."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        if param.param_type_name == "option" and not getattr(param, "is_flag", False) and param.opts:
            return str(param.opts[0])
    return None


# Values that must be refused before anything is opened (type, range, choice, format).
BAD_VALUES: list[tuple[str, ...]] = [
    ("--log-level", "bogus", "status"),
    ("articles", "--limit", "abc"),
    ("articles", "--limit", "-5"),
    ("articles", "--since", "yesterday"),
    ("articles", "--fetched-since", "last tuesday"),
    ("export", "--format", "xml"),
    ("export", "--since", "soon"),
    ("digests", "--limit", "0"),
    # Out of any database's range: a traceback (OverflowError from the driver) or "database error".
    ("articles", "--limit", "99999999999999999999"),
    ("digests", "--limit", "99999999999999999999"),
    ("articles", "--since", "0001-01-01"),
    ("export", "--since", "0001-01-01T00:00:00+14:00"),
    ("articles", "--fetched-since", "9999-12-31T23:00:00-12:00"),
    ("digest", "send", "--retries", "99"),
    ("crawlz",),
    ("digest", "sned"),
]


def _cases() -> list[tuple[str, ...]]:
    cases: list[tuple[str, ...]] = list(BAD_VALUES)
    for path in command_paths():
        cases.append((*path, "--bogus-option"))
        option = option_with_value(path)
        if option is not None:
            cases.append((*path, option))  # the option's value is missing
    return cases


def _run_in_process(args: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`run()` is everything `main()` does before exiting; the subprocess tests below cover `main()`."""
    capsys.readouterr()
    try:
        status = run(list(args))
    except SystemExit as exc:  # pragma: no cover - run() returns; a SystemExit here is a bug
        status = 1000 + int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for path in command_paths():
        status, out, err = _run_in_process((*path, "--help"), capsys)
        assert status == 0, (path, err)
        assert "Usage" in out and "Traceback" not in err, path


def test_help_gives_flags_no_value_type(capsys: pytest.CaptureFixture[str]) -> None:
    # typer 0.29's rich help printed `--serve <bool>`, as if the flag wanted a value.
    for path in command_paths():
        status, out, _ = _run_in_process((*path, "--help"), capsys)
        assert status == 0 and "--help" in out, path
        assert "<bool>" not in out, (path, out)


def test_every_option_that_takes_a_value_names_it() -> None:
    # Without a metavar typer 0.29's help shows the Python type: `--source -s <list[str]>`, `--since <str>`.
    unnamed = []
    for path in command_paths():
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        unnamed += [(path, param.opts[0]) for param in command.params
                    if param.param_type_name == "option" and not getattr(param, "is_flag", False) and not param.metavar]
    assert unnamed == []


def test_usage_prints_an_arguments_metavar_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    # typer 0.29 wraps a required argument in braces, an optional one in brackets, and adds "..."
    # for several, metavar or not: `extract [OPTIONS] {FILE_OR_URL...}...`, `classify [OPTIONS] [[FILE|-]]`.
    # Its arguments panel added the Python type beside the metavar too (`FILE_OR_URL... <list[str]>`).
    usage = {}
    for path in command_paths():
        status, out, _ = _run_in_process((*path, "--help"), capsys)
        assert status == 0, path
        [line] = [line.strip(" │") for line in out.splitlines() if "Usage:" in line]
        usage[path] = line
        assert "{" not in line and "[[" not in line and "]]" not in line, (path, line)
        assert not re.search(r"<(?:list\[)?(?:str|int|Path)\]?>", out), (path, out)
    assert usage[("extract",)] == "Usage: mediawatch extract [OPTIONS] FILE_OR_URL..."
    assert usage[("classify",)] == "Usage: mediawatch classify [OPTIONS] [FILE|-]"


def test_help_prints_every_option_help_whole(capsys: pytest.CaptureFixture[str]) -> None:
    # Help is rich markup: "(default: [web] port, 8080)" came out as "(default:  port, 8080)".
    for path in command_paths():
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        status, out, _ = _run_in_process((*path, "--help"), capsys)
        assert status == 0, path
        printed = re.sub(r"[\s│]+", "", out)
        for param in command.params:
            help_text = getattr(param, "help", None)
            if help_text:
                assert re.sub(r"\s+", "", help_text) in printed, (path, help_text)


def test_every_usage_error_exits_2_with_at_most_two_lines_and_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no mediawatch.toml here: a case that got past parsing would fail differently
    cases = _cases()
    assert len(cases) > 2 * len(command_paths())  # the sweep really covers every command
    bad = []
    for args in cases:
        status, _, err = _run_in_process(args, capsys)
        lines = err.splitlines()
        if status != 2 or not lines or len(lines) > 2 or "Traceback" in err or "configuration" in err:
            bad.append((args, status, err[-300:]))
    assert bad == []


def test_usage_error_names_the_command_and_its_help(tmp_path: Path) -> None:
    result = run_cli("crawl", "--bogus", cwd=tmp_path)
    assert result.stderr.splitlines() == [
        "mediawatch crawl: No such option: --bogus",
        "Try 'mediawatch crawl --help' for help.",
    ]
    assert "│" not in run_cli("export", "--format", "xml", cwd=tmp_path).stderr  # plain text, not a rich box


def test_bare_command_and_bare_group_show_help_and_exit_2(tmp_path: Path) -> None:
    for args in ((), ("digest",), ("config",), ("db",)):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert "Usage" in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_version_prints_one_line() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("mediawatch ") and len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("args", [("articles", "--since", "yesterday"), ("articles", "--limit", "-5")])
def test_bad_value_is_refused_even_with_a_valid_config(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC]})
    result = run_cli(*args, config=config, cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.splitlines()) <= 2
    assert not (tmp_path / "data").exists()  # refused before any database was opened


@pytest.mark.parametrize("args", [
    ("classify", ""),
    ("export", "-o", ""),
    ("digest", "build", "--out", ""),
    ("demo", "--dir", ""),
    ("--config", "", "status"),
    ("status", "--config", ""),
])
def test_an_empty_file_or_folder_argument_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    # An unset shell variable: "" read as the current folder. classify and export said "Is a
    # directory" (exit 1), digest build wrote its preview into the current folder (exit 0) and
    # --config "" quietly used ./mediawatch.toml instead.
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC]})
    assert run_cli("db", "upgrade", config=config, cwd=tmp_path).returncode == 0
    before = sorted(tmp_path.iterdir())
    result = run_cli(*args, cwd=tmp_path) if "--config" in args else run_cli(*args, config=config, cwd=tmp_path)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert "an empty value is not a file or folder name" in result.stderr
    assert len(result.stderr.splitlines()) == 2 and "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_an_output_path_that_cannot_be_written_is_one_line_and_exit_1(tmp_path: Path) -> None:
    # Both once ended in a Python traceback (FileNotFoundError, FileExistsError). An `--out` that
    # is a file is the command line's mistake, exit 2: test_digest_build_out_naming_a_file_is_a_usage_error….
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC]})
    assert run_cli("db", "upgrade", config=config, cwd=tmp_path).returncode == 0
    for args, named in (
        (("export", "--format", "csv", "-o", str(tmp_path / "missing" / "x.csv")), "missing"),
        (("digest", "build", "--out", "/proc/mediawatch-preview"), "/proc/mediawatch-preview"),  # nothing may create it
    ):
        result = run_cli(*args, config=config, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mediawatch: ") and named in lines[0], (args, lines)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [("worker",), ("run",)])
def test_an_unreachable_queue_is_one_line_and_exit_1(tmp_path: Path, command: tuple[str, ...]) -> None:
    # Both once printed redis-py's two chained tracebacks.
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC]})
    assert run_cli("db", "upgrade", config=config, cwd=tmp_path).returncode == 0
    env = {"MEDIAWATCH_QUEUE_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    result = run_cli(*command, config=config, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr[-500:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mediawatch: cannot reach the crawl queue"), lines


def test_crawl_progress_names_each_sources_status(tmp_path: Path) -> None:
    # A 304 used to be reported as "ok" on stderr while the table said not_modified.
    from scheduler.demo.site import Route, StaticSite

    feed = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    with StaticSite({"feed.xml": Route(body=feed, content_type="application/rss+xml",
                                       headers={"ETag": '"v1"'})}) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [TOPIC],
            "sources": [{"name": "f", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
        })
        run_cli("crawl", config=config, cwd=tmp_path)
        again = run_cli("crawl", config=config, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "  f: not_modified, 0 new" in again.stderr.splitlines(), again.stderr


def test_every_number_option_refuses_one_too_big_for_any_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `articles --limit 99999999999999999999` reached SQLite and printed a traceback.
    monkeypatch.chdir(tmp_path)  # no mediawatch.toml here: a value that got past parsing would fail differently
    swept = []
    for path in command_paths():
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            annotation = param.type_descriptor.annotation  # type: ignore[attr-defined]
            if param.param_type_name == "option" and annotation in (int, int | None):
                swept.append((*path, param.opts[0]))
                status, _, err = _run_in_process((*path, param.opts[0], "99999999999999999999"), capsys)
                assert status == 2 and "Traceback" not in err and len(err.splitlines()) <= 2, (path, param.opts, err)
    assert ("articles", "--limit") in swept and ("digests", "--limit") in swept


def _sqlite_error(tmp_path: Path, action: str) -> sqlite3.Error:
    """The error real SQLite raises for `action` on a one-table database."""
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS t (x)")
    setup.close()
    if action == "read-only":
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        statement = "INSERT INTO t VALUES (1)"
    elif action == "locked":
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        connection = sqlite3.connect(path, timeout=0)
        statement = "INSERT INTO t VALUES (1)"
    else:
        connection = sqlite3.connect(path)
        statement = "SELECT * FROM crawl_run"
    with pytest.raises(sqlite3.Error) as raised:
        connection.execute(statement)
    connection.close()
    return raised.value


@pytest.mark.parametrize(("action", "hint"), [
    ("missing table", "(is the schema current? try `mediawatch db current`)"),
    ("read-only", "(the database file, or its folder, cannot be written by this user)"),
    ("locked", "(another process is writing to it; try again)"),
])
def test_a_database_error_says_what_to_try_for_that_error(tmp_path: Path, action: str, hint: str) -> None:
    # A read-only file was told to check its schema: the hint must fit the error.
    line = database_error_line(_sqlite_error(tmp_path, action))
    assert line.startswith("database error: ") and line.endswith(hint)
    assert line.count("(") == 1


def test_an_option_without_its_value_names_the_command_and_its_help(tmp_path: Path) -> None:
    # It named the root ("mediawatch: …", "Try 'mediawatch --help'"): click's parser raises
    # this error without the command's context.
    for args, command in ((("articles", "--limit"), "mediawatch articles"),
                          (("digest", "send", "--retries"), "mediawatch digest send")):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"{command}: Option '{args[-1]}' requires an argument.",
            f"Try '{command} --help' for help.",
        ]


@pytest.mark.parametrize("args", [
    ("articles", "-t", "nosuch"), ("articles", "-s", "nosuch"), ("export", "-t", "nosuch"),
    ("digests", "-t", "nosuch"), ("digest", "build", "-t", "nosuch"), ("digest", "send", "-t", "nosuch"),
    ("crawl", "-s", "nosuch"), ("classify", "-t", "nosuch"),
])
def test_an_unknown_topic_or_source_is_a_bad_option_value_not_a_configuration_error(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # It said "mediawatch: configuration error:" about a configuration that was fine.
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC], "sources": [
        {"name": "a", "kind": "feed", "url": "https://news.example.org/feed.xml"}]})
    assert run_cli("db", "upgrade", config=config, cwd=tmp_path).returncode == 0
    result = run_cli(*args, config=config, cwd=tmp_path)
    command = "mediawatch " + " ".join(a for a in args if not a.startswith("-") and a != "nosuch")
    option = "'--topic' / '-t'" if "-t" in args else "'--source' / '-s'"
    assert result.returncode == 2, result.stderr
    configured = "configured: t" if "-t" in args else "configured: a"
    mistake, where_help = result.stderr.splitlines()
    assert mistake.startswith(f"{command}: Invalid value for {option}: ") and "'nosuch'" in mistake, mistake
    assert configured in mistake
    assert where_help == f"Try '{command} --help' for help."
