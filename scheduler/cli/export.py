"""`mediawatch articles` and `mediawatch export`: stored articles, with scores, storylines and digests."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import typer

from scheduler.cli.common import (
    MAX_LISTED,
    FetchedSinceOption,
    SinceOption,
    TopicOption,
    chosen_sources,
    chosen_topic,
    not_empty,
    open_app,
    out,
    parse_since,
    print_articles,
)
from scheduler.records import article_list_records, article_records


def register(app: typer.Typer) -> None:
    app.command("articles")(articles)
    app.command("export")(export)


CSV_COLUMNS = (
    "id", "url", "source", "title", "author", "published", "fetched", "language", "content_hash", "storyline_id",
    "removed_at", "discovered_via", "outlet", "new_outlet", "cited_by", "topics", "scores", "matched", "digests", "text",
)


# A cell starting with one of these is a formula to Excel and LibreOffice; scraped text can start so.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: Any) -> Any:
    """A string a spreadsheet would run as a formula, prefixed with an apostrophe so it shows as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_row(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: record.get(k) for k in CSV_COLUMNS}
    row["topics"] = ";".join(t["topic"] for t in record["topics"] if t["relevant"])
    row["scores"] = ";".join(f"{t['topic']}={t['score']}" for t in record["topics"])
    row["matched"] = ";".join(",".join(t["matched"]) for t in record["topics"] if t["matched"])
    row["digests"] = ";".join(str(d["digest"]) for d in record["digests"])
    return {k: _as_text(v) for k, v in row.items()}


def articles(
    ctx: typer.Context,
    topic: Annotated[str | None, TopicOption] = None,
    since: Annotated[str | None, SinceOption] = None,
    fetched_since: Annotated[str | None, FetchedSinceOption] = None,
    source: Annotated[str | None, typer.Option("--source", "-s", metavar="NAME", help="Only articles from this source.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", "-q", metavar="WORDS", help="Only articles whose title or body has every word of this query (either Chinese script)."
    )] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LISTED, metavar="N", help="At most this many.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line, with text.")] = False,
) -> None:
    """List stored articles, newest first, with why they matched."""
    application = open_app(ctx, create=False)
    tz = ZoneInfo(application.config.digest.timezone)
    try:
        # `is not None`: an empty name (`-t "$UNSET"`) is refused like any unknown one, not a filter matching nothing.
        if topic is not None:
            chosen_topic(ctx, application.config, topic)
        # A source removed from the configuration still names the articles it stored.
        if source is not None and not application.repository.has_articles_from(source):
            chosen_sources(ctx, application.config, [source])
        if search is not None:
            # Imported here: the ORM queries would load with every command (status's start-up, --help).
            from storage.console import ConsoleQueries, CoverageFilter
            from storage.search import SearchIndex

            # The console's search, so both tools answer alike: words, not a substring, and 六小龍 finds 六小龙.
            analyzer = application.repository.analyzer
            if analyzer is not None:
                # Articles stored before the index existed (or by a process without it) are found too.
                SearchIndex(application.engine, analyzer).backfill()
            queries = ConsoleQueries(application.engine, analyzer, clock=application.clock)
            page = queries.find_articles(CoverageFilter(
                topic=topic, relevant_only=topic is not None, source=source,
                published_from=parse_since(since, tz=tz), fetched_from=parse_since(fetched_since, tz=tz), query=search,
            ), limit=limit)
            if page.searched_nothing:
                # Only punctuation, say: "articles (0)" read as "no coverage"; the console says so too.
                raise typer.BadParameter(f"{search!r} has no word to search for", ctx=ctx, param_hint="'--search' / '-q'")
            stored, more = page.items, page.has_more
        else:
            stored = application.repository.list_articles(
                topic=topic, since=parse_since(fetched_since, tz=tz), published_since=parse_since(since, tz=tz),
                source=source,
                limit=limit + 1,  # one more than shown: whether the list was cut short
            )
            stored, more = stored[:limit], len(stored) > limit
    finally:
        application.close()
    if json_output:
        for record in article_list_records(stored):
            out.print(json.dumps(record, ensure_ascii=False), markup=False)
        return
    heading = f"articles (newest {len(stored)}; more with a higher --limit)" if more else f"articles ({len(stored)})"
    print_articles(stored, heading, tz)


def export(
    ctx: typer.Context,
    fmt: Annotated[Literal["jsonl", "csv"], typer.Option("--format", metavar="jsonl|csv", help="jsonl or csv.")] = "jsonl",
    topic: Annotated[str | None, TopicOption] = None,
    since: Annotated[str | None, SinceOption] = None,
    fetched_since: Annotated[str | None, FetchedSinceOption] = None,
    output_name: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write to a file instead of stdout ('-': stdout).",
                                                    callback=not_empty)] = None,
) -> None:
    """Write stored articles (with scores, storylines and digest membership) as JSON Lines or CSV."""
    # "-" is stdout, as `classify -` reads stdin: it used to write a file named "-".
    output = Path(output_name) if output_name not in (None, "-") else None
    application = open_app(ctx, create=False)
    if output is not None:
        try:
            _refuse_own_files(output, application.config)
        except typer.BadParameter:
            application.close()
            raise
    tz = ZoneInfo(application.config.digest.timezone)
    try:
        if topic is not None:
            chosen_topic(ctx, application.config, topic)
        stored = application.repository.list_articles(
            topic=topic, since=parse_since(fetched_since, tz=tz), published_since=parse_since(since, tz=tz),
            relevant_only=topic is not None, limit=None,
        )
        membership = application.repository.digest_membership([s.article.id for s in stored if s.article.id])
    finally:
        application.close()
    records = article_records(stored, membership)
    # A CSV file starts with the UTF-8 BOM: Excel reads a CSV without one in the system's ANSI code
    # page, turning Chinese into mojibake. Not on stdout, where another program reads it.
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    stream = output.open("w", encoding=encoding, newline="") if output else sys.stdout
    try:
        try:
            if fmt == "jsonl":
                for record in records:
                    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
                writer.writeheader()
                for record in records:
                    writer.writerow(_csv_row(record))
        finally:
            if output:
                stream.close()
    except OSError as exc:
        # A write (or the flush at close) on a full disk names no file: "No space left on device" alone.
        if output is not None and exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(output)) from exc
        raise
    if output:
        print(f"wrote {len(records)} articles to {output}", file=sys.stderr)


def _refuse_own_files(output: Path, config: Any) -> None:
    """`-o` naming the database or the configuration would truncate it: refused (exit 2), as a usage mistake."""
    from storage.sqlite import sqlite_file

    target = os.path.realpath(output)
    own: list[tuple[Path, str]] = []
    if config.path is not None:
        own.append((Path(config.path), "configuration"))
    database = sqlite_file(config.database.url)
    if database is not None:
        own += [(Path(f"{database}{suffix}"), "database") for suffix in ("", "-wal", "-shm", "-journal")]
    for path, what in own:
        if os.path.realpath(path) == target:
            raise typer.BadParameter(f"{output} is the {what} file; export would overwrite it", param_hint="'--output'")
