"""`mediawatch crawl`, `recheck`, `sources` and `extract`: crawling by hand and looking at what a page gives."""

from __future__ import annotations

import json
import logging
import struct
import zlib
from pathlib import Path
from typing import Annotated, Any

import typer

from scheduler.cli.common import (
    Table,
    chosen_sources,
    err,
    load_config,
    open_app,
    options,
    out,
    print_crawl_table,
)
from scheduler.records import source_records
from storage.errors import ConfigError, MediawatchError


def register(app: typer.Typer) -> None:
    app.command()(crawl)
    app.command()(recheck)
    app.command()(sources)
    app.command()(extract)


def crawl(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", metavar="NAME", help="Crawl only this source (repeatable).")] = None,
) -> None:
    """Crawl sources now and print what each one yielded."""
    application = open_app(ctx)
    try:
        chosen_sources(ctx, application.config, source)  # an unknown name is a usage error, before any crawl
        # With --log-json, stderr is one JSON object per line: the table on stdout says the same.
        results = crawl_with_progress(application, source, progress=not options(ctx).log_json)
    finally:
        application.close()
    print_crawl_table(results)
    if results and not any(r.succeeded and r.status != "skipped" for r in results):
        # Nothing was crawled: every source failed, was busy in another process, or its host asked us to wait.
        skipped = [r for r in results if r.status == "skipped"]
        if skipped:
            reasons = "; ".join(dict.fromkeys(
                "being crawled by another process" if (r.error or "").startswith("busy") else r.error or "skipped"
                for r in skipped
            ))
            err.print(f"mediawatch: nothing crawled: {reasons} (see `mediawatch status`)", markup=False)
        raise typer.Exit(1)


def crawl_with_progress(
    application: Any, sources: list[str] | None, trigger: str = "manual", *, progress: bool = True
) -> list[Any]:
    """Crawl, printing one line on stderr as each source finishes (unless not `progress`)."""
    from scheduler.app import crawl as run_crawl

    selected = application.config.select_sources(sources)
    if not selected:
        raise ConfigError("no sources to crawl: add [[sources]] to the configuration")
    done: list[str] = []
    with err.status(f"crawling {len(selected)} source(s)…") as status:

        def on_done(result: Any) -> None:
            done.append(result.source)
            mark = "FAILED" if not result.succeeded else result.status  # ok, partial, not_modified, skipped
            if progress:
                err.print(f"  {result.source}: {mark}, {result.tally.new} new")
            status.update(f"crawling: {len(done)}/{len(selected)} sources done…")

        return list(run_crawl(application, [s.name for s in selected], trigger=trigger, on_done=on_done))


def recheck(ctx: typer.Context) -> None:
    """Re-fetch recent articles now: record takedowns (404/410, redirect to a front page) and edits."""
    from scheduler.app import recheck as run_recheck

    application = open_app(ctx)
    try:
        with err.status("re-checking recent articles…"):
            report = run_recheck(application)
    finally:
        application.close()
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(report.outcomes.items())) or "nothing to check"
    out.print(f"re-checked {report.checked} article(s): {outcomes}", markup=False)
    for url in report.removed:
        out.print(f"  removed: {url}", markup=False)
    for url in report.edited:
        out.print(f"  edited:  {url}", markup=False)
    # The reasons were logged at info only: "failed 32" and nothing an operator could act on.
    for failure in report.failures:
        out.print(f"  failed:  {failure}", markup=False)
    failed = report.outcomes.get("failed", 0)
    if failed - len(report.failures) > 0:
        out.print(f"  failed:  {failed - len(report.failures)} more (--log-level info names each)", markup=False)
    # As `crawl` when every source failed: cron and systemd should hear of it. A host that said
    # "wait" (its articles `waiting`) deferred the recheck rather than failed it.
    if failed and failed == report.checked and not report.outcomes.get("waiting"):
        raise typer.Exit(1)


