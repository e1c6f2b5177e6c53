"""The console's HTML pages: coverage and search, article, storylines, sources, digests, topics, login.

Handlers read with the blocking storage calls in a worker thread (`run_in_threadpool`),
so a slow query never stalls the daemon's crawls on the shared event loop.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from itertools import pairwise
from time import monotonic
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.text import headline
from scheduler.web import charts
from scheduler.web.app import DIGEST_POLICY, console_of, csrf_protected, path_id
from scheduler.web.auth import SESSION_TOKEN, client_address, session_token
from scheduler.web.crawls import crawl_notice
from storage.console import CoverageFilter
from storage.ledger import DigestLedger
from storage.models import ArticleVersion
from storage.storylines import StorylineStore


def routes() -> list[Route]:
    return [
        Route("/", coverage),
        Route("/search", search),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", csrf_protected(login), methods=["POST"]),
        Route("/logout", csrf_protected(logout), methods=["POST"]),
        Route("/articles/{article_id:int}", article),
        Route("/storylines", storylines),
        Route("/storylines/{storyline_id:int}", storyline),
        Route("/sources", sources),
        Route("/sources/{name}", source),
        Route("/sources/{name}/crawl", csrf_protected(crawl_source), methods=["POST"]),
        Route("/digests", digests),
        # A topic key may hold "/": its links quote it (%2F), but routes see the decoded path.
        # The preview's page first, as the preview's own route would take ".../page" too.
        Route("/digests/preview/{topic:path}/page", digest_preview_page),
        Route("/digests/preview/{topic:path}", digest_preview),
        Route("/digests/archive/{slug}/{name}", archived_digest),
        Route("/topics/{topic:path}", topic_charts),
    ]


async def not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", None) or "Not found"
    if request.url.path.startswith("/api/"):
        from starlette.responses import JSONResponse

        return JSONResponse({"error": detail}, status_code=404)
    console = console_of(request)
    if console.user(request) is None:
        return PlainTextResponse("not found", status_code=404)
    return console.render(request, "error.html.j2", status_code=404, title="Not found", message=detail)


# -- filters ----------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedFilter:
    wanted: CoverageFilter
    page: int
    errors: list[str]
    params: dict[str, str]  # the query string as given, to refill the form and build page links


IGNORED = "; ignored"  # how the page ends the note on a filter value it could not use


def _day(value: str, name: str, errors: list[str], tz: Any, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name}: {value!r} is not a date (YYYY-MM-DD){IGNORED}")
        return None
    try:
        # The form's "to" day is inclusive: the bound is the start of the next day.
        return (datetime.combine(day, time(0), tzinfo=tz) + timedelta(days=1 if end else 0)).astimezone(UTC)
    except OverflowError:
        # 0001-01-01 starts before the year 1 in UTC east of Greenwich, and 9999-12-31 ends after
        # 9999 (the date picker offers both): a real date, and nothing is stored beyond the
        # calendar's ends, so they are the same bound. Not None: that would also let articles
        # without a publication date through a published range.
        return datetime.max.replace(tzinfo=UTC) if day.year == MAXYEAR else datetime.min.replace(tzinfo=UTC)


MAX_PAGE = 10_000


def parse_filter(request: Request) -> ParsedFilter:
    """The coverage filter from the query string; a bad value is reported and ignored, never a 500."""
    console = console_of(request)
    q = request.query_params
    keys = ("q", "topic", "source", "language", "published_from", "published_to", "fetched_from", "fetched_to",
            "min_score", "state", "all")
    params = {k: q.get(k, "").strip()[:200] for k in keys}
    errors: list[str] = []
    topic = params["topic"] or None
    if topic is not None and topic not in {t.name for t in console.app.config.topics}:
        errors.append(f"topic: no topic named {topic!r}{IGNORED}")
        topic = None
    source = params["source"] or None
    if source is not None and source not in {s.name for s in console.app.config.sources}:
        errors.append(f"outlet: no source named {source!r}{IGNORED}")
        source = None
    min_score = None
    if params["min_score"]:
        try:
            min_score = float(params["min_score"])
            if not 0 <= min_score <= 1:
                raise ValueError
        except ValueError:
            errors.append(f"relevance: {params['min_score']!r} is not a number from 0 to 1{IGNORED}")
            min_score = None
    state = params["state"]
    removed = edited = None
    if state == "removed":
        removed = True
    elif state == "edited":
        edited = True
    elif state == "live":
        removed = False
    elif state:
        errors.append(f"state: {state!r} is not one of removed, edited, live{IGNORED}")
    try:
        # A page past the end is brought back to the last one (`_coverage`); the cap keeps the
        # OFFSET that finds out bounded however large the number typed.
        page = max(1, min(int(q.get("page", "1")), MAX_PAGE))
    except ValueError:
        page = 1
    tz = console.tz
    wanted = CoverageFilter(
        topic=topic,
        relevant_only=params["all"] != "1",
        source=source,
        language=params["language"] or None,
        published_from=_day(params["published_from"], "published from", errors, tz),
        published_to=_day(params["published_to"], "published to", errors, tz, end=True),
        fetched_from=_day(params["fetched_from"], "fetched from", errors, tz),
        fetched_to=_day(params["fetched_to"], "fetched to", errors, tz, end=True),
        min_score=min_score,
        removed=removed,
        edited=edited,
        query=params["q"] or None,
    )
    return ParsedFilter(wanted, page, errors, {k: v for k, v in params.items() if v})


def page_link(params: dict[str, str], page: int, base: str = "/") -> str:
    return f"{base}?{urlencode({**params, 'page': str(page)})}"


# -- coverage and search ------------------------------------------------------------
async def coverage(request: Request) -> Response:
    return await _coverage(request, "Coverage", "/")


async def search(request: Request) -> Response:
    return await _coverage(request, "Search", "/search", searching=True)


async def _coverage(request: Request, title: str, base: str, *, searching: bool = False) -> Response:
    """The coverage list, or with `searching` the search page: there the query is always a search, and
    a blank one lists nothing ("Nothing to search for"), as one of only punctuation does; on the
    coverage list a blank search box (the filter form always sends it) is no search."""
    console = console_of(request)
    parsed = parse_filter(request)
    if searching and parsed.wanted.query is None:
        parsed = replace(parsed, wanted=replace(parsed.wanted, query=""))
    size = console.page_size
    result = await run_in_threadpool(
        console.queries.find_articles, parsed.wanted, offset=(parsed.page - 1) * size, limit=size
    )
    notice = None
    if not result.items and parsed.page > 1:
        # Past the end (an old link, a typed number): the last page is more use than an empty one.
        # Only here is the list counted; the pages themselves are found with limit + 1 rows.
        total = await run_in_threadpool(console.queries.count_articles, parsed.wanted)
        last = max(1, -(-total // size))
        if total:
            asked = request.query_params.get("page", "").strip() or str(parsed.page)  # not the capped number
            notice = f"There is no page {asked}: page {last} is the last."
            result = await run_in_threadpool(
                console.queries.find_articles, parsed.wanted, offset=(last - 1) * size, limit=size
            )
        parsed = replace(parsed, page=last)
    languages = await _languages(console)
    return console.render(
        request, "coverage.html.j2", title=title, base=base, result=result, parsed=parsed, params=parsed.params,
        languages=languages, sources=[s.name for s in console.app.config.sources], notice=notice,
        previous_link=page_link(parsed.params, parsed.page - 1, base) if parsed.page > 1 else None,
        next_link=page_link(parsed.params, parsed.page + 1, base) if result.has_more else None,
    )


LANGUAGES_TTL = 600.0  # seconds: a new language in the filter's choices can wait that long


async def _languages(console: Any) -> list[str]:
    """The language filter's choices, cached: they change rarely and cost a scan of an index."""
    cached = console.extra.get("languages")
    now = monotonic()
    if cached is not None and now - cached[0] < LANGUAGES_TTL:
        return list(cached[1])
    languages = await run_in_threadpool(console.queries.languages)
    console.extra["languages"] = (now, languages)
    return languages


