"""`mediawatch digest build|send` and `mediawatch digests`: previewing, sending and listing digests.

Printing happens here and nowhere else in the digest code. Project errors are left
to `scheduler.cli.main`, which prints them on one line and exits 1 (2 for
configuration errors).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from scheduler.cli.common import MAX_LISTED, Table, chosen_topic, err, not_empty, open_app, out, table_note
from scheduler.records import digest_record
from storage.errors import DeliveryError

digest_app = typer.Typer(help="Preview and send digests.", no_args_is_help=True)

TopicOption = Annotated[
    str | None, typer.Option("--topic", "-t", metavar="TOPIC", help="Only this topic (default: every configured topic).")
]


def register(app: typer.Typer) -> None:
    """Add `digest build|send` and `digests` to the main app."""
    app.add_typer(digest_app, name="digest")
    app.command("digests")(digests)


def _topics(ctx: typer.Context, application: Any, topic: str | None) -> list[str]:
    if topic is not None:
        return [chosen_topic(ctx, application.config, topic).name]
    return [t.name for t in application.config.topics]


def _preview_folder(value: str) -> str:
    """`--out` names a folder: one that is a file, or lies under one, is refused before any work.

    It said only "notes.txt: File exists" (mkdir's words, exit 1), naming neither the option
    nor what it takes.
    """
    not_empty(value)
    blocker = next((p for p in (Path(value), *Path(value).parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise typer.BadParameter(f"{blocker} is a file; --out takes a folder for the preview files (made if missing)")
    return value


@digest_app.command("build")
def build(
    ctx: typer.Context,
    topic: TopicOption = None,
    out_name: Annotated[str, typer.Option("--out", metavar="DIR", help="Folder for the preview files (made if missing).",
                                          callback=_preview_folder)] = "digest-preview",
) -> None:
    """Render the next digest to HTML and text files without sending or recording anything."""
    out_dir = Path(out_name)
    from digest.archive import topic_slug
    from digest.service import build_digest

    application = open_app(ctx, create=False)
    try:
        context = application.digest_context()
        rendered = [build_digest(context, name) for name in _topics(ctx, application, topic)]
    finally:
        application.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    for digest in rendered:
        stem = out_dir / f"{topic_slug(digest.topic)}-preview"
        html_path, text_path = stem.with_suffix(".html"), stem.with_suffix(".txt")
        html_path.write_text(digest.html, encoding="utf-8")
        text_path.write_text(digest.text, encoding="utf-8")
        err.print(
            f"{digest.topic}: {digest.article_count} new article(s) from {digest.outlet_count} outlet(s)"
            f"{_change_counts(digest.view.removed_count, digest.view.edited_count)}",
            markup=False,
        )
        out.print(str(html_path), markup=False)
        out.print(str(text_path), markup=False)


@digest_app.command("send")
def send(
    ctx: typer.Context,
    topic: TopicOption = None,
    retries: Annotated[int, typer.Option(min=0, max=10, metavar="N", help="Retries after a temporary SMTP failure.")] = 2,
) -> None:
    """Build, send, archive and record the next digest of each topic."""
    from digest.deliver import SmtpMailer
    from digest.service import send_digest

    application = open_app(ctx)
    failed = False
    try:
        context = application.digest_context()
        mailer = SmtpMailer(context.settings.smtp, attempts=retries + 1)
        for name in _topics(ctx, application, topic):
            try:
                outcome = send_digest(context, name, sender=mailer)
            except DeliveryError as exc:
                # One line per topic that was not sent, then exit 1: nothing says it twice.
                failed = True
                err.print(f"mediawatch: digest for {name!r} not sent: {exc}; its articles stay pending for the next send",
                          markup=False)
                continue
            _print_outcome(outcome)
    finally:
        application.close()
    if failed:
        raise typer.Exit(1)


def _print_outcome(outcome: Any) -> None:
    for done in outcome.retried:  # deliveries an earlier digest still owed (a channel that was down)
        out.print(f"{outcome.topic}: delivered on retry: {done}", markup=False)
    if outcome.status == "empty":
        out.print(f"{outcome.topic}: nothing new; nothing sent", markup=False)
    else:
        counts = f"{outcome.article_count} article(s){_change_counts(outcome.removed_count, outcome.edited_count)}"
        if outcome.status == "sent":
            channels = f" and channel(s) {', '.join(outcome.channels)}" if outcome.channels else ""
            what = f"sent digest #{outcome.digest_id} ({counts}) to {len(outcome.recipients)} recipient(s){channels}"
        else:
            what = (f"archived digest #{outcome.digest_id} ({counts}); no recipients or channels for this topic "
                    "(the first ones you add get these articles too)")
        out.print(f"{outcome.topic}: {what}", markup=False)
        out.print(f"  {outcome.archive_html}", markup=False)
    for warning in outcome.warnings:
        err.print(f"  warning: {warning}", markup=False)


def _owed(deliveries: list[Any]) -> str:
    """Channels that have not confirmed this digest yet, e.g. "newsroom failed, email unconfirmed"."""
    return ", ".join(f"{c.channel} {c.status}" for c in deliveries if c.status != "sent")


def _change_counts(removed: int, edited: int) -> str:
    return "".join(f", {n} {label}" for n, label in ((removed, "removed"), (edited, "edited")) if n)


def digests(
    ctx: typer.Context,
    topic: TopicOption = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LISTED, metavar="N", help="At most this many.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List past digests, newest first."""
    from zoneinfo import ZoneInfo

    from storage.ledger import DigestLedger

    application = open_app(ctx, create=False)
    tz = ZoneInfo(application.config.digest.timezone)
    try:
        if topic is not None:
            chosen_topic(ctx, application.config, topic)
        ledger = DigestLedger(application.engine)
        rows = ledger.list_digests(topic, limit=limit)
        channels = {d.id: ledger.deliveries(d.id) for d in rows if d.id is not None}
        archive_only = ledger.archive_only([d.id for d in rows if d.id is not None])
    finally:
        application.close()
    if json_output:
        for d in rows:
            record = digest_record(d, channels.get(d.id or 0, []))
            out.print(json.dumps(record, ensure_ascii=False), markup=False)
        return
    table = Table(title=f"digests ({len(rows)}), times in {tz}")
    for column in ("id", "topic", "status", "created", "sent", "articles", "note"):
        table.add_column(column, justify="right" if column in ("id", "articles") else "left")
    for d in rows:
        table.add_row(
            str(d.id), d.topic, "archived" if d.id in archive_only else d.status, d.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            d.sent_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d.sent_at else "-", str(d.article_count),
            table_note(d.error or _owed(channels.get(d.id or 0, [])) or d.message_id or ""),
        )
    out.print(table)
