"""`mediawatch config check|settings`, `db upgrade|current` and `demo`: setting up and looking around."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from scheduler.cli.common import (
    err,
    invocation,
    load_config,
    not_empty,
    out,
    print_articles,
    print_crawl_table,
)
from storage.durations import format_duration
from storage.errors import ConfigError

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.add_typer(db_app, name="db")
    app.command()(demo)


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and summarise it."""
    from scheduler.config import unwritable
    from scheduler.web.config import PASSWORD_HASH_ENV

    config = load_config(ctx)
    archive = config.resolve_path(config.digest.archive_dir)
    if (problem := unwritable(archive)) is not None:
        # Loading checks only that no file stands in the way: whether the folder can be made or
        # written costs a write, fit for a check and not for every command.
        raise ConfigError(f"{config.path}: digest.archive_dir: {archive}: cannot write: {problem}")
    if config.web.enabled or os.environ.get(PASSWORD_HASH_ENV):
        # What `run` (with the console on) and `web` refuse to start without: a way to sign in.
        from scheduler.web.auth import AuthSettings

        AuthSettings.from_environment(config.web, os.environ)
    out.print(f"{config.path}: OK", markup=False)
    out.print(f"  database: {_hide_password(config.database.url)} ({config.database_origin})", markup=False)
    out.print(f"  topics: {', '.join(t.name for t in config.topics)}", markup=False)
    out.print(f"  sources: {len(config.sources)} ({sum(s.enabled for s in config.sources)} enabled)", markup=False)
    width = max((len(s.name) for s in config.sources), default=0)
    for s in config.sources:
        off = "" if s.enabled else "  (disabled)"
        out.print(f"    {s.name:<{width}} {s.kind:<8} every {format_duration(s.every):<6} {s.url}{off}", markup=False)


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@config_app.command("settings")
def config_settings(
    markdown: Annotated[bool, typer.Option("--markdown", help="As a Markdown table (the README's).")] = False,
) -> None:
    """List every setting with its default and meaning."""
    from scheduler.config import settings_table

    if markdown:
        out.print("| setting | default | meaning |\n|---|---|---|", markup=False)
    for key, default, help_text in settings_table():
        if markdown:
            shown = f"`{default}`" if default else "(required)"
            out.print(f"| `{key}` | {shown} | {help_text.replace('|', '&#124;')} |", markup=False)
        else:
            out.print(f"{key:<32} {default or '(required)':<28} {help_text}", markup=False)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations."""
    from storage.db import create_engine, describe
    from storage.migrate import upgrade

    config = load_config(ctx)
    engine = create_engine(config.database.url)
    change = upgrade(engine)
    out.print(f"{describe(engine)}: {_schema_change(change.before, change.after)}", markup=False)


def _schema_change(before: str | None, after: str | None) -> str:
    """What `db upgrade` did, in words: "at revision 0007" alone did not say whether it did anything."""
    if before is None:
        return f"created the schema at revision {after}"
    if before == after:
        return f"already at revision {after}; nothing to do"
    return f"upgraded from revision {before} to {after}"


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the schema revision of the database and the newest one known."""
    from storage.db import create_engine, describe
    from storage.migrate import current_revision, head_revision

    config = load_config(ctx)
    engine = create_engine(config.database.url, create=False)
    current, head = current_revision(engine), head_revision()
    out.print(f"{describe(engine)}: at {current or 'no schema'}; newest is {head}", markup=False)
    if current != head:
        raise typer.Exit(1)


def demo(
    directory_name: Annotated[str, typer.Option("--dir", metavar="DIR", help="Where the demo database, config and files go.",
                                                callback=not_empty)] = "demo",
    serve: Annotated[bool, typer.Option("--serve", help="Keep the demo site up afterwards (for `mediawatch run`).")] = False,
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port for the demo site (0: any free one).")] = 0,
) -> None:
    """Serve the bundled demo site on 127.0.0.1, crawl it into a fresh database, show the result."""
    directory = Path(directory_name)
    from scheduler.demo import DemoFolderError, open_demo_site, run_demo

    with open_demo_site(port) as site:
        try:
            demo_result = run_demo(directory, progress=err, site=site)
        except DemoFolderError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--dir'") from None
        results, stored = demo_result.results, demo_result.stored
        print_crawl_table(results)
        print_articles(stored, f"stored articles ({len(stored)})", _timezone_of(demo_result.config))
        out.print(f"database: {demo_result.database}", markup=False)
        out.print(f"config:   {demo_result.config}", markup=False)
        if demo_result.digest_html:
            out.print(f"digest:   {demo_result.digest_html}", markup=False)
            out.print(f"          {demo_result.digest_text}", markup=False)
        # Spelt as this process was started: a venv's `mediawatch` is usually not on PATH.
        me, config = invocation(), shlex.quote(str(demo_result.config))
        out.print(f"next:     {me} --config {config} status   (or articles, digests, digest build)", markup=False)
        out.print(f"browse:   `{me} web --hash-password`, export MEDIAWATCH_WEB_PASSWORD_HASH='<that hash>', then "
                  f"`{me} --config {config} web` (the web console)", markup=False)
        if not any(r.succeeded for r in results):
            raise typer.Exit(1)
        if serve:
            out.print(f"serving:  the demo site stays up on {site.base_url}; in another terminal run "
                      f"`{me} --config {config} run`. Ctrl-C to stop.", markup=False)
            _wait_for_stop()
        else:
            # Served into another folder, the site's new port would land in that folder's config, not this one.
            folder = "" if directory_name == "demo" else f" --dir {shlex.quote(directory_name)}"
            out.print(f"          `{me} demo{folder} --serve` keeps the site up for `{me} --config {config} run`",
                      markup=False)


def _timezone_of(config_path: Path) -> ZoneInfo:
    """The `[digest] timezone` of the configuration the demo wrote: dates are shown in it."""
    from scheduler.config import load_config as read_config

    return ZoneInfo(read_config(config_path).digest.timezone)


def _wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM."""
    import signal
    import sys
    import threading

    sys.stdout.flush()  # the "serving" line must reach a pipe now, not when the process ends
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