# -- one article --------------------------------------------------------------------
_SENTENCE = re.compile(r"(?<=[。！？!?\n])|(?<=\.\s)")


def diff_segments(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, text) pieces turning `old` into `new`, sentence by sentence: kind is same, added or removed."""
    before = [s for s in _SENTENCE.split(old) if s]
    after = [s for s in _SENTENCE.split(new) if s]
    segments: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(before[a1:a2])))
            continue
        if a2 > a1:
            segments.append(("removed", "".join(before[a1:a2])))
        if b2 > b1:
            segments.append(("added", "".join(after[b1:b2])))
    return segments


def version_diffs(versions: list[ArticleVersion], current_title: str, current_text: str) -> list[dict[str, Any]]:
    """Each kept version against the one that replaced it, newest change first."""
    chain: list[tuple[str, str, datetime | None]] = [(v.title, v.text, v.captured_at) for v in versions]
    chain.append((current_title, current_text, None))
    out = []
    for (old_title, old_text, replaced_at), (new_title, new_text, _) in pairwise(chain):
        out.append({
            "replaced_at": replaced_at, "old_title": old_title, "new_title": new_title,
            "segments": diff_segments(old_text, new_text),
        })
    return list(reversed(out))


async def article(request: Request) -> Response:
    console = console_of(request)
    article_id = path_id(request, "article_id", "article")
    stored = await run_in_threadpool(console.queries.get_article, article_id)
    if stored is None:
        raise HTTPException(404, f"no article {article_id}")
    a = stored.article
    versions = await run_in_threadpool(console.app.repository.article_versions, article_id)
    store = StorylineStore(console.app.engine)
    members = await run_in_threadpool(store.storyline_members, a.storyline_id) if a.storyline_id else []
    membership = await run_in_threadpool(console.app.repository.digest_membership, [article_id])
    return console.render(
        request, "article.html.j2", title=headline(a.title), stored=stored, a=a, diffs=version_diffs(versions, a.title, a.text),
        members=members, digests=membership.get(article_id, []),
    )


# -- storylines ----------------------------------------------------------------------
MAX_STORYLINE_MIN = 10_000  # a larger "min" would overflow the query and can only list nothing


async def storylines(request: Request) -> Response:
    console = console_of(request)
    try:
        min_articles = max(1, min(int(request.query_params.get("min", "2")), MAX_STORYLINE_MIN))
    except ValueError:
        min_articles = 2
    store = StorylineStore(console.app.engine)
    found = await run_in_threadpool(lambda: store.list_storylines(min_articles=min_articles, limit=100))
    titles = {}
    if found:
        firsts = await run_in_threadpool(
            lambda: {m.article_id: m.title for s in found for m in store.storyline_members(s.id)[:1]}
        )
        titles = {s.id: firsts.get(s.first_article_id, "") for s in found}
    return console.render(request, "storylines.html.j2", title="Storylines", storylines=found, titles=titles,
                          min_articles=min_articles)


async def storyline(request: Request) -> Response:
    console = console_of(request)
    storyline_id = path_id(request, "storyline_id", "storyline")
    store = StorylineStore(console.app.engine)
    summary = await run_in_threadpool(store.get_storyline, storyline_id)
    if summary is None:
        raise HTTPException(404, f"no storyline {storyline_id}")
    members = await run_in_threadpool(store.storyline_members, storyline_id)
    first = members[0].reported_at if members else summary.first_reported_at
    rows = [{"m": m, "after": charts.after_first(m.reported_at - first)} for m in members]
    timeline = charts.spread_timeline(
        [(console.outlet(m.source_name), m.reported_at, f"{console.outlet(m.source_name)}: {m.title}") for m in members],
        console.tz,
    )
    return console.render(request, "storyline.html.j2", title=f"Storyline {storyline_id}", summary=summary, rows=rows,
                          timeline=timeline)


# -- sources and crawling -------------------------------------------------------------
async def sources(request: Request) -> Response:
    from scheduler.status import build_status

    console = console_of(request)
    report = await run_in_threadpool(build_status, console.app)
    configured = {s.name: s for s in console.app.config.sources}
    return console.render(request, "sources.html.j2", title="Sources", report=report, configured=configured)


def _source_config(request: Request) -> Any:
    console = console_of(request)
    name = request.path_params["name"]
    for s in console.app.config.sources:
        if s.name == name:
            return s
    raise HTTPException(404, f"no source named {name!r}")


async def source(request: Request) -> Response:
    from scheduler.status import build_status

    console = console_of(request)
    config = _source_config(request)
    report = await run_in_threadpool(build_status, console.app)
    status = next(s for s in report.sources if s.name == config.name)
    runs = await run_in_threadpool(lambda: console.queries.recent_runs(source=config.name, limit=50))
    pending = await run_in_threadpool(console.queries.pending_crawl_requests)
    waiting = [p for p in pending if p.source_name == config.name]
    notice = crawl_notice(request.query_params.get("crawl"))
    # Without JavaScript, a page that reloads itself is how "crawl now" shows its run arriving.
    refresh = bool(waiting) or any(r.status == "running" for r in runs[:3]) or notice is not None
    new_per_run = [(r.started_at.astimezone(console.tz).date(), r.new) for r in reversed(runs)]  # the day the table shows
    chart = charts.day_bars(new_per_run, title="new articles per run") if runs else None
    return console.render(request, "source.html.j2", title=config.name, source=config, status=status, runs=runs,
                          waiting=waiting, refresh=refresh, chart=chart, notice=notice)


async def crawl_source(request: Request) -> Response:
    console = console_of(request)
    config = _source_config(request)
    if console.read_only:
        return PlainTextResponse("refused: the console is read-only", status_code=403)
    if not config.enabled:
        return PlainTextResponse(f"refused: source {config.name!r} is disabled", status_code=409)
    started = await console.trigger.crawl(config.name, console.user(request))
    return RedirectResponse(f"/sources/{quote(config.name, safe='')}?{urlencode({'crawl': started.value})}",
                            status_code=303)


# -- digests ------------------------------------------------------------------------------
async def digests(request: Request) -> Response:
    from digest.archive import Archive

    console = console_of(request)
    ledger = DigestLedger(console.app.engine)
    rows = await run_in_threadpool(lambda: ledger.list_digests(limit=100))
    archive_only = await run_in_threadpool(ledger.archive_only, [d.id for d in rows if d.id is not None])
    settings = console.app.digest_context().settings
    records = await run_in_threadpool(Archive(settings.archive_dir, tz=settings.tz).records)
    return console.render(request, "digests.html.j2", title="Digests", digests=rows, records=records,
                          archive_only=archive_only)


async def digest_preview(request: Request) -> Response:
    console = console_of(request)
    topic = request.path_params["topic"]
    if topic not in {t.name for t in console.app.config.topics}:
        raise HTTPException(404, f"no topic named {topic!r}")
    shown = console.app.config.topic(topic).title or topic
    return console.render(request, "digest_preview.html.j2", title=f"Next digest: {shown}", topic=topic, shown=shown)


async def digest_preview_page(request: Request) -> Response:
    from digest.service import build_digest

    console = console_of(request)
    topic = request.path_params["topic"]
    if topic not in {t.name for t in console.app.config.topics}:
        raise HTTPException(404, f"no topic named {topic!r}")
    rendered = await run_in_threadpool(build_digest, console.app.digest_context(), topic)
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": DIGEST_POLICY})


async def archived_digest(request: Request) -> Response:
    from digest.archive import Archive

    console = console_of(request)
    slug, name = request.path_params["slug"], request.path_params["name"]
    if name == "index.html":
        # An archived page links to its folder's index (the archive as static files has one):
        # here the digests page is that index.
        return RedirectResponse("/digests", status_code=303)
    settings = console.app.digest_context().settings
    archive = Archive(settings.archive_dir, tz=settings.tz)
    # Only a file an archive record names is served: the URL never becomes a path by itself.
    records = await run_in_threadpool(archive.records)
    record = next((r for r in records if r.slug == slug and name in (r.html_name, r.text_name)), None)
    if record is None:
        raise HTTPException(404, "no such archived digest")
    path = archive.root / record.slug / name
    try:
        body = await run_in_threadpool(path.read_text, "utf-8")
    except OSError as exc:
        raise HTTPException(404, "the archived file is missing") from exc
    if name.endswith(".txt"):
        return PlainTextResponse(body, headers={"Content-Security-Policy": DIGEST_POLICY})
    return HTMLResponse(body, headers={"Content-Security-Policy": DIGEST_POLICY})


# -- topic charts ----------------------------------------------------------------------------
async def topic_charts(request: Request) -> Response:
    console = console_of(request)
    topic = request.path_params["topic"]
    if topic not in {t.name for t in console.app.config.topics}:
        raise HTTPException(404, f"no topic named {topic!r}")
    try:
        days = max(7, min(int(request.query_params.get("days", "30")), 365))
    except ValueError:
        days = 30
    points = await run_in_threadpool(DigestLedger(console.app.engine).coverage, topic)
    today = console.app.clock().astimezone(console.tz).date()
    start = today - timedelta(days=days - 1)
    per_day = charts.coverage_per_day([p.at for p in points], console.tz, days=days, today=today)
    outlets: dict[str, int] = {}
    for p in points:
        if p.at.astimezone(console.tz).date() >= start:
            outlets[console.outlet(p.source_name)] = outlets.get(console.outlet(p.source_name), 0) + 1
    per_outlet = sorted(outlets.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    # Coverage older than every window (a past story, the demo's data) should not look like none at all.
    newest = max((p.at for p in points), default=None)
    shown = console.topic_titles.get(topic, topic)
    return console.render(
        request, "topic.html.j2", title=f"Topic: {shown}", topic=topic, days=days, total=sum(n for _, n in per_day),
        all_time=len(points), newest=console.local(newest, "%Y-%m-%d") if newest else None,
        day_chart=charts.day_bars(per_day, title=f"{shown}: articles per day"),
        outlet_chart=charts.outlet_bars(per_outlet, title=f"{shown}: articles per outlet") if per_outlet else None,
    )


# -- signing in and out -------------------------------------------------------------------------
def _safe_next(value: str | None) -> str:
    """Only a path on this site: `//evil.example` or `https://…` would send the user away."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_form(request: Request) -> Response:
    console = console_of(request)
    if console.user(request) is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return console.render(request, "login.html.j2", title="Sign in", next=_safe_next(request.query_params.get("next")),
                          error=None, password_login=console.auth.password_hash is not None)


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    target = _safe_next(str(form.get("next") or "/"))
    client = client_address(request)
    wait = console.limiter.retry_after(client)
    if wait:
        response = console.render(request, "login.html.j2", status_code=429, title="Sign in", next=target,
                                  error=f"Too many failed attempts: try again in {wait} s.", password_login=True)
        response.headers["Retry-After"] = str(wait)
        return response
    password = form.get("password")
    if isinstance(password, str) and await console.auth.check_password(password):
        console.limiter.succeeded(client)
        token = await run_in_threadpool(console.sessions.open, "admin", console.app.config.web.session_max_age)
        request.session.clear()  # a fresh session, and a fresh CSRF token, on sign-in
        request.session[SESSION_TOKEN] = token
        return RedirectResponse(target, status_code=303)
    console.limiter.failed(client)
    return console.render(request, "login.html.j2", status_code=401, title="Sign in", next=target,
                          error="Wrong password.", password_login=console.auth.password_hash is not None)


async def logout(request: Request) -> Response:
    token = session_token(request)
    if token is not None:  # the row goes: a copy of the cookie, wherever it is, no longer signs anyone in
        await run_in_threadpool(console_of(request).sessions.close, token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
