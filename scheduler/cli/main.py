"""The `mediawatch` command line: the one place that prints and picks exit statuses.

Exit statuses: 0 success; 1 the work failed (every source failed, a page had no
article, delivery failed, a source was busy and nothing was crawled); 2 the
configuration or the command line is wrong.

Each group of commands lives in its own module and registers itself on `app`;
`main` turns the project's errors into one line on stderr and an exit status.
Usage errors are caught here too and printed as two plain lines (what is wrong,
where the help is), whichever copy of click typer ships: typer 0.29 vendors its
own (`typer._click`), so they are recognised by class name, not by `isinstance`
against the `click` package.
"""

from __future__ import annotations

import codecs
import gc
import io
import os
import sys
from typing import Annotated

import typer

from scheduler.cli import admin, crawl, daemon, digest, export, topics, web, worker
from scheduler.cli.common import Options, err, not_empty
from scheduler.cli.root import OutputClosed, RootGroup, check_log_level
from scheduler.logs import configure_logging
from storage.errors import ConfigError, MediawatchError

PROG = "mediawatch"

app = typer.Typer(
    cls=RootGroup,  # global options may follow the command too
    help="mediawatch: follow a story across news sites and feeds, store it once, send digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_text() -> str:
    from importlib import metadata  # only `--version` needs it: not worth loading on every start-up

    try:
        return f"{PROG} {metadata.version(PROG)}"
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return f"{PROG} (not installed)"


def _show_version(value: bool) -> None:
    if value:
        print(version_text())
        raise typer.Exit(0)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        str | None, typer.Option("--config", "-c", metavar="FILE", help="Configuration file (default: $MEDIAWATCH_CONFIG or ./mediawatch.toml).",
                                         callback=not_empty)
    ] = None,
    log_level: Annotated[
        str, typer.Option(metavar="LEVEL", help="Log level for stderr: debug, info, warning, error (the daemon's own one-line events show unless it is error).",
            callback=check_log_level)
    ] = "warning",
    log_json: Annotated[bool, typer.Option(help="Log one JSON object per line.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    configure_logging(log_level, json_lines=log_json)
    ctx.obj = Options(config_path=config, log_level=log_level, log_json=log_json)


for module in (crawl, export, daemon, digest, topics, admin, web, worker):
    module.register(app)


def _is_a(exc: BaseException, *names: str) -> bool:
    """Whether `exc` is one of click's exceptions, from whichever copy of click raised it."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _usage_error(exc: Exception) -> int:
    """Two plain lines on stderr: the mistake, and where the help is; returns the exit status."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else PROG
    if _is_a(exc, "NoArgsIsHelpError"):
        # A bare group: its help is what the user needs (typer prints it itself with rich).
        message = exc.format_message()  # type: ignore[attr-defined]
        if message.strip():
            print(message, file=sys.stderr)
        return 2
    # typer turns a validator's ValueError into "Value error, …": the prefix says nothing to a user.
    message = " ".join(exc.format_message().replace("Value error, ", "").split())  # type: ignore[attr-defined]
    print(f"{command}: {message}", file=sys.stderr)
    print(f"Try '{command} --help' for help.", file=sys.stderr)
    return int(getattr(exc, "exit_code", 2) or 2)


def run(args: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of raising SystemExit for usage errors."""
    try:
        status = app(args=args, prog_name=PROG, standalone_mode=False)
    except Exception as exc:
        if _is_a(exc, "UsageError"):
            return _usage_error(exc)
        if _is_a(exc, "Abort"):
            print(f"{PROG}: aborted", file=sys.stderr)
            return 130
        if _is_a(exc, "ClickException"):
            print(f"{PROG}: {exc.format_message()}", file=sys.stderr)  # type: ignore[attr-defined]
            return int(getattr(exc, "exit_code", 1) or 1)
        raise
    if status == 130:
        # Typer turns Ctrl-C into a silent exit 130 (its own KeyboardInterrupt handling): say so.
        print(f"{PROG}: interrupted", file=sys.stderr)
    return status if isinstance(status, int) else 0


def _is_database_error(exc: BaseException) -> bool:
    """Whether `exc` is SQLAlchemy's or sqlite3's (`status` reads SQLite without SQLAlchemy), without
    importing either into commands that never open a database."""
    exceptions = sys.modules.get("sqlalchemy.exc")  # not imported: nothing could have raised one
    sqlite3 = sys.modules.get("sqlite3")
    return ((exceptions is not None and isinstance(exc, exceptions.SQLAlchemyError))
            or (sqlite3 is not None and isinstance(exc, sqlite3.Error)))


# What to try for a driver error, by what its first line says (SQLite's words, then PostgreSQL's).
_DATABASE_HINTS = (
    (("no such table", "no such column", "has no column", "does not exist"),
     "is the schema current? try `mediawatch db current`"),
    (("readonly database", "read-only", "permission denied"),
     "the database file, or its folder, cannot be written by this user"),
    (("database is locked",), "another process is writing to it; try again"),
    (("unable to open database file",), "check that the database file's folder exists and can be written"),
    (("disk is full", "disk i/o error"), "check the disk that holds the database"),
)


def database_error_line(exc: BaseException) -> str:
    """One line for a database error: the driver's first line (the SQL after it does not help) and what to try."""
    first = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
    lowered = first.lower()
    hint = next((hint for words, hint in _DATABASE_HINTS if any(word in lowered for word in words)), None)
    return f"database error: {first}" + (f" ({hint})" if hint else "")


def _json_escape(exc: UnicodeError) -> tuple[str, int]:
    """Write what the terminal's encoding cannot show as JSON's escapes (\\u5357, a surrogate pair
    beyond the BMP), so JSON Lines stays JSON that decodes to the scraped text, and a table stays readable."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    units = exc.object[exc.start : exc.end].encode("utf-16-be")
    escaped = "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    return escaped, exc.end


codecs.register_error("mediawatch-json-escape", _json_escape)


def _escape_what_the_terminal_cannot_show() -> None:
    # PYTHONIOENCODING=ascii, or a latin-1 terminal, made every headline a UnicodeEncodeError and a
    # traceback (and lost the rest of the output); escapes keep every character recoverable.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="mediawatch-json-escape")


def _discard_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it again at exit, and with the reader gone that
    printed "Exception ignored … BrokenPipeError" (the way Python's signal documentation does it)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Console-script entry point: turn project errors into one line and an exit status."""
    _escape_what_the_terminal_cannot_show()
    try:
        status = run()
        sys.stdout.flush()  # a reader that has gone is found here, not in Python's flush at exit
        sys.exit(status)
    except (OutputClosed, BrokenPipeError):
        # `mediawatch articles | head -1`: the reader took what it wanted, as with any unix tool.
        _discard_stdout()
        sys.exit(0)
    except ConfigError as exc:
        err.print(f"mediawatch: configuration error:\n{exc}", markup=False)
        sys.exit(2)
    except MediawatchError as exc:
        err.print(f"mediawatch: {exc}", markup=False)
        sys.exit(1)
    except OSError as exc:
        # A file the user named (`export -o`, `digest build --out`) that cannot be written: the work failed.
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"mediawatch: {where}{exc.strerror or exc}", markup=False)
        sys.exit(1)
    except Exception as exc:  # after OSError: this clause re-raises what it does not handle
        if not _is_database_error(exc):
            raise
        err.print(f"mediawatch: {database_error_line(exc)}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        # The process is ending: left to itself, interpreter shutdown searches every object the
        # imports created (typer, pydantic, SQLAlchemy) for reference cycles, about an eighth
        # of `mediawatch status`. Frozen, they are skipped; the operating system frees them.
        gc.freeze()
