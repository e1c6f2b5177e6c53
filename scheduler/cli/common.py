"""What every command shares: the consoles, the global options, opening the configuration and the app.

Commands print through `out` (results, stdout) and `err` (progress and problems,
stderr); nothing else in mediawatch prints.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import table as rich_table
from rich.console import Console

from storage.durations import parse_duration
from storage.errors import ConfigError
from storage.text import strip_controls

if TYPE_CHECKING:
    from crawler.config import SourceConfig
    from crawler.topics.config import TopicConfig
    from scheduler.app import App
    from scheduler.config import Config

class _StdoutConsole(Console):
    """rich's console, except that a reader going away (`| head -1`) is left to the entry point."""

    def on_broken_pipe(self) -> None:
        # rich's own answer is SystemExit(1): `mediawatch articles | head -1` failed. The
        # BrokenPipeError goes on to `scheduler.cli.main`, which ends quietly with 0.
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


# Piped output (tests, scripts) gets wide tables instead of rich's 80-column default. No markup:
# table cells hold scraped headlines and server errors, where "[/]" would raise and "[b]" vanish.
out = _StdoutConsole(highlight=False, soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 200)


class Table(rich_table.Table):
    """A rich table whose text cells lose their control characters at display.

    What the crawler stores is stripped, but rows stored before it was (a headline, a source
    name, a run's note) kept escape sequences that recoloured, retitled or cleared the
    operator's terminal: every CLI table strips again.
    """

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(strip_controls(r) if isinstance(r, str) else r for r in renderables), **kwargs)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


@dataclass
class Options:
    """The global options, kept on the root context for every command."""

    config_path: str | None
    log_level: str = "warning"
    log_json: bool = False


def options(ctx: typer.Context) -> Options:
    found = ctx.find_root().obj
    return found if isinstance(found, Options) else Options(config_path=None)


def load_config(ctx: typer.Context) -> Config:
    """The configuration named by --config, $MEDIAWATCH_CONFIG or ./mediawatch.toml, validated."""
    # Not through scheduler.app, which imports SQLAlchemy: `status` on SQLite does without it.
    from scheduler import config

    return config.load_config(config.find_config_file(options(ctx).config_path))


def open_app(ctx: typer.Context, *, create: bool = True) -> App:
    """The configuration plus an open database: close it with `app.close()`.

    Read-only commands pass `create=False`: they never create a database (or its
    folder) where there is none, and say which one is missing instead.
    """
    from scheduler.app import build_app

    return build_app(load_config(ctx), create=create)


def invocation(
    argv0: str | None = None, executable: str | None = None, *, which: Callable[[str], str | None] = shutil.which
) -> str:
    """How to start mediawatch again the way this process was started, for hints meant to be pasted.

    A bare `mediawatch` only when that name on PATH is this very program: in a venv
    nobody activated, `.venv/bin/mediawatch` is what runs; `python -m scheduler` is
    given back with the interpreter that ran it.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    path = Path(argv0)
    if path.name == "__main__.py":
        return f"{shlex.quote(executable)} -m {path.parent.name}"
    if "/" not in argv0:
        return argv0  # the shell found it on PATH
    found = which(path.name)
    if found is not None and os.path.realpath(found) == os.path.realpath(argv0):
        return path.name
    return shlex.quote(argv0)


# The most rows a listing prints: more than any terminal shows, far below what a database's
# LIMIT can hold (99999999999999999999 reached SQLite and came back as a traceback).
MAX_LISTED = 1_000_000


def parse_since(value: str | None, now: datetime | None = None, tz: tzinfo = UTC) -> datetime | None:
    """A `--since` value: a duration ago ("2d"), or a date or time; one without an offset is in `tz`,
    the time zone lists are shown in, so `--since 2025-02-11` starts where the list's 2025-02-11 does."""
    if not value:
        return None
    try:
        moment = (now or datetime.now(UTC)) - parse_duration(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r}: give a date (2025-02-08), a time, or a duration like 2d") from None
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except OverflowError:  # a duration reaching back before year 1
        moment = datetime.min.replace(tzinfo=UTC)
    # Year 1 or 9999 in one time zone may not exist in another (UTC for the query, the list's for
    # display): the driver raised "date value out of range", reported as a database error.
    if not MINYEAR < moment.year < MAXYEAR:
        raise typer.BadParameter(f"{value!r} is out of range: give a date between the years {MINYEAR + 1} and {MAXYEAR - 1}")
    return moment


