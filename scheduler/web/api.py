"""The JSON API: what the pages show, for other tools, behind the same sign-in.

The records are built by `scheduler.records`, the functions the CLI's `--json`
output uses, so `/api/articles` lists exactly what `mediawatch articles --json`
prints (one object per line there, a list here), `/api/sources` what
`mediawatch sources --json` prints and `/api/status` what `mediawatch status --json`
prints. Scripts can sign in with HTTP Basic auth (the console password, any user name).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scheduler.records import (
    article_list_records,
    article_records,
    digest_record,
    run_record,
    source_records,
    storyline_record,
)
from scheduler.web.app import console_of, path_id
from scheduler.web.pages import IGNORED, MAX_STORYLINE_MIN, parse_filter
from storage.columns import MAX_ID
from storage.ledger import DigestLedger
from storage.storylines import StorylineStore


def routes() -> list[Route]:
    return [
        Route("/api/articles", articles),
        Route("/api/articles/{article_id:int}", article),
        Route("/api/storylines", storylines),
        Route("/api/storylines/{storyline_id:int}", storyline),
        Route("/api/sources", sources),
        Route("/api/status", status),
        Route("/api/runs", runs),
        Route("/api/digests", digests),
    ]


def _json(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status_code)


class BadQuery(Exception):
    """A query parameter that cannot be read: a 400 with what is wrong, as the CLI refuses the same mistake."""


async def bad_query(request: Request, exc: Exception) -> Response:
    return _json({"error": str(exc)}, 400)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """The whole number `name` (default when absent), brought into [low, high]; BadQuery when it is not one."""
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return default
    try:
        return max(low, min(int(value), high))
    except ValueError:
        raise BadQuery(f"{name}: not a whole number: {value!r}") from None


async def articles(request: Request) -> Response:
    """Query string as on the coverage page (q, topic, source, language, dates, min_score, state, all)."""
    console = console_of(request)
    parsed = parse_filter(request)
    if parsed.errors:
        # The page reports a bad filter and ignores it; the API refuses the request, so it says no "ignored".
        return _json({"error": "; ".join(error.removesuffix(IGNORED) for error in parsed.errors)}, 400)
    limit = _int(request, "limit", console.page_size, 1, 500)
    offset = _int(request, "offset", 0, 0, 10_000_000)
    page = await run_in_threadpool(console.queries.find_articles, parsed.wanted, offset=offset, limit=limit)
    return _json({
        "articles": article_list_records(page.items),
        "storyline_sizes": {str(k): v for k, v in page.storyline_sizes.items()},
        "offset": offset, "limit": limit, "has_more": page.has_more, "terms": list(page.terms),
        "excluded": list(page.excluded),
    })


async def article(request: Request) -> Response:
    """One article as `mediawatch export` writes it (with digests), plus its earlier versions."""
    console = console_of(request)
    article_id = path_id(request, "article_id", "article")
    stored = await run_in_threadpool(console.queries.get_article, article_id)
    if stored is None:
        return _json({"error": f"no article {article_id}"}, 404)
    membership = await run_in_threadpool(console.app.repository.digest_membership, [article_id])
    record = article_records([stored], membership)[0]
    versions = await run_in_threadpool(console.app.repository.article_versions, article_id)
    record["versions"] = [
        {"replaced_at": v.captured_at.isoformat(), "title": v.title, "text": v.text, "content_hash": v.content_hash}
        for v in versions
    ]
    return _json(record)


async def storylines(request: Request) -> Response:
    console = console_of(request)
    store = StorylineStore(console.app.engine)
    min_articles = _int(request, "min", 2, 1, MAX_STORYLINE_MIN)
    limit = _int(request, "limit", 100, 1, 1000)
    found = await run_in_threadpool(lambda: store.list_storylines(min_articles=min_articles, limit=limit))
    return _json({"storylines": [storyline_record(s) for s in found]})


async def storyline(request: Request) -> Response:
    console = console_of(request)
    store = StorylineStore(console.app.engine)
    storyline_id = path_id(request, "storyline_id", "storyline")
    summary = await run_in_threadpool(store.get_storyline, storyline_id)
    if summary is None:
        return _json({"error": f"no storyline {storyline_id}"}, 404)
    members = await run_in_threadpool(store.storyline_members, storyline_id)
    return _json(storyline_record(summary, members))


async def sources(request: Request) -> Response:
    console = console_of(request)
    config = console.app.config
    last = await run_in_threadpool(console.app.repository.last_runs)
    return _json({"sources": source_records(config.sources, last, [t.name for t in config.topics], console.tz)})


async def status(request: Request) -> Response:
    from scheduler.status import build_status

    console = console_of(request)
    report = await run_in_threadpool(build_status, console.app)
    return _json(report.as_dict())


async def runs(request: Request) -> Response:
    console = console_of(request)
    source = request.query_params.get("source") or None
    limit = _int(request, "limit", 50, 1, 500)
    before = request.query_params.get("before")
    before_id = int(before) if before and before.isdigit() else None
    if before_id is not None and before_id > MAX_ID:
        before_id = None  # every id is before it, and the query could not bind it
    found = await run_in_threadpool(
        lambda: console.queries.recent_runs(source=source, limit=limit, before_id=before_id)
    )
    return _json({"runs": [run_record(r) for r in found]})


async def digests(request: Request) -> Response:
    console = console_of(request)
    topic = request.query_params.get("topic") or None
    limit = _int(request, "limit", 50, 1, 500)
    ledger = DigestLedger(console.app.engine)
    rows = await run_in_threadpool(lambda: ledger.list_digests(topic, limit=limit))
    deliveries = await run_in_threadpool(lambda: {d.id: ledger.deliveries(d.id) for d in rows if d.id is not None})
    return _json({"digests": [digest_record(d, deliveries.get(d.id or 0, [])) for d in rows]})
