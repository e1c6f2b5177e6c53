"""`mediawatch classify`: score sample articles against a topic before crawling.

Reads JSON Lines (`title`, `text`, optional `url`, `lang`, `published`) from a file or
stdin and prints one JSON line per article with `relevant`, `score` and `matched` (the
terms found and the seed similarity). `published` (2025-02-11, 2025-02 or 2025) lets a
topic's `since` rule out a page from before its story began, as a crawl does. A line that is not a usable article is reported on
stderr with its number and skipped; the exit status is then 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from crawler.topics.dates import latest_day
from scheduler.cli.common import chosen_topic, load_config, not_empty
from storage.errors import MediawatchError


class BadLine(MediawatchError):
    """One input line that is not a usable article."""


def parse_article(line: bytes | str) -> dict[str, Any]:
    """The article object on one JSON Lines line; BadLine says what is wrong with it."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadLine(f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})") from None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise BadLine(f"expected a JSON object, got {type(row).__name__}")
    for key in ("title", "text"):
        if key not in row:
            raise BadLine(f"missing field {key!r}")
    for key in ("title", "text", "url", "lang", "published"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise BadLine(f"field {key!r} must be a string, got {type(row[key]).__name__}")
    if not (row["title"] or "").strip() and not (row["text"] or "").strip():
        raise BadLine("title and text are both empty")
    if (row.get("published") or "").strip() and latest_day(row["published"]) is None:
        raise BadLine(f"field 'published' is not a date (2025-02-11, 2025-02 or 2025): {row['published']!r}")
    return row


def numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) for each non-blank line, a leading byte-order mark removed."""
    for number, raw in enumerate(handle, 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if raw.strip():
            yield number, raw


@contextmanager
def _open_input(source: str) -> Iterator[IO[bytes]]:
    """The file, or stdin for "-", as bytes (decoded line by line, so one bad line is skipped)."""
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        with Path(source).open("rb") as handle:
            yield handle
    except OSError as exc:
        raise MediawatchError(f"{source}: cannot read: {exc.strerror or exc}") from exc


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command()
    def classify(
        ctx: typer.Context,
        source: Annotated[
            str,
            typer.Argument(
                metavar="[FILE|-]", help="JSON Lines with title, text (and url, lang, published); - for stdin.",
                callback=not_empty,
            ),
        ] = "-",
        topic: Annotated[
            str | None, typer.Option("--topic", "-t", metavar="TOPIC", help="Topic to score against (default: the first).")
        ] = None,
    ) -> None:
        """Score articles (JSON Lines) against a topic: one JSON line out per article in."""
        from crawler.topics.matcher import build_matcher

        config = load_config(ctx)
        matcher = build_matcher(chosen_topic(ctx, config, topic), config.folder)
        label = "<stdin>" if source == "-" else source
        bad = 0
        with _open_input(source) as handle:
            for number, line in numbered_lines(handle):
                try:
                    row = parse_article(line)
                except BadLine as exc:
                    bad += 1
                    typer.echo(f"mediawatch: {label}:{number}: {exc}", err=True)
                    continue
                match = matcher.match(row["title"] or "", row["text"] or "", latest_day(row.get("published")))
                out: dict[str, Any] = {"line": number}
                if row.get("url"):
                    out["url"] = row["url"]
                out.update(
                    topic=match.topic, relevant=match.relevant, score=match.score, matched=list(match.matched)
                )
                typer.echo(json.dumps(out, ensure_ascii=False))
        if bad:
            typer.echo(f"mediawatch: {bad} bad line(s) skipped", err=True)
            raise typer.Exit(1)
