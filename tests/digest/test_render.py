"""Rendering a digest: reader-facing copy, escaping, layout, capping, and golden files.

Golden files, from fixed fixtures and a fixed clock (`NOW`): `sample.expected.txt` and
`sample.expected.html` are the email of `sample_view()` (a later digest: the original
report as a reminder), `first.expected.txt` the email of the topic's first digest,
`archive.expected.txt` the archive page's text, `changes.expected.txt` a digest sent
for takedowns and an edit alone, and `showcase.expected.html`/`.txt` an ordinary day's
email (`showcase_view()`), which the screenshots in docs/ show. Set MEDIAWATCH_REGENERATE_GOLDEN=1 to rewrite them
after an intended change, read the diff, and refresh the screenshots
(`tests/digest/test_screenshot.py`).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2
import pytest

from crawler.topics.config import TopicConfig
from digest.render import DigestLinks, make_subject, render_digest
from digest.select import core_terms, select_digest
from digest.text import display_width
from digest.view import DigestView, SeedReport, SourceProblem
from storage.ledger import CoveragePoint, LedgerArticle, LedgerChange
from storage.models import Article, ArticleVersion
from tests.conftest import TEST_DATA

GOLDEN = TEST_DATA / "digest" / "sample.expected.txt"
GOLDEN_HTML = GOLDEN.with_name("sample.expected.html")
FIRST_GOLDEN = GOLDEN.with_name("first.expected.txt")
ARCHIVE_GOLDEN = GOLDEN.with_name("archive.expected.txt")
CHANGES_GOLDEN = GOLDEN.with_name("changes.expected.txt")
EMAIL_LINKS = DigestLinks(
    page="https://digests.example.org/nanjing-six-dragons/2025-02-12-0800-7.html",
    index="https://digests.example.org/nanjing-six-dragons/index.html",
    unsubscribe="digest@mediawatch.test",
)
# The topic as configured: a display title and line, core groups, and context groups
# (a city, "why") whose terms match articles but are never highlighted.
TOPIC = TopicConfig.model_validate({
    "name": "nanjing-six-dragons",
    "title": "南京“六小龙”之问 · The Nanjing question",
    "description": "Why Nanjing has not grown Hangzhou's “six little dragons”, and who is asking.",
    "groups": [
        {"name": "cohort", "weight": 0.3, "core": True, "terms": ["六小龙|six little dragons|little dragons"]},
        {"name": "companies", "weight": 0.15, "core": True, "terms": ["深度求索|DeepSeek", "宇树|Unitree"]},
        {"name": "question", "weight": 0.25, "terms": ["为什么|为何|why"]},
        {"name": "other-city", "weight": 0.15, "terms": ["南京|Nanjing", "杭州|Hangzhou"]},
        {"name": "gdp", "mode": "none", "weight": 0.3, "terms": ["万亿元|GDP"]},
    ],
})
CORE = core_terms(TOPIC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 2, 12, 0, 0, tzinfo=UTC)
SEED = SeedReport(
    title="江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
    publisher="联合早报",
    published="2025-02-11",
    url="https://www.zaobao.com.sg/realtime/china/story20250211",
    summary="From 7 February 2025 Jiangsu's party paper asked in three pieces why Nanjing could not grow "
            "Hangzhou's 'six little dragons'.",
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
        article(1, SIMPLIFIED, "jiangnan", hours_ago=20, score=1.0,
                matched=("六小龙", "DeepSeek", "为什么", "南京", "similarity=0.41"),
                text="交汇点连发三篇文章，追问南京为什么没有培育出像DeepSeek、宇树科技这样的“六小龙”企业。" * 2,
                language="zh-Hans", content_hash="syndicated", storyline_id=1),
        article(2, SIMPLIFIED, "donghai", hours_ago=18, score=1.0, matched=("六小龙", "DeepSeek"),
                text="转载。", language="zh-Hans", content_hash="syndicated", storyline_id=1),
        article(3, TRADITIONAL, "haixi", hours_ago=6, score=0.67, matched=("六小龙", "南京", "not:万亿元", "similarity=0.12"),
                text="台灣媒體關注南京與杭州的城市競爭，認為六小龍的出現並非偶然。", language="zh-Hant"),
        article(4, ENGLISH, "haixi-en", hours_ago=3, score=0.67, matched=("six little dragons", "why", "Nanjing"),
                text="From 7 February the Jiangsu papers asked why. Hangzhou's six little dragons, DeepSeek among "
                     "them, have become a benchmark that other cities are measured against, and Nanjing's officials "
                     "are feeling the pressure to answer.",
                language="en"),
        article(5, HOSTILE, "haixi-en", hours_ago=1, score=0.33, matched=("little dragons",),
                text="<img src=x onerror=alert(1)> body text about the little dragons", language="en",
                url="javascript:alert(document.cookie)"),
    ]


OUTLETS = {"jiangnan": "江南日报", "donghai": "东海观察", "haixi": "海峽時報", "haixi-en": "Haixi Times"}


def sample_view(*, first: bool = False) -> DigestView:
    """A later digest of the topic (the first one with `first`)."""
    items = sample_articles()
    coverage = [CoveragePoint(i.article.source_name, i.article.published_at or NOW) for i in items]
    coverage += [CoveragePoint("jiangnan", NOW - timedelta(days=3)), CoveragePoint("donghai", NOW - timedelta(days=3))]
    view = select_digest(
        "nanjing-six-dragons", items, now=NOW, tz=SHANGHAI, since=None if first else NOW - timedelta(days=1),
        seed=SEED, outlets=OUTLETS, coverage=coverage, core=CORE, title=TOPIC.title or "",
        description=TOPIC.description,
        health=[SourceProblem("xiangjiang", "湘江评论", "last crawl failed", "HTTP 503 from https://xiangjiang.example/", "2025-02-10 08:00")],
    )
    return view


SHOWCASE = [  # (id, title, source, hours ago, score, matched, storyline, language, text): an ordinary day
    (11, "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", "jiangnan", 20, 1.0, ("六小龙", "DeepSeek", "similarity=0.52"), 1,
     "zh-Hans", "交汇点连发三篇文章，追问南京为什么没有培育出像DeepSeek、宇树科技这样的“六小龙”企业。文章列举了南京的高校数量、"
                "科研人员规模和创投环境，认为问题不在资源，而在敢不敢让年轻团队试错。"),
    (12, "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", "donghai", 18, 1.0, ("六小龙",), 1, "zh-Hans", "转载。"),
    (13, "三问南京：杭州六小龙为何不在南京", "shicheng", 16, 0.9, ("六小龙",), 1, "zh-Hans", "转载。"),
    (14, "Why can't Nanjing grow its own six little dragons?", "haixi-en", 5, 0.8, ("six little dragons", "similarity=0.38"),
     2, "en", "From 7 February the Jiangsu papers asked why a city with more universities than Hangzhou has no "
              "DeepSeek of its own. Hangzhou's six little dragons have become the benchmark other cities are measured by."),
    (15, "南京為什麼沒有六小龍？海峽兩岸看城市競爭", "haixi", 9, 0.67, ("六小龙", "南京"), 3, "zh-Hant",
     "台灣媒體關注南京與杭州的城市競爭，認為六小龍的出現並非偶然，而是長期營商環境的結果。"),
    (16, "南京回应“三问”：正在培育自己的“六小龙”", "shicheng", 3, 0.7, ("六小龙",), 4, "zh-Hans",
     "南京市有关负责人表示，将在人才、资本和审批上为初创企业提供更大空间，培育属于南京的“六小龙”。"),
    (17, "宇树机器人登上春晚之后，南京的机器人企业在想什么", "jiangnan", 12, 0.6, ("宇树",), 5, "zh-Hans",
     "宇树科技的机器人在春晚亮相后，南京多家机器人企业表示订单咨询明显增加，但融资仍是难题。"),
    (18, "Hefei, not Nanjing, is the city to watch, analysts say", "haixi-en", 22, 0.5, ("little dragons",), 6, "en",
     "While Jiangsu debates its missing little dragons, analysts point to Hefei's state-backed bets on chips and cars."),
    (19, "评论：别急着给城市排座次", "donghai", 14, 0.45, ("六小龙",), 7, "zh-Hans",
     "与其追问为什么没有六小龙，不如问问本地企业最需要什么。"),
]
SHOWCASE_OUTLETS = {**OUTLETS, "shicheng": "石城晚报"}


def showcase_view() -> DigestView:
    """A realistic later digest, for the screenshots in docs/: seven storylines, one carried by three outlets."""
    items = [
        article(i, title, source, hours_ago=hours, score=score, matched=matched, text=text, language=language,
                storyline_id=storyline)
        for i, title, source, hours, score, matched, storyline, language, text in SHOWCASE
    ]
    coverage = [CoveragePoint(i.article.source_name, i.article.published_at or NOW) for i in items]
    coverage += [CoveragePoint(source, NOW - timedelta(days=days, hours=3))
                 for days, source in ((5, "jiangnan"), (5, "donghai"), (4, "jiangnan"), (4, "haixi"), (4, "donghai"),
                                      (3, "jiangnan"), (2, "haixi-en"), (1, "donghai"), (1, "shicheng"))]
    return select_digest(
        "nanjing-six-dragons", items, now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=SEED,
        outlets=SHOWCASE_OUTLETS, coverage=coverage, core=CORE, title=TOPIC.title or "", description=TOPIC.description,
        health=[SourceProblem("xiangjiang", "湘江评论", "last crawl failed", "HTTP 503 Service Unavailable", "2025-02-10 08:00")],
    )


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
        outlets=OUTLETS, coverage=[], changes=changes, core=CORE, title=TOPIC.title or "",
    )


def email_of(view: DigestView, cap: int | None = 20, links: DigestLinks = EMAIL_LINKS):  # type: ignore[no-untyped-def]
    return render_digest(view, links=links, cap=cap)


def archive_of(view: DigestView):  # type: ignore[no-untyped-def]
    return render_digest(view, links=DigestLinks(index="index.html"), cap=None, archive=True)


GOLDEN_CASES = {
    "sample.expected.txt": lambda: email_of(sample_view()).text,
    "sample.expected.html": lambda: email_of(sample_view()).html,
    "showcase.expected.html": lambda: email_of(showcase_view(), cap=5).html,
    "showcase.expected.txt": lambda: email_of(showcase_view(), cap=5).text,
    "first.expected.txt": lambda: email_of(sample_view(first=True)).text,
    "archive.expected.txt": lambda: archive_of(sample_view()).text,
    "changes.expected.txt": lambda: email_of(changes_view(), links=DigestLinks(unsubscribe="digest@mediawatch.test")).text,
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_rendering_matches_the_golden_file(name: str) -> None:
    rendered = GOLDEN_CASES[name]()
    golden = GOLDEN.with_name(name)

    if os.environ.get("MEDIAWATCH_REGENERATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


# -- reader-facing copy: the acceptance list ------------------------------------
def entry_titles(html: str) -> list[str]:
    return re.findall(r'<(?:a|span) [^>]*class="entry-title[^"]*"[^>]*>(.*?)</(?:a|span)>', html, re.DOTALL)


def flat(text: str) -> str:
    """The text part with its wrapped lines joined again (for phrases that may wrap)."""
    return re.sub(r"\s*\n\s*", " ", text)


def marked(html: str) -> list[str]:
    return re.findall(r"<mark[^>]*>(.*?)</mark>", html)


def test_the_email_shows_no_scoring_internals() -> None:
    rendered = email_of(sample_view())

    for part in (rendered.html, rendered.text):
        assert "similarity" not in part and "0.41" not in part
        assert "not:" not in part and "万亿元" not in part
        assert "Matched" not in part and "score" not in part.lower()
    assert "mentions 六小龙, DeepSeek · similar to the original report" in rendered.text
    assert re.search(r'<p class="why"[^>]*>mentions 六小龙, DeepSeek · similar to the original report</p>', rendered.html)
    assert re.search(r'<p class="why"[^>]*>mentions 六小龙</p>', rendered.html)  # not 南京; similarity 0.12 unsaid


def test_the_archive_page_keeps_every_reason() -> None:
    page = archive_of(sample_view())

    assert "Matched: 六小龙, DeepSeek, 为什么, 南京, similarity=0.41 · score 1.00" in page.text
    assert "not:万亿元" in page.html
    assert "湘江评论 (xiangjiang)" in page.text  # the operator's name for the source, on the archive page only


def test_headlines_are_never_highlighted() -> None:
    rendered = email_of(sample_view())

    titles = entry_titles(rendered.html)
    assert len(titles) == 4 and all("<mark" not in t for t in titles)
    assert "南京为什么没有六小龙？交汇点三问引发热议" in titles[0]
    assert "[" not in rendered.text.split("NEW COVERAGE")[1].split("COVERAGE OVER TIME")[0]


def test_only_core_terms_are_highlighted_and_only_in_the_snippet() -> None:
    html = email_of(sample_view()).html

    marks = marked(html)
    assert set(marks) <= {"六小龙", "DeepSeek", "宇树", "六小龍", "six little dragons", "little dragons"} and marks
    for context_word in ("南京", "為什麼", "为什么", "Nanjing", "why", "杭州"):
        assert context_word not in marks
    excerpts = re.findall(r'<p class="excerpt"[^>]*>(.*?)</p>', html)
    assert sum(e.count("<mark") for e in excerpts) == len(marks)
    first = excerpts[0]
    assert first.count("<mark") <= 3 and first.count(">六小龙</mark>") == 1  # sparingly: each term once


def test_core_terms_default_to_keywords_and_the_heaviest_groups() -> None:
    unflagged = TopicConfig.model_validate({
        "name": "t", "keywords": ["宇树|Unitree"],
        "groups": [
            {"name": "cohort", "weight": 0.3, "terms": ["六小龙"]},
            {"name": "media", "weight": 0.3, "terms": ["交汇点"]},
            {"name": "city", "weight": 0.15, "terms": ["南京"]},
            {"name": "veto", "mode": "none", "weight": 1, "terms": ["股价"]},
        ],
    })

    assert core_terms(unflagged) == ("宇树", "Unitree", "六小龙", "交汇点")
    assert core_terms(TOPIC) == ("六小龙", "six little dragons", "little dragons", "深度求索", "DeepSeek", "宇树", "Unitree")


def test_the_masthead_is_the_display_title_and_description() -> None:
    rendered = email_of(sample_view())

    assert re.search(r'<h1 class="masthead-title"[^>]*>南京“六小龙”之问 · The Nanjing question</h1>', rendered.html)
    assert "Why Nanjing has not grown Hangzhou" in rendered.html
    assert rendered.text.startswith("南京“六小龙”之问 · The Nanjing question\nWhy Nanjing has not grown")
    assert rendered.subject.startswith("南京“六小龙”之问 · The Nanjing question: 5 new articles")
    assert ">nanjing-six-dragons<" not in rendered.html


def test_the_email_names_no_local_path_or_config_file() -> None:
    for links in (EMAIL_LINKS, DigestLinks(page_path="nanjing-six-dragons/2025-02-12-0800-1.html")):
        rendered = email_of(sample_view(), cap=2, links=links)
        for part in (rendered.html, rendered.text):
            assert "mediawatch.toml" not in part and "[digest]" not in part and "recipients" not in part
            assert "nanjing-six-dragons/2025" not in part.replace(links.page or "\0", "")
            assert "archive folder" not in part and "`" not in part


def test_the_footer_says_why_and_how_to_stop_and_links_the_archive() -> None:
    rendered = email_of(sample_view())
    footer = rendered.html[rendered.html.index('class="footer"'):]

    assert "You receive this digest because you are on the list for 南京“六小龙”之问" in footer
    assert 'href="mailto:digest@mediawatch.test?subject=unsubscribe"' in footer
    assert f'href="{EMAIL_LINKS.index}"' in footer
    assert "To stop receiving it, email digest@mediawatch.test with the subject “unsubscribe”." in flat(rendered.text)


def test_the_first_digest_opens_with_the_original_report_later_ones_with_a_two_line_reminder() -> None:
    first, later = email_of(sample_view(first=True)), email_of(sample_view())

    assert SEED.summary in flat(first.text) and SEED.summary in first.html
    assert "THE ORIGINAL REPORT" in first.text
    assert "From 7 February 2025" not in later.text and "From 7 February 2025" not in later.html
    reminder = later.text.split("\n\n")[1].splitlines()
    assert reminder == [f"This story began with {SEED.title}", f"联合早报 · 2025-02-11 <{SEED.url}>"]
    assert re.search(rf'<a href="{re.escape(SEED.url or "")}"[^>]*>{re.escape(SEED.title)}</a>', later.html)


def test_links_look_like_links() -> None:
    html = email_of(sample_view(first=True)).html

    for cls in ("entry-title", "seed-title"):
        style = re.search(rf'<a [^>]*class="{cls}"[^>]*style="([^"]*)"', html) or re.search(
            rf'<a [^>]*style="([^"]*)"[^>]*class="{cls}"', html)
        assert style is not None, cls
        assert "text-decoration: underline" in style.group(1) and "color: #1d4ed8" in style.group(1)


def test_the_text_part_wraps_at_80_columns_counting_chinese_as_two() -> None:
    for rendered in (email_of(sample_view()), email_of(sample_view(first=True)), archive_of(sample_view())):
        for line in rendered.text.splitlines():
            if display_width(line) > 80:
                assert re.fullmatch(r"\s*<?https?://\S+", line), line  # only a URL may stand alone, unbroken
    chinese = [line for line in email_of(sample_view()).text.splitlines() if "交汇点连发" in line or "六小龙”企业" in line]
    assert len(chinese) >= 2 and max(display_width(line) for line in chinese) > 70  # wrapped, not cut short


def test_the_top_storylines_are_shown_and_one_line_says_what_was_left_out_and_why() -> None:
    rendered = email_of(sample_view(), cap=2)

    assert rendered.text.count("   Haixi Times · ") + rendered.text.count("   江南日报 · ") + rendered.text.count("   海峽時報 · ") == 2
    assert (
        "These are the 2 highest-ranked of 4 storylines (by relevance, how many outlets carried them, and recency); "
        f"the other 2 are in the full digest: {EMAIL_LINKS.page}"
    ) in flat(rendered.text)
    assert re.search(rf'<a href="{re.escape(EMAIL_LINKS.page or "")}"[^>]*>the other 2 are in the full digest</a>', rendered.html)
    unlinked = email_of(sample_view(), cap=2, links=DigestLinks())
    assert "the other 2 are left out of this email." in unlinked.html


def test_a_digest_of_takedowns_alone_says_so_in_the_subject_preview_and_headline() -> None:
    rendered = render_digest(changes_view())
    body = rendered.html[rendered.html.index('class="masthead"'):]

    assert rendered.subject == (
        f"{TOPIC.title}: no new articles, 2 removed, 1 edited, 2025-02-12 — removed: " + TRADITIONAL
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
    assert "and 1 more removed article — " in rendered.html
    assert "No new articles · 2 removed · 1 edited" in rendered.text  # the counts are not capped


def test_html_and_text_open_with_the_masthead_then_the_headline() -> None:
    rendered = email_of(sample_view(first=True))
    body = rendered.html[rendered.html.index('class="masthead"'):]  # after the hidden inbox preview line

    for document in (body, rendered.text):
        title, seed, headline, coverage = (document.index("The Nanjing question"), document.index(SEED.title),
                                           document.index("5 new articles"),
                                           document.index("New coverage" if document is body else "NEW COVERAGE"))
        assert title < seed < headline < coverage
    assert "since coverage began" in rendered.text
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

    for title in (SIMPLIFIED, TRADITIONAL, ENGLISH):
        assert title in rendered.html and title in rendered.text
    assert re.search(r"<mark[^>]*>六小龍</mark>", rendered.html)
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


def test_other_sections_are_capped_with_and_n_more_linking_to_the_full_digest() -> None:
    rendered = email_of(sample_view(), cap=2)

    assert "...and 2 more outlets: " + (EMAIL_LINKS.page or "") in rendered.text  # the per-outlet chart is a section too
    assert f'href="{EMAIL_LINKS.index}"' in rendered.html


def test_uncapped_rendering_lists_everything_without_a_left_out_line() -> None:
    rendered = render_digest(sample_view(), cap=None)

    assert "highest-ranked" not in rendered.text and "more outlets" not in rendered.text
    assert rendered.text.count("   Haixi Times · ") == 2


def test_subject_names_title_count_and_date_on_one_line() -> None:
    subject = make_subject(sample_view())

    assert subject.startswith(f"{TOPIC.title}: 5 new articles from 4 outlets, 2025-02-12 — ")
    assert "\n" not in subject and "\r" not in subject


def test_subject_keeps_a_hostile_lead_title_on_one_line() -> None:
    items = [sample_articles()[4]]
    view = select_digest("t", items, now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[])

    subject = make_subject(view)

    assert subject == 't: 1 new article from 1 outlet, 2025-02-12 — Nanjing <script>alert(1)</script> & the "dragons" Bcc…'


def test_bidi_overrides_in_a_stored_title_reach_neither_the_email_nor_its_subject() -> None:
    # A row stored before the crawler dropped them: U+202E reversed everything after it on its line
    # (the outlet, the date) in the HTML, the text part and the subject.
    items = [article(1, "南京\u202e六小龙\u2067之问", "jiangnan\u202e", hours_ago=2, score=1.0, matched=("六小龙",),
                     text="南京\u202e能否培育出自己的六小龙。", language="zh-Hans")]
    view = select_digest("t", items, now=NOW, tz=SHANGHAI, since=None, seed=None, outlets={}, coverage=[])

    rendered = render_digest(view)

    for output in (rendered.html, rendered.text, rendered.subject):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", output), output
    assert "南京六小龙之问" in rendered.html and "南京六小龙之问" in rendered.text
    assert rendered.subject.endswith("— 南京六小龙之问")


def test_an_empty_digest_says_once_that_nothing_is_new() -> None:
    # The headline said "No new articles, since the previous digest, …" and an empty "New coverage"
    # section under it said "Nothing new since …" again.
    view = select_digest("t", [], now=NOW, tz=SHANGHAI, since=NOW - timedelta(days=1), seed=SEED, outlets={}, coverage=[])

    rendered = render_digest(view)

    assert rendered.subject == "t: no new articles, 2025-02-12"
    assert re.findall(r"(?i)nothing new|no new articles", rendered.text) == ["No new articles"]
    assert "No new articles\nsince the previous digest, 2025-02-11 08:00\n" in rendered.text
    body = rendered.html.split("<body", 1)[1]
    assert re.findall(r"(?i)nothing new|no new articles", body) == ["No new articles"] * 2  # the inbox preview line, the headline
    assert "No new articles</div>" in body and "2025-02-11 08:00" in body
    assert SEED.title in rendered.text


def test_templates_refuse_undefined_names() -> None:
    from digest.render import _environment

    for env in (_environment(html=True), _environment(html=False)):
        with pytest.raises(jinja2.UndefinedError):
            env.from_string("{{ missing.attribute }}").render()
    assert _environment(html=True).autoescape is True


def _coverage_block(text: str) -> list[str]:
    block = text.split("COVERAGE OVER TIME")[1].split("Articles per outlet")[0]
    return [line for line in block.splitlines()[2:] if line.strip()]


def test_a_long_quiet_stretch_is_one_line_in_the_text_chart_and_every_period_in_the_html() -> None:
    # Found in an outside trial: a gap in coverage printed twenty lines of "2025-03   0" … "2026-11   0".
    months = [datetime(2025, 2, 10, tzinfo=UTC)] * 4 + [datetime(2025, 2, 20, tzinfo=UTC),
                                                          datetime(2026, 11, 5, tzinfo=UTC)]
    coverage = [CoveragePoint(source_name="jiangnan", at=at) for at in months]
    view = select_digest("t", sample_articles(), now=NOW, tz=SHANGHAI, since=None, seed=SEED, outlets=OUTLETS,
                         coverage=coverage, core=CORE, title=TOPIC.title or "")
    rendered = render_digest(view)
    lines = _coverage_block(rendered.text)
    assert lines[0].startswith("2025-02 ") and lines[0].endswith(" 5")
    assert lines[1].split() == ["2025-03", "–", "2026-10:", "20", "months", "without", "articles"]
    assert lines[2].startswith("2026-11 ") and lines[2].endswith(" 1")
    assert len(lines) == 3
    assert "2025-07" in rendered.html  # the chart in HTML keeps every month: the gap is what it shows


def test_two_quiet_periods_stay_as_they_are() -> None:
    days = [datetime(2025, 2, 10, 4, tzinfo=UTC), datetime(2025, 2, 13, 4, tzinfo=UTC)]
    coverage = [CoveragePoint(source_name="jiangnan", at=at) for at in days]
    view = select_digest("t", sample_articles(), now=NOW, tz=SHANGHAI, since=None, seed=SEED, outlets=OUTLETS,
                         coverage=coverage, core=CORE, title=TOPIC.title or "")
    lines = _coverage_block(render_digest(view).text)
    assert [line.split()[-1] for line in lines] == ["1", "0", "0", "1"]


def test_items_from_ten_on_keep_their_details_under_the_title() -> None:
    # Items 10 and up indented their details three spaces, under "10." rather than under the title.
    items = [article(200 + n, f"南京之问 第{n}篇", f"outlet{n}", hours_ago=n + 1, score=1.0, matched=("六小龙",),
                     text="交汇点连发三篇文章，追问南京。", language="zh-Hans") for n in range(12)]
    view = select_digest("t", items, now=NOW, tz=SHANGHAI, since=None, seed=None, outlets=OUTLETS, coverage=[],
                         core=CORE, title=TOPIC.title or "")
    text = render_digest(view, cap=None).text
    lines = text.splitlines()
    for number in (1, 10, 11):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{number}. "))
        indent = len(f"{number}. ")
        assert lines[at + 1].startswith(" " * indent) and not lines[at + 1].startswith(" " * (indent + 1)), lines[at + 1]