def sources(ctx: typer.Context, json_output: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """List configured sources with their last crawl."""
    from zoneinfo import ZoneInfo

    application = open_app(ctx, create=False)
    tz = ZoneInfo(application.config.digest.timezone)
    try:
        last = application.repository.last_runs()
    finally:
        application.close()
    rows = source_records(application.config.sources, last, [t.name for t in application.config.topics], tz)
    if json_output:
        for row in rows:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
        return
    table = Table(title=f"sources (times in {tz})")
    for column in ("name", "kind", "every", "enabled", "last run", "status", "new", "url"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], row["kind"], row["every"], "yes" if row["enabled"] else "no", row["last_run"] or "never",
            row["last_status"] or "-", str(row["last_new"] if row["last_new"] is not None else "-"), row["url"],
        )
    out.print(table)


def extract(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(help="Files or http(s) URLs.", metavar="FILE_OR_URL...")],
    url: Annotated[str | None, typer.Option(metavar="URL", help="The page's URL when extracting a file (for links and dates).")] = None,
    content_type: Annotated[str | None, typer.Option(metavar="TYPE", help="Content-Type header to assume for a file.")] = None,
    allow_private: Annotated[bool, typer.Option(help="Allow fetching private/loopback addresses.")] = False,
) -> None:
    """Print what the extractor gets from pages, as JSON (one object per line)."""
    from crawler.extract.article import extract_article

    if any(not target.strip() for target in targets):  # `extract ""` read the current folder: "Is a directory"
        raise typer.BadParameter("an empty argument is neither a file nor a URL", param_hint="'FILE_OR_URL...'")
    remote = [t for t in targets if t.startswith(("http://", "https://"))]
    fetched = {page.url: page for page in _fetch(ctx, remote, allow_private)} if remote else {}
    failures = 0
    for target in targets:
        try:
            if target in fetched:
                page = fetched[target]
                if page.error is not None or page.final_url is None:
                    # The policy speaks to a config file; here the switch is a flag.
                    reason = str(page.error).replace(
                        "set allow_private = true on the source to allow it", "pass --allow-private to allow it"
                    )
                    raise MediawatchError(reason if reason.startswith(target) else f"{target}: {reason}")
                body, header, final_url = page.body, page.content_type, page.final_url
            elif "://" in target:
                raise MediawatchError(f"{target}: only http(s) URLs and local files can be extracted")
            else:
                path = Path(target)
                try:
                    body = path.read_bytes()
                except OSError as exc:
                    raise MediawatchError(f"{target}: cannot read: {exc.strerror}") from exc
                header, final_url = content_type, url or path.resolve().as_uri()
                body = _gunzip_saved(target, body)
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


def _gunzip_saved(target: str, body: bytes) -> bytes:
    """A saved page's bytes, decompressed when the file is gzip (`page.html.gz`), as a fetched page's are.

    Bounded like a fetched page: the default `[crawler] max_page_bytes`.
    """
    from crawler.config import CrawlerConfig
    from crawler.fetch.middleware import looks_gzipped

    if not looks_gzipped(body):
        return body
    from scrapy.utils.gz import gunzip

    limit = CrawlerConfig().max_page_bytes
    try:
        return gunzip(body, max_size=limit)
    except (OSError, EOFError, struct.error, zlib.error) as exc:
        raise MediawatchError(f"{target}: starts like gzip but does not decompress ({exc}); nothing extracted") from exc
    except ValueError as exc:  # scrapy's size check
        raise MediawatchError(f"{target}: decompresses to more than {limit:,} bytes; nothing extracted") from exc


def _fetch(ctx: typer.Context, urls: list[str], allow_private: bool) -> list[Any]:
    """Fetch through the crawler's own stack, with the configuration's [crawler] settings when there is one."""
    from crawler.config import CrawlerConfig
    from crawler.fetch.reactor import run_on_reactor
    from crawler.fetch.single import fetch_pages
    from scheduler.config import find_config_file

    try:
        find_config_file(options(ctx).config_path)
    except ConfigError:
        crawler_config = CrawlerConfig()  # extract works without a configuration file
    else:
        crawler_config = load_config(ctx).crawler
    # `extract` reports each refused URL itself, naming its flag; the fetch policy's warning would say
    # it first and advise a config key `extract` does not read. Kept at --log-level info or debug.
    policy_log = logging.getLogger("crawler.fetch.middleware")
    level = policy_log.level
    if not policy_log.isEnabledFor(logging.INFO):
        policy_log.setLevel(logging.ERROR)
    try:
        return run_on_reactor(lambda: fetch_pages(urls, crawler_config, allow_private=allow_private))
    finally:
        policy_log.setLevel(level)
