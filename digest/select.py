"""Turning a digest's articles into what a reader sees: pure data in, a `DigestView` out.

Nothing here touches the database, the clock or the network: the service hands in
the claimed articles, the removals and edits of the period, the lifetime coverage,
the source states and `now`, and gets back the view (`digest.view`) that both
templates render.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from crawler.topics.config import TopicConfig
from digest.text import (
    MAX_MARKS,
    headline,
    highlight,
    make_excerpt,
    matched_terms,
    one_line,
    safe_url,
    shorten,
    why_line,
)
from digest.view import (
    Bar,
    Change,
    Coverage,
    DigestStory,
    DigestView,
    Entry,
    OutletLink,
    PickedUp,
    Section,
    SeedReport,
    SourceProblem,
)
from storage.ledger import CoveragePoint, LedgerArticle, LedgerChange, SentStory
from storage.models import Article, CrawlRun, Source

TIME_FORMAT = "%Y-%m-%d %H:%M"
# Above this many days the chart switches to weeks, above this many weeks to months.
MAX_BARS = 45
# Storyline ranking (`rank_story`): relevance counts most, then reach, then recency.
RELEVANCE_WEIGHT, REACH_WEIGHT, RECENCY_WEIGHT = 0.6, 0.25, 0.15
RECENCY_HALF_LIFE = timedelta(hours=24)


def select_digest(
    topic: str,
    articles: Sequence[LedgerArticle],
    *,
    now: datetime,
    tz: ZoneInfo,
    since: datetime | None,
    seed: SeedReport | None,
    outlets: Mapping[str, str],
    coverage: Sequence[CoveragePoint],
    health: Sequence[SourceProblem] = (),
    changes: Sequence[LedgerChange] = (),
    core: Sequence[str] | None = None,
    title: str = "",
    description: str = "",
    sent_before: Mapping[int, SentStory] | None = None,
) -> DigestView:
    """Group, rank and describe one digest's articles (uncapped; see `DigestView.capped`).

    `core` are the aliases a reader's eye is drawn to (`core_terms`); None marks every
    matched term. `title` and `description` are the topic's display title and line.
    `sent_before` are the storylines an earlier digest sent (`DigestLedger.sent_storylines`):
    their new articles are copies of a story the readers have, listed apart as reach
    (`picked_up`), not as new coverage.
    """
    outlet_of = _outlet_namer(outlets)
    sent_before = sent_before or {}
    copies = [a for a in articles if a.article.storyline_id in sent_before]
    fresh = [a for a in articles if a.article.storyline_id not in sent_before]
    storylines = group_storylines(fresh, tz=tz, outlet_of=outlet_of, now=now, core=core)
    picked_up = picked_up_stories(copies, sent_before, tz=tz, outlet_of=outlet_of)
    described = [describe_change(change, tz=tz, outlet_of=outlet_of) for change in changes]
    new_outlets = tuple(sorted({a.article.outlet for a in articles if a.article.new_outlet and a.article.outlet}))
    return DigestView(
        title=one_line(title),
        description=one_line(description),
        topic=topic,
        generated=format_local(now, tz),
        generated_at=now,
        timezone=str(tz),
        seed=seed,
        article_count=len(fresh),
        outlet_count=len({article_outlet(a.article, outlet_of) for a in fresh}),
        new_outlets=new_outlets,
        notes=(f"New outlets this period: {', '.join(new_outlets)}",) if new_outlets else (),
        since=format_local(since, tz) if since else None,
        storylines=Section(tuple(storylines)),
        picked_up=Section(tuple(picked_up)),
        copies_count=len(copies),
        coverage=coverage_bars(coverage, tz=tz, outlet_of=outlet_of),
        health=Section(tuple(health)),
        removed=Section(tuple(c for c in described if c.kind == "removed")),
        edited=Section(tuple(c for c in described if c.kind == "edited")),
    )


def core_terms(topic: TopicConfig) -> tuple[str, ...]:
    """The aliases a digest highlights for `topic`: what the story is about, not its context.

    Keywords always (one alone makes an article relevant). Of the rule groups: those
    marked `core = true`; when none is marked, the any/all groups with the highest
    weight (a group marked `core = false` never counts). City names, "why" and other
    context words live in lighter groups and are never marked.
    """
    aliases = [alias.strip() for keyword in topic.keywords for alias in keyword.split("|")]
    positive = [g for g in topic.groups if g.mode != "none" and g.core is not False]
    chosen = [g for g in positive if g.core]
    if not chosen and positive:
        heaviest = max(g.weight for g in positive)
        chosen = [g for g in positive if g.weight == heaviest]
    aliases += [alias for group in chosen for term in group.terms for alias in term]
    return tuple(dict.fromkeys(a for a in aliases if a))


def rank_story(relevance: float, reach: int, age: timedelta) -> float:
    """Relevance, reach and recency in one number (higher first).

    Relevance is the best topic score (0..1). Reach grows with each outlet that
    carried the story, with diminishing returns (1 outlet: 0, 2: 0.5, 4: 0.75).
    Recency halves every `RECENCY_HALF_LIFE`. Relevance weighs most, so a
    widely reprinted but marginal piece does not bury the story itself.
    """
    reach_part = 1 - 1 / max(1, reach)
    recency = 0.5 ** (max(age.total_seconds(), 0) / RECENCY_HALF_LIFE.total_seconds())
    return round(RELEVANCE_WEIGHT * relevance + REACH_WEIGHT * reach_part + RECENCY_WEIGHT * recency, 6)


def group_storylines(
    articles: Sequence[LedgerArticle],
    *,
    tz: ZoneInfo,
    outlet_of: Callable[[str], str],
    now: datetime | None = None,
    core: Sequence[str] | None = None,
) -> list[DigestStory]:
    """Collapse each storyline's articles into one entry, ranked by `rank_story`.

    Which articles are one story was decided when they were stored (`crawler.storylines`:
    exact copies by content hash, reprints by MinHash); an article not placed yet (a
    crash between storing and placing) stands alone until the next crawl places it.
    The lead is the most relevant article, and among equals the earliest: the
    original rather than the reprint.
    """
    groups: dict[object, list[LedgerArticle]] = defaultdict(list)
    for item in articles:
        key = item.article.storyline_id if item.article.storyline_id is not None else ("article", item.article.id)
        groups[key].append(item)

    latest = now or max((_when(m) for m in articles), default=datetime.now(UTC))
    ranked: list[tuple[DigestStory, float]] = []
    for members in groups.values():
        ordered = sorted(members, key=lambda m: (-m.score, _when(m), m.article.id or 0))
        lead = ordered[0]
        lead_outlet = article_outlet(lead.article, outlet_of)
        also: dict[str, OutletLink] = {}
        for member in sorted(ordered[1:], key=lambda m: (_when(m), m.article.id or 0)):
            name = article_outlet(member.article, outlet_of)
            if name != lead_outlet and name not in also:
                also[name] = OutletLink(name, safe_url(member.article.url))
        newest = max(_when(m) for m in members)
        relevance = max(m.score for m in members)
        storyline = DigestStory(
            lead=make_entry(lead, tz=tz, outlet=lead_outlet, core=core),
            also=tuple(also.values()),
            size=len(members),
            score=relevance,
            rank=rank_story(relevance, 1 + len(also), latest - newest),
        )
        ranked.append((storyline, newest.timestamp()))
    ranked.sort(key=lambda pair: (-pair[0].rank, -pair[0].score, -pair[1], pair[0].lead.article_id))
    return [storyline for storyline, _ in ranked]


def picked_up_stories(
    copies: Sequence[LedgerArticle],
    sent_before: Mapping[int, SentStory],
    *,
    tz: ZoneInfo,
    outlet_of: Callable[[str], str],
) -> list[PickedUp]:
    """One line per story sent before: its headline as sent, when, and the outlets copying it now.

    Ordered by how many outlets took it up, then by when it was first sent (earliest first).
    """
    by_story: dict[int, list[LedgerArticle]] = defaultdict(list)
    for item in copies:
        assert item.article.storyline_id is not None
        by_story[item.article.storyline_id].append(item)
    stories = []
    for storyline_id, members in by_story.items():
        sent = sent_before[storyline_id]
        outlets: dict[str, OutletLink] = {}
        for member in sorted(members, key=lambda m: (_when(m), m.article.id or 0)):
            name = article_outlet(member.article, outlet_of)
            known = outlets.get(name)
            outlets[name] = (replace(known, copies=known.copies + 1) if known
                             else OutletLink(name, safe_url(member.article.url)))
        stories.append(PickedUp(
            title=headline(sent.article.title),
            url=safe_url(sent.article.url),
            outlet=article_outlet(sent.article, outlet_of),
            first_sent=format_local(sent.sent_at, tz),
            first_sent_iso=sent.sent_at.astimezone(tz).isoformat(timespec="seconds"),
            also=tuple(outlets.values()),
            copies=len(members),
        ))
    stories.sort(key=lambda p: (-len(p.also), p.first_sent_iso, p.title))
    return stories


def make_entry(item: LedgerArticle, *, tz: ZoneInfo, outlet: str, core: Sequence[str] | None = None) -> Entry:
    """One article as listed: a clean headline, and an excerpt with the core terms marked sparingly."""
    article = item.article
    when = article.published_at or article.fetched_at
    terms = matched_terms(item.matched) if core is None else tuple(core)
    excerpt = make_excerpt(_without_title(article.text, article.title), terms)
    return Entry(
        article_id=article.id or 0,
        title=headline(article.title),
        url=safe_url(article.url),
        outlet=outlet,
        when=format_local(when, tz),
        when_iso=when.astimezone(tz).isoformat(),
        when_is_fetch=article.published_at is None,
        excerpt=highlight(excerpt, terms, limit=MAX_MARKS),
        matched=item.matched,
        language=article.language,
        score=item.score,
        why=why_line(item.matched, terms),
        via=DISCOVERY_LABELS.get(article.discovered_via),
    )


def describe_change(change: LedgerChange, *, tz: ZoneInfo, outlet_of: Callable[[str], str]) -> Change:
    """One removal or edit as listed: current headline, outlet, when, and for an edit what changed.

    The previous headline is the one the period began with (the earliest version kept
    since the previous digest), not the latest: a piece retitled twice since the last
    digest is shown against the headline its readers last saw.
    """
    article = change.item.article
    title = headline(article.title)
    previous, what = None, ""
    if change.kind == "edited":
        earlier = change.earlier
        title_changed = earlier is not None and one_line(earlier.title) != one_line(article.title)
        text_changed = earlier is None or earlier.content_hash != article.content_hash
        if title_changed and earlier is not None:
            previous = one_line(earlier.title) or "(untitled)"
        parts = [part for part, changed in (("headline", title_changed), ("text", text_changed)) if changed]
        what = " and ".join(parts) + " changed" if parts else "edited, then changed back"
    return Change(
        kind=change.kind,
        article_id=article.id or 0,
        title=title,
        outlet=outlet_of(article.source_name),
        url=safe_url(article.url),
        when=format_local(change.at, tz),
        when_iso=change.at.astimezone(tz).isoformat(),
        language=article.language,
        in_this_digest=change.in_this_digest,
        previous_title=previous,
        what=what,
        edits=max(1, change.versions),
    )


def coverage_bars(points: Iterable[CoveragePoint], *, tz: ZoneInfo, outlet_of: Callable[[str], str]) -> Coverage:
    """Articles per period (day, else week, else month) and per outlet, as bar widths.

    The chart runs from the topic's first article to its latest, quiet days included,
    so a lull in the debate shows as a gap rather than disappearing.
    """
    points = list(points)
    if not points:
        return Coverage("day", (), Section(), 0, None)
    days = [p.at.astimezone(tz).date() for p in points]
    start, end = min(days), max(days)
    unit = "day"
    if (end - start).days + 1 > MAX_BARS:
        unit = "week" if (end - start).days // 7 + 1 <= MAX_BARS else "month"
    counts = Counter(_period_start(d, unit) for d in days)
    periods, cursor = [], _period_start(start, unit)
    while cursor <= end:
        periods.append((cursor, counts.get(cursor, 0)))
        cursor = _next_period(cursor, unit)
    per_outlet = Counter(outlet_of(p.source_name) for p in points)
    outlet_rows = sorted(per_outlet.items(), key=lambda kv: (-kv[1], kv[0]))
    return Coverage(
        unit=unit,
        periods=_bars([(_period_label(d, unit), n) for d, n in periods]),
        outlets=Section(_bars(outlet_rows)),
        total=len(points),
        first=_period_label(periods[0][0], unit),
    )


def find_source_problems(
    names: Iterable[str],
    states: Mapping[str, Source],
    last_runs: Mapping[str, CrawlRun],
    *,
    tz: ZoneInfo,
    outlet_of: Callable[[str], str],
) -> list[SourceProblem]:
    """Sources flagged unhealthy (failing or silent), or whose latest crawl failed, with the reason.

    `names` are the sources to consider: the service passes the topic's enabled ones,
    so a source switched off with `enabled = false` is never reported. An unhealthy
    source shows the daemon's reason ("failed 3 runs in a row", "nothing new for 3d
    (limit 2d)") first, then its latest crawl's error if that crawl failed too.
    """
    problems = []
    for name in names:
        state, run = states.get(name), last_runs.get(name)
        failed = run is not None and run.status == "failed"
        unhealthy = state is not None and not state.healthy
        if not (failed or unhealthy):
            continue
        reasons = []
        if unhealthy and state is not None:
            reasons.append(state.unhealthy_reason or f"{state.consecutive_failures} failed crawls in a row")
        if failed and run is not None:
            error = run.error or (f"HTTP {run.http_status}" if run.http_status else "")
            if error:
                reasons.append(f"last error: {error}" if reasons else error)
        # Clauses are joined with "; " and followed by "; last success": a full stop inside reads as ".;".
        detail = "; ".join(r.strip().rstrip(".") for r in reasons)
        last_ok = state.last_success_at if state is not None else None
        problems.append(
            SourceProblem(
                name=name,
                outlet=outlet_of(name),
                problem="unhealthy" if unhealthy else "last crawl failed",
                detail=shorten(one_line(detail) or "no error recorded", 200),
                last_success=format_local(last_ok, tz) if last_ok else "never",
            )
        )
    return problems


def format_local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(TIME_FORMAT)


# How an article was found, as its entry says it ("listed": said by nothing, the usual case).
DISCOVERY_LABELS = {"search": "found by news search", "rsshub": "via RSSHub", "cited": "cited by another report"}


def article_outlet(article: Article, outlet_of: Callable[[str], str]) -> str:
    """The outlet a reader should see: the publisher for search and cited finds, else the source's title."""
    if article.discovered_via in ("search", "cited") and article.outlet:
        return article.outlet
    return outlet_of(article.source_name)


def _outlet_namer(outlets: Mapping[str, str]) -> Callable[[str], str]:
    return lambda name: outlets.get(name) or name


def _without_title(text: str, title: str) -> str:
    """The body without a leading copy of the headline (extractors often keep it)."""
    flat, head = one_line(text), one_line(title)
    if head and flat.startswith(head) and len(flat) > len(head):
        return flat[len(head) :].lstrip(" .:：。-—|")
    return text


def _when(item: LedgerArticle) -> datetime:
    return item.article.published_at or item.article.fetched_at


def _bars(rows: Sequence[tuple[str, int]]) -> tuple[Bar, ...]:
    widest = max((n for _, n in rows), default=0) or 1
    return tuple(Bar(label, n, max(1, round(n * 100 / widest)) if n else 0) for label, n in rows)


def _period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next_period(day: date, unit: str) -> date:
    if unit == "week":
        return day + timedelta(days=7)
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def _period_label(day: date, unit: str) -> str:
    if unit == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()
