"""The `mediawatch` command line: the one place that prints and picks exit statuses.

Exit statuses: 0 success; 1 the work failed (every source failed, a page had no
article, delivery failed); 2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from scheduler.config import Config, settings_table
from scheduler.durations import parse_duration
from scheduler.logs import configure_logging
from storage.errors import ConfigError, MediawatchError

app = typer.Typer(
    help="mediawatch: follow a story across news sites and feeds, store it once, send digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

# Piped output (tests, scripts) gets wide tables instead of rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Options:
    config_path: str | None


def _options(ctx: typer.Context) -> Options:
    return ctx.ensure_object(Options)


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


def _load(ctx: typer.Context) -> Config:
    from scheduler.app import load_app_config

    return load_app_config(_options(ctx).config_path)


def _open(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from scheduler.app import build_app

    return build_app(_load(ctx))


# -- crawl --------------------------------------------------------------------
@app.command()
def crawl(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Crawl only this source (repeatable).")] = None,
) -> None:
    """Crawl sources now and print what each one yielded."""

    application = _open(ctx)
    try:
        results = _crawl_with_progress(application, source)
    finally:
        application.close()
    _print_crawl_table(results)
    if results and not any(r.succeeded for r in results):
        raise typer.Exit(1)


def _crawl_with_progress(application: Any, sources: list[str] | None, trigger: str = "manual") -> list[Any]:
    from scheduler.app import crawl as run_crawl

    selected = application.config.select_sources(sources)
    if not selected:
        raise ConfigError("no sources to crawl: add [[sources]] to the configuration")
    done: list[str] = []
    with err.status(f"crawling {len(selected)} source(s)…") as status:

        def on_done(result: Any) -> None:
            done.append(result.source)
            mark = "ok" if result.succeeded else "FAILED"
            err.print(f"  {result.source}: {mark}, {result.tally.new} new")
            status.update(f"crawling: {len(done)}/{len(selected)} sources done…")

        return list(run_crawl(application, [s.name for s in selected], trigger=trigger, on_done=on_done))


def _print_crawl_table(results: list[Any]) -> None:
    table = Table(title="crawl results")
    for column in ("source", "status", "found", "new", "duplicates", "failed", "seconds", "note"):
        table.add_column(column, justify="right" if column in ("found", "new", "duplicates", "failed", "seconds") else "left")
    for r in results:
        t = r.tally
        note = r.error or (t.errors[0] if t.errors else "")
        table.add_row(
            r.source, r.status, str(t.found), str(t.new), str(t.duplicate), str(t.failed), f"{r.seconds:.1f}", note[:80]
        )
    out.print(table)


@app.command()
def recheck(ctx: typer.Context) -> None:
    """Re-fetch recent articles now: record takedowns (404/410, redirect to a front page) and edits."""
    from crawler.reactor import run_on_reactor
    from crawler.recheck_spider import recheck_articles

    application = _open(ctx)
    try:
        with err.status("re-checking recent articles…"):
            report = run_on_reactor(lambda: recheck_articles(application.config, application.repository))
    finally:
        application.close()
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(report.outcomes.items())) or "nothing to check"
    out.print(f"re-checked {report.checked} article(s): {outcomes}", markup=False)
    for url in report.removed:
        out.print(f"  removed: {url}", markup=False)
    for url in report.edited:
        out.print(f"  edited:  {url}", markup=False)


# -- sources & articles ------------------------------------------------------------
@app.command()
def sources(ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """List configured sources with their last crawl."""
    application = _open(ctx)
    try:
        last = application.repository.last_runs()
    finally:
        application.close()
    rows = []
    for s in application.config.sources:
        run = last.get(s.name)
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "url": s.url,
                "every": s.every,
                "enabled": s.enabled,
                "topics": s.topics or [t.name for t in application.config.topics],
                "last_run": run.started_at.isoformat() if run else None,
                "last_status": run.status if run else None,
                "last_new": run.new if run else None,
            }
        )
    if json_output:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table(title="sources")
    for column in ("name", "kind", "every", "enabled", "last run", "status", "new", "url"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], row["kind"], row["every"], "yes" if row["enabled"] else "no", row["last_run"] or "never",
            row["last_status"] or "-", str(row["last_new"] if row["last_new"] is not None else "-"), row["url"],
        )
    out.print(table)


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: give a date (2025-02-08), a time, or a duration like 2d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def articles(
    ctx: typer.Context,
    topic: Annotated[str | None, typer.Option(help="Only articles relevant to this topic.")] = None,
    since: Annotated[str | None, typer.Option(help="Fetched since a date/time or a duration ago (e.g. 2d).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line, with text.")] = False,
) -> None:
    """List stored articles, newest first, with why they matched."""
    application = _open(ctx)
    try:
        if topic:
            application.config.topic(topic)
        stored = application.repository.list_articles(topic=topic, since=_parse_since(since), limit=limit)
    finally:
        application.close()
    if json_output:
        from scheduler.cli_export import article_records

        for record in article_records(stored, {}):
            record.pop("digests")
            out.print(json.dumps(record, ensure_ascii=False), markup=False)
        return
    _print_articles(stored, f"articles ({len(stored)})")


def _print_articles(stored: list[Any], title: str) -> None:
    """One row per stored article, with the terms each relevant topic matched."""
    table = Table(title=title)
    for column in ("id", "published", "source", "language", "title", "matched"):
        table.add_column(column)
    for item in stored:
        a = item.article
        matched = "; ".join(f"{m.topic}: {', '.join(m.matched)}" for m in item.matches if m.relevant) or "(off topic)"
        published = a.published_at.date().isoformat() if a.published_at else "?"
        table.add_row(str(a.id), published, a.source_name, a.language or "?", a.title, matched)
    out.print(table)


# -- extract ----------------------------------------------------------------------
@app.command()
def extract(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help="Files or http(s) URLs.", metavar="FILE_OR_URL...")],
    url: Annotated[str | None, typer.Option(help="The page's URL when extracting a file (for links and dates).")] = None,
    content_type: Annotated[str | None, typer.Option(help="Content-Type header to assume for a file.")] = None,
    allow_private: Annotated[bool, typer.Option(help="Allow fetching private/loopback addresses.")] = False,
) -> None:
    """Print what the extractor gets from pages, as JSON (one object per line)."""
    from crawler.extract import extract_article
    from crawler.settings import user_agent
    from scheduler.config import CrawlerConfig
    from scheduler.fetch import fetch_page

    failures = 0
    for target in targets:
        try:
            if target.startswith(("http://", "https://")):
                body, header, final_url = fetch_page(target, user_agent=user_agent(CrawlerConfig()), allow_private=allow_private)
            elif "://" in target:
                raise MediawatchError(f"{target}: only http(s) URLs and local files can be extracted")
            else:
                path = Path(target)
                try:
                    body = path.read_bytes()
                except OSError as exc:
                    raise MediawatchError(f"{target}: cannot read: {exc.strerror}") from exc
                header, final_url = content_type, url or path.resolve().as_uri()
            article = extract_article(body, final_url, header)
        except MediawatchError as exc:
            err.print(f"mediawatch: {exc}", markup=False)
            failures += 1
            continue
        out.print(
            json.dumps(
                {
                    "url": article.url, "title": article.title, "author": article.author,
                    "published": article.published.isoformat() if article.published else None,
                    "language": article.language, "encoding": article.encoding, "text": article.text,
                },
                ensure_ascii=False,
            ),
            markup=False,
        )
    if failures:
        raise typer.Exit(1)


# -- config & db ------------------------------------------------------------------
@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and summarise it."""
    config = _load(ctx)
    out.print(f"{config.path}: OK", markup=False)
    out.print(f"  database: {config.database.url}", markup=False)
    out.print(f"  topics: {', '.join(t.name for t in config.topics)}", markup=False)
    out.print(f"  sources: {len(config.sources)} ({sum(s.enabled for s in config.sources)} enabled)", markup=False)
    for s in config.sources:
        out.print(f"    {s.name:<20} {s.kind:<8} every {s.every:<6} {s.url}", markup=False)


