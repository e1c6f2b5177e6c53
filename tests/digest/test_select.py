"""Choosing and shaping a digest's content: pure functions, articles built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digest.select import coverage_bars, find_source_problems, group_storylines, select_digest
from digest.text import highlight, make_excerpt, safe_url
from digest.view import Section
from storage.ledger import CoveragePoint, LedgerArticle, LedgerChange
from storage.models import Article, ArticleVersion, CrawlRun, Source

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 2, 12, 0, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def item(
    title: str,
    *,
    source: str = "jiangnan",
    hours_ago: float = 2,
    score: float = 0.5,
    content_hash: str | None = None,
    storyline_id: int | None = None,
    text: str = "",
    matched: tuple[str, ...] = ("六小龙",),
    url: str | None = None,
) -> LedgerArticle:
    article_id = next(_ids)
    article = Article(
        id=article_id,
        url=url or f"https://{source}.example/{article_id}.html",
        source_name=source,
        title=title,
        published_at=NOW - timedelta(hours=hours_ago),
        fetched_at=NOW,
        text=text or f"{title} body {article_id}",
        content_hash=content_hash or f"hash-{article_id}",
        storyline_id=storyline_id,
    )
    return LedgerArticle(article, score, matched)


def names(storylines: list, outlets: dict[str, str] | None = None) -> list[str]:
    return [s.lead.title_text for s in storylines]


def group(items: list[LedgerArticle], outlets: dict[str, str] | None = None) -> list:
    outlets = outlets or {}
    return group_storylines(items, tz=SHANGHAI, outlet_of=lambda n: outlets.get(n, n))


def test_syndicated_copies_collapse_into_one_storyline_led_by_the_original() -> None:
    original = item("南京为什么没有六小龙", source="jiangnan", hours_ago=5, storyline_id=3)
    reprint = item("南京为什么没有六小龙", source="donghai", hours_ago=1, storyline_id=3)
    another = item("南京为什么没有六小龙", source="haixi", hours_ago=3, storyline_id=3)

    [storyline] = group([reprint, original, another], {"donghai": "东海观察", "haixi": "海峽時報"})

    assert storyline.lead.article_id == original.article.id
    assert storyline.lead.outlet == "jiangnan"
    assert [o.outlet for o in storyline.also] == ["海峽時報", "东海观察"]  # in order of publication
    assert storyline.size == 3


def test_articles_group_by_their_stored_storyline_and_unplaced_ones_stand_alone() -> None:
    first = item("Nanjing asks why", storyline_id=7)
    rewrite = item("南京三问", source="donghai", storyline_id=7)
    unplaced = item("南京三问", source="haixi", content_hash=rewrite.article.content_hash)
    unrelated = item("Unitree robots dance", source="haixi-en", storyline_id=8)

    storylines = group([first, rewrite, unplaced, unrelated])

    assert sorted(s.size for s in storylines) == [1, 1, 2]


def test_storylines_rank_by_relevance_then_recency() -> None:
    old_relevant = item("old but central", score=0.9, hours_ago=30)
    new_marginal = item("new but marginal", score=0.3, hours_ago=1)
    newer_central = item("newer and central", score=0.9, hours_ago=3)

    assert names(group([old_relevant, new_marginal, newer_central])) == [
        "newer and central",
        "old but central",
        "new but marginal",
    ]


def test_matched_terms_are_highlighted_across_script_width_and_case() -> None:
    spans = highlight("南京為什麼沒有六小龍？ＤｅｅｐＳｅｅｋ says deepseek", ["六小龙", "DeepSeek"])

    assert [s.text for s in spans if s.mark] == ["六小龍", "ＤｅｅｐＳｅｅｋ", "deepseek"]
    assert "".join(s.text for s in spans) == "南京為什麼沒有六小龍？ＤｅｅｐＳｅｅｋ says deepseek"


def test_overlapping_terms_mark_the_longest_match_once() -> None:
    spans = highlight("杭州六小龙", ["六小龙", "杭州六小龙"])

    assert [(s.text, s.mark) for s in spans] == [("杭州六小龙", True)]


def test_excerpt_is_about_160_columns_and_counts_chinese_as_two() -> None:
    english = make_excerpt("word " * 100, [])
    chinese = make_excerpt("南京" * 200, [])

    assert 120 <= len(english) <= 160 and english.endswith("…")
    assert len(chinese) == 80  # 79 characters of two columns, plus the ellipsis
    assert make_excerpt("short text", []) == "short text"


def test_excerpt_moves_forward_to_show_a_late_match() -> None:
    text = "开头的背景介绍。" * 40 + "南京为什么没有六小龙？" + "后文。" * 40

    excerpt = make_excerpt(text, ["六小龙"])

    assert excerpt.startswith("…") and "六小龙" in excerpt


def test_excerpt_leaves_out_a_leading_copy_of_the_headline() -> None:
    story = item("Nanjing's question", text="Nanjing's question. Officials in Jiangsu asked why.")

    [storyline] = group([story])

    assert "".join(s.text for s in storyline.lead.excerpt) == "Officials in Jiangsu asked why."


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://news.example/a?b=1", True),
        ("http://news.example/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("mailto:editor@news.example", False),
        ("//news.example/no-scheme", False),
        ("https://news.example/a\nb", False),
        ("https:///no-host", False),
        ("", False),
    ],
)
def test_only_plain_http_links_are_kept(url: str, kept: bool) -> None:
    assert (safe_url(url) is not None) is kept


def test_an_article_with_a_javascript_link_is_listed_without_a_link() -> None:
    story = item("<script>alert(1)</script>", url="javascript:alert(1)")

    [storyline] = group([story])

    assert storyline.lead.url is None
    assert storyline.lead.title_text == "<script>alert(1)</script>"  # escaping is the template's job


def test_coverage_counts_each_local_day_including_quiet_ones() -> None:
    points = [
        CoveragePoint("jiangnan", datetime(2025, 2, 8, 1, 0, tzinfo=UTC)),
        CoveragePoint("donghai", datetime(2025, 2, 10, 15, 30, tzinfo=UTC)),  # 23:30 in Shanghai
        CoveragePoint("donghai", datetime(2025, 2, 10, 16, 30, tzinfo=UTC)),  # 00:30 on the 11th in Shanghai
    ]

    coverage = coverage_bars(points, tz=SHANGHAI, outlet_of=str.upper)

    assert [(b.label, b.count) for b in coverage.periods] == [
        ("2025-02-08", 1), ("2025-02-09", 0), ("2025-02-10", 1), ("2025-02-11", 1),
    ]
    assert [(b.label, b.count, b.percent) for b in coverage.outlets.items] == [("DONGHAI", 2, 100), ("JIANGNAN", 1, 50)]
    assert coverage.total == 3 and coverage.unit == "day"


def test_a_long_lifetime_is_charted_per_week() -> None:
    start = datetime(2024, 11, 1, tzinfo=UTC)
    points = [CoveragePoint("jiangnan", start + timedelta(days=d)) for d in range(0, 100, 3)]

    coverage = coverage_bars(points, tz=SHANGHAI, outlet_of=str)

    assert coverage.unit == "week"
    assert sum(b.count for b in coverage.periods) == len(points)
    assert len(coverage.periods) <= 45


def test_source_problems_name_unhealthy_and_failing_sources_only() -> None:
    states = {
        "ok": Source(name="ok", kind="feed", url="https://ok.example/", last_success_at=NOW),
        "sick": Source(name="sick", kind="feed", url="https://sick.example/", healthy=False,
                       unhealthy_reason="5 failed crawls in a row", consecutive_failures=5),
    }
    runs = {
        "ok": CrawlRun(source_name="ok", trigger="scheduled", started_at=NOW, status="ok"),
        "broken": CrawlRun(source_name="broken", trigger="scheduled", started_at=NOW, status="failed",
                           error="HTTP 503 from https://broken.example/\nretry later", http_status=503),
    }

    problems = find_source_problems(["ok", "sick", "broken"], states, runs, tz=SHANGHAI, outlet_of=str.title)

    assert [(p.name, p.outlet, p.problem) for p in problems] == [
        ("sick", "Sick", "unhealthy"),
        ("broken", "Broken", "last crawl failed"),
    ]
    assert problems[0].detail == "5 failed crawls in a row"
    assert problems[1].detail == "HTTP 503 from https://broken.example/ retry later"
    assert problems[1].last_success == "never"


def test_capping_keeps_the_top_entries_and_counts_the_rest() -> None:
    items = [item(f"story {n}", score=1 - n / 100) for n in range(7)]
    view = select_digest(
        "t", items, now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[],
    )

    capped = view.capped(3)

    assert [s.lead.title_text for s in capped.storylines.items] == ["story 0", "story 1", "story 2"]
    assert capped.storylines.more == 4 and capped.hidden_articles == 4
    assert view.capped(None) == view
    assert Section((1, 2), 0).capped(5) == Section((1, 2), 0)


def test_headline_counts_articles_and_distinct_outlets_since_the_previous_digest() -> None:
    items = [item("a", source="jiangnan"), item("b", source="jiangnan"), item("c", source="donghai")]

    view = select_digest(
        "t", items, now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=None,
        outlets={"jiangnan": "江南日报"}, coverage=[],
    )

    assert (view.article_count, view.outlet_count) == (3, 2)
    assert view.since == "2025-02-11 08:00"
    assert view.generated == "2025-02-12 08:00"
    assert {s.lead.outlet for s in view.storylines.items} == {"江南日报", "donghai"}


@pytest.mark.parametrize(("reason", "error", "detail"), [
    ("failed 3 runs in a row", "HTTP 503 from https://sick.example/",
     "failed 3 runs in a row; last error: HTTP 503 from https://sick.example/"),
    # Twisted's "… Connection refused." read "Connection refused.; last success …" in the digest.
    ("failed 3 runs in a row.", "Connection was refused by other side: 111: Connection refused.",
     "failed 3 runs in a row; last error: Connection was refused by other side: 111: Connection refused"),
])
def test_an_unhealthy_source_whose_last_crawl_failed_shows_the_reason_then_the_error(
    reason: str, error: str, detail: str
) -> None:
    states = {"sick": Source(name="sick", kind="feed", url="https://sick.example/", healthy=False,
                             unhealthy_reason=reason, consecutive_failures=3)}
    runs = {"sick": CrawlRun(source_name="sick", trigger="scheduled", started_at=NOW, status="failed", error=error)}

    [problem] = find_source_problems(["sick"], states, runs, tz=SHANGHAI, outlet_of=str)

    assert problem.problem == "unhealthy"
    assert problem.detail == detail  # a full stop ending either part does not run into the next clause


def test_only_the_named_sources_are_considered() -> None:
    states = {"off": Source(name="off", kind="feed", url="https://off.example/", healthy=False,
                            unhealthy_reason="nothing new for 9d (limit 2d)")}

    assert find_source_problems([], states, {}, tz=SHANGHAI, outlet_of=str) == []


def change(kind: str, story: LedgerArticle, *, earlier: ArticleVersion | None = None, versions: int = 0,
           in_this_digest: bool = False) -> LedgerChange:
    return LedgerChange(kind, story, NOW - timedelta(hours=1), in_this_digest, earlier, versions)


def test_an_edit_names_what_changed_and_the_headline_it_replaced() -> None:
    story = item("Nanjing answers\nits critics", source="haixi-en")
    before = ArticleVersion(article_id=story.article.id or 0, captured_at=NOW, title="Nanjing  asks why",
                            text="old", content_hash="old")

    view = select_digest("t", [], now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={"haixi-en": "Haixi Times"},
                         coverage=[], changes=[change("edited", story, earlier=before, versions=2)])

    [edit] = view.edited.items
    assert (edit.title, edit.outlet, edit.previous_title) == ("Nanjing answers its critics", "Haixi Times", "Nanjing asks why")
    assert edit.what == "headline and text changed" and edit.edits == 2
    assert edit.when == "2025-02-12 07:00" and view.removed_count == 0


def test_an_edit_that_keeps_the_headline_says_only_the_text_changed() -> None:
    story = item("南京三问")
    same_title = ArticleVersion(article_id=1, captured_at=NOW, title="南京三问", text="旧", content_hash="old")
    reverted = ArticleVersion(article_id=1, captured_at=NOW, title="南京三问", text="x",
                              content_hash=story.article.content_hash)

    [text_only] = select_digest("t", [], now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[],
                                changes=[change("edited", story, earlier=same_title, versions=1)]).edited.items
    [back] = select_digest("t", [], now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[],
                           changes=[change("edited", story, earlier=reverted, versions=2)]).edited.items

    assert (text_only.what, text_only.previous_title) == ("text changed", None)
    assert back.what == "edited, then changed back"


def test_a_removed_article_keeps_its_stored_link_unless_it_is_not_http() -> None:
    kept = item("一", url="https://jiangnan.example/a.html")
    unsafe = item("<script>alert(1)</script>", url="javascript:alert(1)")

    view = select_digest("t", [], now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[],
                         changes=[change("removed", kept), change("removed", unsafe, in_this_digest=True)])

    assert [(c.url, c.in_this_digest) for c in view.removed.items] == [
        ("https://jiangnan.example/a.html", False), (None, True),
    ]
    assert view.removed.items[1].title == "<script>alert(1)</script>"  # escaping is the template's job
    assert view.capped(1).removed.more == 1 and view.capped(1).removed_count == 2


def test_highlighting_uses_the_matchers_rules_whole_latin_words_and_regional_chinese_words() -> None:
    # The digest used to fold text its own way: "AI" marked the "ai" inside "said", and an
    # article matched on 人工智能 got nothing marked when it wrote the Taiwan form 人工智慧.
    english = highlight("An official said AI start-ups need patience.", ["AI"])
    taiwan = highlight("台灣業者看人工智慧新創", ["人工智能"])

    assert [s.text for s in english if s.mark] == ["AI"]
    assert [s.text for s in taiwan if s.mark] == ["人工智慧"]
