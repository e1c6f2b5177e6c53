"""The `mediawatch` command line: the one place that prints and picks exit statuses.

Exit statuses: 0 success; 1 the work failed (every source failed, a page had no
article, delivery failed); 2 the configuration or the command line is wrong.

Each group of commands lives in its own module and registers itself on `app`;
`main` turns the project's errors into one line on stderr and an exit status.
Usage errors are left to click's own standalone handling (exit 2, no traceback),
whichever copy of click typer ships.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from scheduler.cli import admin, crawl, daemon, digest, export, topics, worker
from scheduler.cli.common import Options, err
from scheduler.logs import configure_logging
from storage.errors import ConfigError, MediawatchError

app = typer.Typer(
    help="mediawatch: follow a story across news sites and feeds, store it once, send digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Configuration file (default: $MEDIAWATCH_CONFIG or ./mediawatch.toml).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level for stderr: debug, info, warning, error.")] = "warning",
    log_json: Annotated[bool, typer.Option(help="Log one JSON object per line.")] = False,
) -> None:
    configure_logging(log_level, json_lines=log_json)
    ctx.obj = Options(config_path=config)


for module in (crawl, export, daemon, digest, topics, admin, worker):
    module.register(app)


def main() -> None:
    """Console-script entry point: turn project errors into one line and an exit status."""
    try:
        app(standalone_mode=True)
    except ConfigError as exc:
        err.print(f"mediawatch: configuration error:\n{exc}", markup=False)
        sys.exit(2)
    except MediawatchError as exc:
        err.print(f"mediawatch: {exc}", markup=False)
        sys.exit(1)
    except SQLAlchemyError as exc:
        # The first line of a driver error says what went wrong; the SQL that follows does not help.
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        err.print(f"mediawatch: database error: {first} (is the schema current? try `mediawatch db current`)",
                  markup=False)
        sys.exit(1)