@config_app.command("settings")
def config_settings(
    markdown: Annotated[bool, typer.Option("--markdown", help="As a Markdown table (the README's).")] = False,
) -> None:
    """List every setting with its default and meaning."""
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
    from storage.migrate import current_revision, upgrade

    config = _load(ctx)
    engine = create_engine(config.database.url)
    upgrade(engine)
    out.print(f"{describe(engine)}: at revision {current_revision(engine)}", markup=False)


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the schema revision of the database and the newest one known."""
    from storage.db import create_engine, describe
    from storage.migrate import current_revision, head_revision

    config = _load(ctx)
    engine = create_engine(config.database.url)
    current, head = current_revision(engine), head_revision()
    out.print(f"{describe(engine)}: at {current or 'no schema'}; newest is {head}", markup=False)
    if current != head:
        raise typer.Exit(1)


# -- demo ------------------------------------------------------------------------
@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo database and files go.")] = Path("demo"),
) -> None:
    """Serve the bundled demo site on 127.0.0.1, crawl it into a fresh database, show the result."""
    from scheduler.demo import run_demo

    demo_result = run_demo(directory, progress=err)
    results, stored = demo_result.results, demo_result.stored
    _print_crawl_table(results)
    _print_articles(stored, f"stored articles ({len(stored)})")
    out.print(f"database: {demo_result.database}", markup=False)
    if demo_result.digest_html:
        out.print(f"digest:   {demo_result.digest_html}", markup=False)
        out.print(f"          {demo_result.digest_text}", markup=False)
    if not any(r.succeeded for r in results):
        raise typer.Exit(1)


# Commands that live in their own modules register themselves here.
from scheduler import cli_daemon, cli_digest, cli_export, cli_topics  # noqa: E402

cli_daemon.register(app)
cli_export.register(app)
cli_digest.register(app)
cli_topics.register(app)


def main() -> None:
    """Console-script entry point: turn project errors into one line and an exit status."""
    try:
        # With standalone_mode=False click returns the status of typer.Exit instead of exiting.
        status = app(standalone_mode=False)
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
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("mediawatch: aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(status if isinstance(status, int) else 0)
