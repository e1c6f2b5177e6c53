"""`mediawatch run` (the daemon) and `mediawatch status`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from scheduler.cli.common import Table, load_config, open_app, out


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("status")(status)


def run(
    ctx: typer.Context,
    digests: Annotated[bool, typer.Option("--digests/--no-digests", help="Also send digests on schedule (one daemon should).")] = True,
) -> None:
    """Run the scheduler daemon: crawls on each source's timetable, digests on schedule. Stop with SIGTERM/Ctrl-C."""
    from crawler.fetch.reactor import run_on_reactor
    from scheduler.daemon import run_daemon

    application = open_app(ctx)
    try:
        run_on_reactor(lambda: run_daemon(application, schedule_digests=digests))
    finally:
        application.close()


def status(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on one line, for scripts.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the daemon is not running, a source is unhealthy or a topic's latest digest failed.")] = False,
) -> None:
    """Show each source's health, last and next run, and the digest timetable."""
    from scheduler.status import status_of

    report = status_of(load_config(ctx))
    if json_output:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), markup=False)
    else:
        out.print(f"database: {report.database} ({report.database_origin})", markup=False)
        daemon = (f"running (pid {report.daemon_pid}, heartbeat {report.daemon_heartbeat})" if report.daemon_running
                  else f"not running (pid {report.daemon_pid} last seen {report.daemon_heartbeat})"
                  if report.daemon_heartbeat else "not running")
        out.print(f"daemon: {daemon}", markup=False)
        table = Table(title=f"sources (times in {report.timezone})")
        for column in ("source", "health", "last run", "status", "found", "new", "dup", "failed", "next run", "why"):
            table.add_column(column)
        for s in report.sources:
            health = "disabled" if not s.enabled else ("ok" if s.healthy else "UNHEALTHY")
            table.add_row(
                s.name, health, s.last_run or "never", s.last_status or "-", _n(s.last_found), _n(s.last_new),
                _n(s.last_duplicate), _n(s.last_failed), s.next_run or "-", s.note or "",
            )
        out.print(table)
        out.print(f"last digest sent: {report.last_digest_sent or 'never'}", markup=False)
        if report.last_digest_archived:
            out.print(f"last digest archived: {report.last_digest_archived} (no recipients or channels)", markup=False)
        out.print(f"next digest due:  {report.next_digest_due or '-'}", markup=False)
        for failing in report.failing_digests:
            out.print(f"digest failing: {failing.topic}, last tried {failing.tried_at}: {failing.error or 'no error recorded'}",
                      markup=False)
    if check and (not report.daemon_running or report.unhealthy or report.failing_digests):
        raise typer.Exit(1)


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)
