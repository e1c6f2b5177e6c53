"""Page patterns the extractor handles beyond trafilatura, each pinned by a fictional fixture page.

Every fixture in tests/data/pages says at its top what it must yield; the
pure line-level rules behind them are tested on strings below the page tests.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.extract.article import extract_article
from crawler.extract.bodytext import BodyOptions, extract_body, is_layout_table
from crawler.extract.boilerplate import clean_text, drop_leading_title, same_headline
from crawler.extract.metadata import byline_author, editor_name
from crawler.extract.page import parse_html
from storage.types import ExtractedArticle
from tests.conftest import TEST_DATA

PAGES = TEST_DATA / "pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def source(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def extract(name: str, content_type: str | None = "text/html") -> ExtractedArticle:
    return extract_article(source(name).encode("utf-8"), f"https://news.example.com/{name}", content_type)


# --- old GBK portal: broken byte, table layout, editor as author, related news -------------------


@pytest.fixture(scope="module")
def portal_bytes() -> bytes:
    # One stray lead byte, as a CMS leaves when it cuts a title after N bytes.
    return source("zh_gbk_portal_editor.html").encode("gbk").replace(b"@@CUT@@", b"\xd0")


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=iso-8859-1", "text/html; charset=utf-8"]
)
def test_gbk_page_with_a_broken_byte_still_decodes_as_gb18030(portal_bytes: bytes, content_type: str) -> None:
    article = extract_article(portal_bytes, "https://news.example.cn/a.html", content_type)
    assert article.encoding == "gb18030"
    assert article.title == "东湖区试点垃圾分类积分兑换"
    assert article.text.startswith("本报讯 6月3日，东湖区在五个社区试点垃圾分类积分兑换")


def test_portal_page_keeps_the_article_and_drops_its_frame(portal_bytes: bytes) -> None:
    article = extract_article(portal_bytes, "https://news.example.cn/a.html", "text/html")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 4
    assert paragraphs[-1].endswith("条件成熟后在全区逐步推广。")
    for stray in ("字号", "纠错", "责任编辑", "相关新闻", "再生资源回收站", "热点排行", "ICP"):
        assert stray not in article.text


def test_byline_date_beats_related_news_dates_and_copyright_years(portal_bytes: bytes) -> None:
    article = extract_article(portal_bytes, "https://news.example.cn/a.html", "text/html")
    assert article.published == datetime(2024, 6, 4, 8, 5, tzinfo=SHANGHAI)


def test_responsible_editor_is_the_author_when_no_writer_is_named(portal_bytes: bytes) -> None:
    article = extract_article(portal_bytes, "https://news.example.cn/a.html", "text/html")
    assert article.author == "周文涛"


# --- modern portal: related reading and comments inside the article box ----------------------------


def test_related_reading_and_comments_are_cut_from_the_article() -> None:
    article = extract("zh_related_reading.html")
    assert article.text.startswith("（原标题：西江大桥合龙）")
    assert article.text.endswith("预计年底通车。")
    for stray in ("相关阅读", "西江新区", "西江港二期", "网友评论", "点赞建设者", "责任编辑"):
        assert stray not in article.text


def test_reporter_in_the_lead_beats_the_editor_as_author() -> None:
    assert extract("zh_related_reading.html").author == "陈思远"


# --- portal chrome around the text: breadcrumbs, tools, disclaimers, QR codes, hotlines ------------


def test_portal_chrome_above_and_below_the_text_is_cut() -> None:
    article = extract("zh_portal_chrome.html")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("本报讯 记者从南湖海关获悉")
    assert paragraphs[-1].endswith("提高五个百分点。")
    for stray in ("当前位置", "字号", "关键词", "免责声明", "不得转载", "二维码", "举报"):
        assert stray not in article.text


def test_disclaimers_and_interview_phrases_name_no_author() -> None:
    article = extract("zh_portal_chrome.html")
    assert article.author is None
    assert article.published == datetime(2025, 4, 8, 10, 15, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "line",
    [
        "区商务局负责人对记者表示，出口保持增长",
        "他告诉记者，项目年底完工",
        "本文仅代表作者本人观点，与本网无关",
        "版权归原作者所有，转载请联系原作者",
    ],
)
def test_reporter_or_author_as_the_object_of_a_sentence_is_no_byline(line: str) -> None:
    assert byline_author(line) is None


# --- English pages -----------------------------------------------------------------------------------


def test_article_split_into_same_class_chunks_comes_back_whole() -> None:
    article = extract("en_split_body.html")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 7
    assert paragraphs[0].startswith("Ten years ago the sleeper services")
    assert paragraphs[3].startswith("The economics remain fragile.")
    assert paragraphs[-1].endswith("when the last of the old trains was withdrawn.")
    assert "selling sleep" not in article.text  # a one-paragraph box is not a chunk
    assert "inbox" not in article.text


def test_split_body_joining_can_be_turned_off_for_measurements() -> None:
    tree = parse_html(source("en_split_body.html"))
    assert tree is not None
    text = extract_body(tree, "https://news.example.com/a", BodyOptions(join_chunks=False))
    assert "The economics remain fragile." not in text


def test_reprint_links_and_sharing_prompts_are_cut_from_the_edges() -> None:
    article = extract("en_tools_and_prompts.html")
    assert article.title == "Harbour city approves new container terminal"
    assert article.text.startswith("The city council of Port Alder approved plans")
    assert article.text.endswith("ready for ships by the end of 2027.")
    for stray in ("Order Reprints", "Print Article", "Write to", "Like this story", "Copyright"):
        assert stray not in article.text


def test_link_teasers_inside_the_story_are_dropped() -> None:
    article = extract("en_inline_promos.html")
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("The coastal road between Westhaven")
    assert paragraphs[-1].startswith("The highways agency expects")
    for stray in ("READ MORE", "DON'T MISS", "[VIDEO]", "[INSIGHT]", "Related:"):
        assert stray not in article.text


def test_chinese_reading_links_inside_the_text_are_dropped() -> None:
    text = "第一段正文，讲述事情的经过。\n相关阅读：《西江大桥开工建设》\n第二段正文，介绍下一步安排。"
    assert clean_text(text) == "第一段正文，讲述事情的经过。\n第二段正文，介绍下一步安排。"


def test_a_data_table_is_kept_as_article_text() -> None:
    article = extract("en_standings_table.html")
    assert article.text.startswith("Harbour Rovers stayed top of the Coastal League")
    assert "| 1 | Harbour Rovers | 20 | 12 | 41 |" in article.text
    assert "Breakwater City" in article.text


def test_author_element_without_by_gives_the_author() -> None:
    assert extract("en_author_class.html").author == "Priya Raman"


def test_a_byline_block_does_not_run_the_name_into_the_job_title_below_it() -> None:
    # The Seattle Times' byline (corpus readability-test-pages/seattletimes-1): "By", the name and
    # "Seattle Times business reporter" are separate blocks; squashed into one line they gave the
    # author "Benjamin Romano Seattle Times" (and "ByBenjamin Romano…" when no space came between).
    body = "<p>" + "From the deck of his halibut schooner, the skipper sees what Amazon is doing. " * 12 + "</p>"
    page = (
        "<html><head><title>Alaskan halibut and Whole Foods</title></head><body>"
        "<h1>Alaskan halibut and Whole Foods</h1>"
        # The page's indentation: far enough that the byline is found by its class, not after the headline.
        + "\n" + " " * 600
        + '<div class="article-byline"><div class="byline-text"><span class="byline-copy">By</span>'
        '<div class="name vcard"><a href="/author/ben" class="fn">Benjamin Romano</a></div>'
        '<div class="title vcard"><span class="fn">Seattle Times business reporter</span></div></div></div>'
        f"<article>{body}</article></body></html>"
    )
    article = extract_article(page.encode(), url="https://news.example/halibut", content_type="text/html")
    assert article.author == "Benjamin Romano"


# --- the rules behind them, on strings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        (
            "Headline here\nBody text that goes on for a while.",
            "Headline here",
            "Body text that goes on for a while.",
        ),
        # og:title and <h1> differ by a word: still the headline.
        (
            "Milan Design Week | Michael Smith’s light show\nThe installation fills the courtyard of the palace.",
            "Milan Design Week | Smith's light show",
            "The installation fills the courtyard of the palace.",
        ),
        # A teaser of another story before the headline goes too.
        (
            "Night mode is a camera setting.\nNew Laptop Expected Next Year\n"
            + "The report claims a lot. " * 10,
            "New Laptop Expected Next Year",
            "The report claims a lot. " * 10,
        ),
        # The "original headline" note of Chinese reposts belongs to the text.
        ("原标题：西江大桥合龙\n正文第一段。", "西江大桥合龙", "原标题：西江大桥合龙\n正文第一段。"),
        # A headline deep in the text is a quotation, not the top.
        (
            "Long paragraph. " * 3 + "\nHeadline\nShort.",
            "Headline",
            "Long paragraph. " * 3 + "\nHeadline\nShort.",
        ),
    ],
)
def test_text_starts_after_its_headline(text: str, title: str, expected: str) -> None:
    assert drop_leading_title(text, title) == expected


def test_headlines_are_compared_by_words_not_characters() -> None:
    assert same_headline("Apple’s new phone", "Apple's new phone")
    assert not same_headline("Apple announces results", "Apple's new phone")
    assert same_headline("西江大桥主体结构完工", "西江大桥主体结构完工")


def test_english_edge_lines_are_boilerplate_only_at_the_edges() -> None:
    text = "\n".join(
        [
            "- Order Reprints",
            "Advertisement",
            "The first paragraph of the story.",
            "Subscribe to our newsletter is what the mayor told residents to do, and many did.",
            "The last paragraph of the story.",
            "Write to Jo Bloggs at jo@example.com",
            "Copyright 2025 Example News. All rights reserved.",
        ]
    )
    assert clean_text(text).split("\n") == [
        "The first paragraph of the story.",
        "Subscribe to our newsletter is what the mayor told residents to do, and many did.",
        "The last paragraph of the story.",
    ]


@pytest.mark.parametrize(
    ("text", "layout"),
    [
        ("| 首页 | 新闻 |\n| " + "为切实做好春季火灾防控工作，街道组织了检查。" * 8 + " | 相关链接 |", True),
        ("Intro.\n| 1 | Harbour Rovers | 41 |\n| 2 | Mill Town | 37 |", False),
        ("No table at all, just running text.", False),
    ],
)
def test_layout_tables_are_told_from_data_tables(text: str, layout: bool) -> None:
    assert is_layout_table(text) is layout


@pytest.mark.parametrize(
    ("page", "editor"),
    [
        ("……逐步推广。\n责任编辑：周文涛_DH1024\n相关新闻", "周文涛"),
        ("[责任编辑：韩保林 PK155]", "韩保林"),
        ("责任编辑:\n\t\t刘响\n", "刘响"),
        ("責任編輯：林美玲", "林美玲"),
        ("没有编辑署名的页面", None),
    ],
)
def test_responsible_editor_is_read_from_the_page(page: str, editor: str | None) -> None:
    assert editor_name(page) == editor


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Par Sébastien Farcis", "Sébastien Farcis"),
        ("Von Anna Schmidt und Jonas Weber", "Anna Schmidt und Jonas Weber"),
    ],
)
def test_bylines_in_other_european_languages(line: str, author: str) -> None:
    assert byline_author(line) == author
