"""Plain-dict records of what mediawatch stores: one shape for the CLI's `--json` and the web API.

Pure functions (stored rows in, dicts out). `mediawatch articles --json`,
`mediawatch sources --json`, `mediawatch digests --json` and the console's
`/api/...` endpoints all build their records here, so a script can switch between
them without a second parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from storage.durations import format_duration

if TYPE_CHECKING:  # annotations only: importing them would load the ORM into every CLI start-up
    from zoneinfo import ZoneInfo

    from crawler.config import SourceConfig
    from storage.models import CrawlRun, Digest
    from storage.storylines import StorylineMember, StorylineSummary


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def article_records(stored: Sequence[Any], membership: Mapping[int, list[dict[str, object]]]) -> list[dict[str, Any]]:
    """Stored articles (`StoredArticle`) as dicts, one per article, with the digests each went into."""
    records = []
    for item in stored:
        a = item.article
        records.append(
            {
                "id": a.id,
                "url": a.url,
                "source": a.source_name,
                "title": a.title,
                "author": a.author,
                "published": _iso(a.published_at),
                "fetched": a.fetched_at.isoformat(),
                "language": a.language,
                "content_hash": a.content_hash,
                "storyline_id": a.storyline_id,
                "removed_at": _iso(a.removed_at),
                # How it was found: listed | search | rsshub | cited (by the article cited_by names).
                "discovered_via": a.discovered_via,
                "outlet": a.outlet,
                "new_outlet": a.new_outlet,
                "cited_by": a.cited_by_id,
                "topics": [
                    {"topic": m.topic, "relevant": m.relevant, "score": m.score, "matched": list(m.matched)}
                    for m in item.matches
                ],
                "digests": membership.get(a.id or 0, []),
                "text": a.text,
            }
        )
    return records


def article_list_records(stored: Sequence[Any]) -> list[dict[str, Any]]:
    """The shape of `mediawatch articles --json` (no digest membership)."""
    records = article_records(stored, {})
    for record in records:
        record.pop("digests")
    return records


def source_records(
    sources: Iterable[SourceConfig], last_runs: Mapping[str, CrawlRun], all_topics: Sequence[str], tz: ZoneInfo
) -> list[dict[str, Any]]:
    """Configured sources with their last crawl, times in `tz` (the shape of `mediawatch sources --json`)."""
    rows = []
    for s in sources:
        run = last_runs.get(s.name)
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "url": s.url,
                "every": format_duration(s.every),
                "enabled": s.enabled,
                "topics": s.topics or list(all_topics),
                "last_run": run.started_at.astimezone(tz).isoformat(timespec="seconds") if run else None,
                "last_status": run.status if run else None,
                "last_new": run.new if run else None,
            }
        )
    return rows


def digest_record(d: Digest, deliveries: Sequence[Any] = ()) -> dict[str, Any]:
    """One digest from the ledger with its per-channel deliveries (the shape of `mediawatch digests --json`)."""
    return {
        "id": d.id, "topic": d.topic, "status": d.status, "created": d.created_at.isoformat(),
        "period_start": _iso(d.period_start), "period_end": d.period_end.isoformat(), "sent": _iso(d.sent_at),
        "articles": d.article_count, "message_id": d.message_id, "error": d.error,
        "deliveries": [
            {"channel": c.channel, "status": c.status, "attempts": c.attempts, "error": c.error} for c in deliveries
        ],
    }


def run_record(run: CrawlRun) -> dict[str, Any]:
    """One crawl run of one source."""
    return {
        "id": run.id, "source": run.source_name, "trigger": run.trigger, "started": run.started_at.isoformat(),
        "finished": _iso(run.finished_at), "status": run.status, "found": run.found, "new": run.new,
        "duplicate": run.duplicate, "failed": run.failed, "http_status": run.http_status, "error": run.error,
    }


def storyline_record(summary: StorylineSummary, members: Sequence[StorylineMember] | None = None) -> dict[str, Any]:
    """One storyline; with `members`, every copy in the order the outlets reported it."""
    record: dict[str, Any] = {
        "id": summary.id,
        "first_article_id": summary.first_article_id,
        "first_source": summary.first_source_name,
        "first_reported": summary.first_reported_at.isoformat(),
        "last_joined": summary.last_joined_at.isoformat(),
        "article_count": summary.article_count,
        "sources": list(summary.sources),
    }
    if members is not None:
        record["members"] = [
            {
                "article_id": m.article_id, "source": m.source_name, "title": m.title, "url": m.url,
                "published": _iso(m.published_at), "fetched": m.fetched_at.isoformat(),
                "after_first_seconds": int((m.reported_at - summary.first_reported_at).total_seconds()),
            }
            for m in members
        ]
    return record