def not_empty(value: str | None) -> str | None:
    """A file or folder argument given as "" (an unset shell variable) is a usage mistake.

    Read as a path, "" is the current folder: `classify ""` said "Is a directory", `export -o ""`
    too, `digest build --out ""` wrote into the current folder and `--config ""` quietly fell
    back to $MEDIAWATCH_CONFIG or ./mediawatch.toml.
    """
    if value is not None and not value.strip():
        raise typer.BadParameter("an empty value is not a file or folder name")
    return value


def check_since(value: str | None) -> str | None:
    """Reject a bad `--since` before anything is opened, as a usage error (exit 2)."""
    parse_since(value)
    return value


SinceOption = typer.Option(
    metavar="WHEN", help="Published since a date/time or a duration ago (e.g. 2d, 2025-02-08).", callback=check_since
)
FetchedSinceOption = typer.Option(
    metavar="WHEN", help="Fetched since a date/time or a duration ago (e.g. 2d).", callback=check_since
)
TopicOption = typer.Option("--topic", "-t", metavar="TOPIC", help="Only articles relevant to this topic.")


NOTE_CHARS = 300


def table_note(note: str) -> str:
    """A note for a table's last column: the table wraps it to the terminal, so only a runaway
    message is cut, at a word, and the ellipsis says so."""
    from digest.text import shorten  # here: every command imports this module, few print notes

    return shorten(note, NOTE_CHARS)


def print_crawl_table(results: list[Any]) -> None:
    """One row per source crawled: what it found, stored and failed."""
    table = Table(title="crawl results")
    for column in ("source", "status", "found", "new", "duplicates", "failed", "seconds", "note"):
        table.add_column(column, justify="right" if column in ("found", "new", "duplicates", "failed", "seconds") else "left")
    for r in results:
        t = r.tally
        note = table_note(r.error or (t.errors[0] if t.errors else ""))
        table.add_row(
            r.source, r.status, str(t.found), str(t.new), str(t.duplicate), str(t.failed), f"{r.seconds:.1f}", note
        )
    out.print(table)


def print_articles(stored: list[Any], title: str, tz: tzinfo) -> None:
    """One row per stored article, with the terms each relevant topic matched; dates in `tz`."""
    from digest.text import headline  # here: every command imports this module, few list articles

    table = Table(title=title)
    for column in ("id", "published", "source", "language", "title", "matched", "url"):
        table.add_column(column)
    for item in stored:
        a = item.article
        matched = "; ".join(f"{m.topic}: {', '.join(m.matched)}" for m in item.matches if m.relevant) or "(off topic)"
        published = a.published_at.astimezone(tz).date().isoformat() if a.published_at else "?"
        table.add_row(str(a.id), published, a.source_name, a.language or "?", headline(a.title), matched, a.url)
    out.print(table)


TOPIC_OPTION = "'--topic' / '-t'"
SOURCE_OPTION = "'--source' / '-s'"


def chosen_topic(ctx: typer.Context, config: Config, name: str | None) -> TopicConfig:
    """The topic `--topic` names (the first when None); an unknown name is a usage error, not a configuration error."""
    try:
        return config.topic(name)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=TOPIC_OPTION) from None


def chosen_sources(ctx: typer.Context, config: Config, names: list[str] | None) -> list[SourceConfig]:
    """The sources `--source` names (every enabled one when none); an unknown name is a usage error."""
    try:
        return config.select_sources(names)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), ctx=ctx, param_hint=SOURCE_OPTION) from None
