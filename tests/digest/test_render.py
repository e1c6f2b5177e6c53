"""Rendering a digest: escaping, scripts, layout, capping, and the text twin as a golden file.

`tests/data/digest/sample.expected.txt` is the text version of `sample_view()`, and
`changes.expected.txt` that of `changes_view()` (a digest sent for takedowns and an
edit alone); set MEDIAWATCH_REGENERATE_GOLDEN=1 to rewrite them after an intended
change, and read the diff.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest

from digest.render import DigestLinks, make_subject, render_digest
from digest.select import select_digest
from digest.view import DigestView, SeedReport, SourceProblem
from storage.ledger import CoveragePoint, LedgerArticle, LedgerChange
from storage.models import Article, ArticleVersion
from tests.conftest import TEST_DATA

GOLDEN = TEST_DATA / "digest" / "sample.expected.txt"
CHANGES_GOLDEN = GOLDEN.with_name("changes.expected.txt")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 2, 12, 0, 0, tzinfo=UTC)
SEED = SeedReport(
    title="江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
    publisher="联合早报",
    published="2025-02-11",
    url="https://www.zaobao.com.sg/realtime/china/story20250211",
    summary="Jiangsu's party paper asked in three pieces why Nanjing could not grow Hangzhou's 'six little dragons'.",
)
SIMPLIFIED = "南京为什么没有六小龙？交汇点三问引发热议"
TRADITIONAL = "南京為什麼沒有六小龍？海峽兩岸看城市競爭"
ENGLISH = "Why can't Nanjing grow its own six little dragons?"
HOSTILE = "Nanjing <script>alert(1)</script> & the \"dragons\"\nBcc: victim@example.org"


def article(
    article_id: int, title: str, source: str, *, hours_ago: float, score: float, matched: tuple[str, ...],
    text: str, language: str, url: str | None = None, content_hash: str | None = None,
    storyline_id: int | None = None,
) -> LedgerArticle:
    return LedgerArticle(
        Article(
            id=article_id, url=url or f"https://{source}.example/2025/02/{article_id}.html", source_name=source,
            title=title, published_at=NOW - timedelta(hours=hours_ago), fetched_at=NOW, text=text,
            content_hash=content_hash or f"h{article_id}", language=language,
            storyline_id=storyline_id if storyline_id is not None else 100 + article_id,
        ),
        score,
        matched,
    )


def sample_articles() -> list[LedgerArticle]:
    return [
        article(1, SIMPLIFIED, "jiangnan", hours_ago=20, score=1.0, matched=("六小龙", "DeepSeek"),
                text="交汇点连发三篇文章，追问南京为什么没有培育出像DeepSeek、宇树科技这样的“六小龙”企业。" * 2,
                language="zh-Hans", content_hash="syndicated", storyline_id=1),
        article(2, SIMPLIFIED, "donghai", hours_ago=18, score=1.0, matched=("六小龙", "DeepSeek"),
                text="转载。", language="zh-Hans", content_hash="syndicated", storyline_id=1),
        article(3, TRADITIONAL, "haixi", hours_ago=6, score=0.67, matched=("六小龙",),
                text="台灣媒體關注南京與杭州的城市競爭，認為六小龍的出現並非偶然。", language="zh-Hant"),
        article(4, ENGLISH, "haixi-en", hours_ago=3, score=0.67, matched=("six little dragons",),
                text="Hangzhou's six little dragons, DeepSeek among them, have become a benchmark that other cities "
                     "are measured against, and Nanjing's officials are feeling the pressure to answer.",
                language="en"),
        article(5, HOSTILE, "haixi-en", hours_ago=1, score=0.33, matched=("dragons",),
                text="<img src=x onerror=alert(1)> body text about the dragons", language="en",
                url="javascript:alert(document.cookie)"),
    ]


OUTLETS = {"jiangnan": "江南日报", "donghai": "东海观察", "haixi": "海峽時報", "haixi-en": "Haixi Times"}


def sample_view(**changes: object) -> DigestView:
    items = sample_articles()
    coverage = [CoveragePoint(i.article.source_name, i.article.published_at or NOW) for i in items]
    coverage += [CoveragePoint("jiangnan", NOW - timedelta(days=3)), CoveragePoint("donghai", NOW - timedelta(days=3))]
    view = select_digest(
        "nanjing-six-dragons", items, now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=SEED,
        outlets=OUTLETS, coverage=coverage,
        health=[SourceProblem("xiangjiang", "湘江评论", "last crawl failed", "HTTP 503 from https://xiangjiang.example/", "2025-02-10 08:00")],
    )
    return view


def changes_view() -> DigestView:
    """No new articles: two earlier ones taken down (one with a hostile title and link), one retitled."""
    items = sample_articles()
    before = ArticleVersion(article_id=4, captured_at=NOW, title="Nanjing asks why it has no dragons", text="old",
                            content_hash="old")
    changes = [
        LedgerChange("removed", items[2], NOW - timedelta(hours=3), False),
        LedgerChange("removed", items[4], NOW - timedelta(hours=2), False),
        LedgerChange("edited", items[3], NOW - timedelta(hours=1), False, before, 2),
    ]
    return select_digest(
        "nanjing-six-dragons", [], now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=SEED,
        outlets=OUTLETS, coverage=[], changes=changes,
    )


@pytest.mark.parametrize(("make_view", "golden"), [(sample_view, GOLDEN), (changes_view, CHANGES_GOLDEN)])
def test_text_version_matches_the_golden_file(make_view: object, golden: Path) -> None:
    assert callable(make_view)
    rendered = render_digest(make_view(), links=DigestLinks(page_path="nanjing-six-dragons/2025-02-12-0800-1.html"), cap=20)

    if os.environ.get("MEDIAWATCH_REGENERATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered.text, encoding="utf-8")
    assert rendered.text == golden.read_text(encoding="utf-8")


def test_a_digest_of_takedowns_alone_says_so_in_the_subject_preview_and_headline() -> None:
    rendered = render_digest(changes_view())
    body = rendered.html[rendered.html.index('class="masthead"'):]

    assert rendered.subject == (
        "nanjing-six-dragons: no new articles, 2 removed, 1 edited, 2025-02-12 — removed: " + TRADITIONAL
    )
    assert re.search(r'<div style="display:none[^"]*">No new articles · 2 removed · 1 edited</div>', rendered.html)
    assert "No new articles · 2 removed · 1 edited</div>" in body
    assert body.index("Removed since the last digest") < body.index("Edited since the last digest") < body.index(
        "Source health"
    )


def test_removed_and_edited_sections_escape_titles_and_drop_unsafe_links() -> None:
    rendered = render_digest(changes_view())
    removed = rendered.html[rendered.html.index(">Removed since the last digest<"):rendered.html.index(">Edited since")]

    assert "<script>" not in rendered.html
    assert "Nanjing &lt;script&gt;alert(1)&lt;/script&gt; &amp; the \"dragons\" Bcc: victim@example.org" in removed
    assert "javascript:" not in rendered.html.lower() and "javascript:" not in rendered.text.lower()
    assert re.findall(r'href="([^"]*)"', removed) == ["https://haixi.example/2025/02/3.html"]
    assert "Headline before: Nanjing asks why it has no dragons" in rendered.html


def test_removed_and_edited_sections_are_capped_like_the_others() -> None:
    links = DigestLinks(page="https://digests.example/nanjing/2025-02-12-0800-1.html")

    rendered = render_digest(changes_view(), links=links, cap=1)

    assert rendered.text.count("noticed removed") == 1
    assert f"...and 1 more removed article: {links.page}" in rendered.text
    assert "and 1 more removed article —" in rendered.html
    assert "No new articles · 2 removed · 1 edited" in rendered.text  # the counts are not capped


def test_html_and_text_open_with_the_original_report_then_the_headline() -> None:
    rendered = render_digest(sample_view())
    body = rendered.html[rendered.html.index('class="masthead"'):]  # after the hidden inbox preview line

    for document in (body, rendered.text):
        seed, headline, coverage = (document.index(SEED.title), document.index("5 new articles"),
                                    document.index("New coverage" if document is body else "NEW COVERAGE"))
        assert seed < headline < coverage
    assert "since the previous digest, 2025-02-11 08:00" in rendered.text
    assert "5 new articles in 4 storylines from 4 outlets" in rendered.text


def test_script_in_a_title_is_escaped_and_a_javascript_link_is_dropped() -> None:
    rendered = render_digest(sample_view())

    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "javascript:" not in rendered.html.lower() and "javascript:" not in rendered.text.lower()
    assert "onerror" not in re.sub(r"&lt;img[^<]*", "", rendered.html)  # only as escaped text
    hrefs = re.findall(r'href="([^"]*)"', rendered.html)
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)


def test_simplified_traditional_and_english_render_intact_in_both_versions() -> None:
    rendered = render_digest(sample_view())

    for title in (SIMPLIFIED, TRADITIONAL):
        head = title[:7]  # the part before highlighting splits it into spans
        assert head in rendered.html and head in rendered.text
    assert re.search(r"<mark[^>]*>六小龍</mark>", rendered.html) and "[六小龍]" in rendered.text
    assert re.search(r"<mark[^>]*>six little dragons</mark>", rendered.html)
    assert 'lang="zh-Hant"' in rendered.html and 'lang="en"' in rendered.html
    assert '<meta charset="utf-8">' in rendered.html
    assert "海峽時報" in rendered.text and "江南日报" in rendered.text


def test_syndicated_copies_show_as_also_reported_by() -> None:
    rendered = render_digest(sample_view())

    assert "Also reported by 东海观察" in rendered.text
    assert rendered.text.count("交汇点三问引发热议") == 1


def test_css_is_inlined_into_a_single_column_at_most_640px_wide() -> None:
    html = render_digest(sample_view()).html

    assert "<style" not in html  # email clients drop <style>: everything is inlined
    assert re.search(r'class="container"[^>]*style="[^"]*max-width: 640px', html)
    assert 'name="viewport"' in html
    assert "<script" not in html and "<svg" not in html.lower()
    fixed_widths = [int(w) for w in re.findall(r"(?<![-\w])width[=:]\s*\"?(\d+)(?:px)?\b(?!%)", html)]
    assert all(w <= 390 for w in fixed_widths), fixed_widths  # nothing wider than a phone


def test_coverage_bars_are_table_cells_with_percentage_widths() -> None:
    html = render_digest(sample_view()).html

    widths = re.findall(r'<table role="presentation" width="(\d+)%"', html)
    assert "100" in widths and len(widths) >= 4
    assert 'bgcolor="#2563eb"' in html


def test_each_section_is_capped_with_and_n_more_linking_to_the_archive_page() -> None:
    links = DigestLinks(page="https://digests.example/nanjing/2025-02-12-0800-1.html",
                        index="https://digests.example/nanjing/index.html")

    rendered = render_digest(sample_view(), links=links, cap=2)

    assert rendered.text.count("   Matched:") == 2
    assert "and 2 more storylines" in rendered.html
    assert re.search(rf'<a href="{re.escape(links.page)}"[^>]*>read the full digest in the archive</a>', rendered.html)
    assert f"...and 2 more storylines: {links.page}" in rendered.text
    assert "and 2 more outlets" in rendered.text  # the per-outlet chart is a section too
    assert f'href="{links.index}"' in rendered.html


def test_uncapped_rendering_lists_everything_without_and_more() -> None:
    rendered = render_digest(sample_view(), cap=None)

    assert "more storylines" not in rendered.text
    assert rendered.text.count("   Matched:") == 4


def test_subject_names_topic_count_and_date_on_one_line() -> None:
    subject = make_subject(sample_view())

    assert subject.startswith("nanjing-six-dragons: 5 new articles from 4 outlets, 2025-02-12 — ")
    assert "\n" not in subject and "\r" not in subject


def test_subject_keeps_a_hostile_lead_title_on_one_line() -> None:
    items = [sample_articles()[4]]
    view = select_digest("t", items, now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[])

    subject = make_subject(view)

    assert subject == 't: 1 new article from 1 outlet, 2025-02-12 — Nanjing <script>alert(1)</script> & the "dragons" Bcc…'


def test_an_empty_digest_says_nothing_is_new() -> None:
    view = select_digest("t", [], now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=SEED, outlets={}, coverage=[])

    rendered = render_digest(view)

    assert rendered.subject == "t: no new articles, 2025-02-12"
    assert "Nothing new since 2025-02-11 08:00." in rendered.text
    assert SEED.title in rendered.text


def test_templates_refuse_undefined_names() -> None:
    from digest.render import _environment

    for env in (_environment(html=True), _environment(html=False)):
        with pytest.raises(jinja2.UndefinedError):
            env.from_string("{{ missing.attribute }}").render()
    assert _environment(html=True).autoescape is True
    assert _environment(html=False).autoescape is False
