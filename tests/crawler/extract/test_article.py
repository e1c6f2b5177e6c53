"""Article extraction from whole pages: text, title, date, author, language, encoding.

The fixture pages in tests/data/pages are fictional and stored as readable
UTF-8; each says at its top what it must yield. Pages meant to be GBK or Big5
are encoded here, in memory, so the bytes the extractor sees are the real thing.
"""

from __future__ import annotations

import codecs
import random
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.extract.article import extract_article, extract_with_overrides
from crawler.extract.dates import parse_datetime
from crawler.extract.language import guess_language, normalise_language
from crawler.extract.metadata import byline_author, strip_site_suffix
from storage.errors import NoArticleError
from storage.types import ExtractedArticle
from tests.conftest import TEST_DATA

PAGES = TEST_DATA / "pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def load(name: str, encoding: str = "utf-8") -> bytes:
    return (PAGES / name).read_text(encoding="utf-8").encode(encoding)


def extract(
    name: str, encoding: str = "utf-8", content_type: str | None = "text/html", **kwargs
) -> ExtractedArticle:
    return extract_article(load(name, encoding), f"https://news.example.cn/{name}", content_type, **kwargs)


@pytest.fixture(scope="module")
def gbk_article() -> ExtractedArticle:
    return extract("zh_gbk_byline_date.html", "gbk", "text/html; charset=utf-8")


# --- encoding -----------------------------------------------------------------------------------


def test_wrong_utf8_header_on_gbk_page_is_caught(gbk_article: ExtractedArticle) -> None:
    assert gbk_article.encoding == "gb18030"
    assert gbk_article.title == "江南市新能源公交线路全面开通"
    assert gbk_article.text.startswith("本报讯 2月10日上午，随着一辆崭新的纯电动公交车")
    assert "\ufffd" not in gbk_article.text
    # Typical mojibake of GBK read as UTF-8 or Latin-1.
    assert not any(marker in gbk_article.text for marker in ("Ã", "ä¸", "½", "¹"))


def test_big5_page_decodes_and_is_traditional() -> None:
    article = extract("zh_big5_traditional.html", "big5")
    assert article.encoding == "big5hkscs"
    assert article.title == "港灣區舉辦第十屆海洋文化節"
    assert "漁人碼頭開幕" in article.text
    assert article.language == "zh-Hant"
    assert article.author == "林美玲"


def test_utf8_bom_beats_a_wrong_gbk_header() -> None:
    body = codecs.BOM_UTF8 + load("zh_bom_published_time.html")
    article = extract_article(body, "https://news.example.cn/a", "text/html; charset=gbk")
    assert article.encoding == "utf-8"
    assert article.title == "北湖科技园发布人工智能产业扶持新政"
    assert "算力补贴" in article.text


# --- text -------------------------------------------------------------------------------------


def test_chinese_boilerplate_lines_are_stripped(gbk_article: ExtractedArticle) -> None:
    for boilerplate in ("责任编辑", "分享到", "版权所有", "ICP", "来源：", "2008-2025"):
        assert boilerplate not in gbk_article.text
    assert gbk_article.text.endswith("让更多市民享受到便捷的绿色出行服务。")


def test_paragraphs_are_separated_by_single_newlines(gbk_article: ExtractedArticle) -> None:
    paragraphs = gbk_article.text.split("\n")
    assert len(paragraphs) == 5
    assert all(paragraph.strip() == paragraph and paragraph for paragraph in paragraphs)


def test_sidebar_headlines_are_not_article_text(gbk_article: ExtractedArticle) -> None:
    assert "植树动员大会" not in gbk_article.text
    assert "首页" not in gbk_article.text


def test_navigation_page_raises_no_article_error() -> None:
    with pytest.raises(NoArticleError, match=r"zh_navigation_only\.html"):
        extract("zh_navigation_only.html")


def test_table_layout_page_yields_the_article_cell_split_at_line_breaks() -> None:
    article = extract("zh_table_br_layout.html")
    assert article.title == "城西街道开展春季消防安全检查"
    assert article.published == datetime(2025, 3, 5, tzinfo=SHANGHAI)
    paragraphs = article.text.split("\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("为切实做好春季火灾防控工作")
    assert paragraphs[-1].endswith("切实筑牢辖区消防安全防线。")
    for stray in ("相关链接", "燃气安全排查", "打印本页", "|", "ICP"):
        assert stray not in article.text


def test_empty_body_raises_no_article_error() -> None:
    with pytest.raises(NoArticleError):
        extract_article(b"", "https://news.example.cn/empty")


# --- title ------------------------------------------------------------------------------------


def test_site_suffix_is_stripped_from_title(gbk_article: ExtractedArticle) -> None:
    assert gbk_article.title == "江南市新能源公交线路全面开通"


def test_headline_is_not_repeated_as_first_paragraph(gbk_article: ExtractedArticle) -> None:
    assert not gbk_article.text.startswith(gbk_article.title)


def test_feed_title_and_date_hints_win() -> None:
    article = extract(
        "zh_gbk_byline_date.html",
        "gbk",
        title_hint=" 新能源公交全面开通（订阅源标题） ",
        published_hint=datetime(2025, 2, 11, 7, 0),
    )
    assert article.title == "新能源公交全面开通（订阅源标题）"
    # A naive feed date is read in the local time zone.
    assert article.published == datetime(2025, 2, 11, 7, 0, tzinfo=SHANGHAI)


def test_blank_title_hint_is_ignored() -> None:
    assert extract("zh_gbk_byline_date.html", "gbk", title_hint="  ").title == "江南市新能源公交线路全面开通"


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("江南市新能源公交线路全面开通_江南日报", "江南市新能源公交线路全面开通"),
        ("标题文字在这里_财经频道_江南日报", "标题文字在这里"),
        ("武汉的声音：有英勇的你，才有英雄的城！-新华网", "武汉的声音：有英勇的你，才有英雄的城！"),
        (
            "Obama admits US gun laws are his 'biggest frustration' - BBC News",
            "Obama admits US gun laws are his 'biggest frustration'",
        ),
        ("经济部公布新一季调查｜财经频道｜岛屿日报", "经济部公布新一季调查"),
        ("COVID-19 cases fall in Shanghai", "COVID-19 cases fall in Shanghai"),
        (
            "Lupita Nyong'o's $150K Pearl Oscar Dress -- STOLEN!!!",
            "Lupita Nyong'o's $150K Pearl Oscar Dress -- STOLEN!!!",
        ),
        ("新闻动态--中国地理学会官网", "新闻动态--中国地理学会官网"),  # the segment kept is the longest
    ],
)
def test_site_suffixes_are_recognised(raw: str, title: str) -> None:
    assert strip_site_suffix(raw) == title


def _page_titled(title: str, site_name: str) -> bytes:
    paragraph = "山路一路蜿蜒，雲霧停在山頭，營地的楓葉在低溫裡一夜轉紅，清晨的光從林間斜斜照下來。"
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:site_name" content="{site_name}"><meta property="og:title" content="{title}">'
        f"</head><body><article>{''.join(f'<p>{paragraph}</p>' for _ in range(6))}</article></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("raw", "site_name", "title"),
    [
        # A blog platform's <title>: post @ blog name :: platform ::, the blog name declared as the site.
        ("尖石鄉_秋日營地賞楓 (2) @ 山居小記_阿明 :: 痞客邦 PIXNET ::", "山居小記_阿明", "尖石鄉_秋日營地賞楓 (2)"),
        ("Why the hills turn red in autumn » Mountain Notes", "Mountain Notes", "Why the hills turn red in autumn"),
        # The declared name inside the headline itself is not a suffix.
        ("Why Mountain Notes readers love autumn", "Mountain Notes", "Why Mountain Notes readers love autumn"),
        ("山居小記_阿明", "山居小記_阿明", "山居小記_阿明"),
    ],
)
def test_the_site_name_a_page_declares_is_cut_from_its_title(raw: str, site_name: str, title: str) -> None:
    article = extract_article(_page_titled(raw, site_name), "https://blog.example.tw/post/1", "text/html")
    assert article.title == title


# --- date -------------------------------------------------------------------------------------


def test_byline_date_wins_over_footer_copyright_year(gbk_article: ExtractedArticle) -> None:
    assert gbk_article.published == datetime(2025, 2, 10, 10, 32, tzinfo=SHANGHAI)


def test_naive_dates_are_read_in_the_given_local_time_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    article = extract("en_byline.html", local_tz=new_york)
    assert article.published == datetime(2025, 2, 10, 14, 5, tzinfo=new_york)


def test_article_published_time_meta_wins_over_byline_date() -> None:
    article = extract("zh_bom_published_time.html")
    assert article.published == datetime(2025, 3, 1, 8, 0, tzinfo=SHANGHAI)
    assert article.published.utcoffset() is not None


def test_pubdate_meta_without_zone_is_local() -> None:
    article = extract("zh_hant_utf8.html")
    assert article.published == datetime(2025, 4, 1, 9, 0, tzinfo=SHANGHAI)


def test_a_date_only_meta_takes_the_time_another_candidate_gives_the_same_day() -> None:
    # publishdate "2020-01-02" stood first, and og:release_date "2020-01-02 17:11" was never read:
    # digests showed a made-up "00:00".
    article = extract("zh_day_meta_and_timed_meta.html")
    assert article.published == datetime(2025, 5, 6, 17, 11, tzinfo=SHANGHAI)


def test_a_date_only_meta_never_moves_to_another_day_for_a_time() -> None:
    page = load("zh_day_meta_and_timed_meta.html").replace(b'content="2025-05-06 17:11"', b'content="2025-05-07 17:11"')
    article = extract_article(page, "https://news.example.cn/a.html", "text/html")
    assert article.published == datetime(2025, 5, 6, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-02-10T10:32:00+08:00", datetime(2025, 2, 10, 10, 32, tzinfo=SHANGHAI)),
        ("2025-02-10T02:32:00Z", datetime(2025, 2, 10, 10, 32, tzinfo=SHANGHAI)),
        ("2025年2月10日 10:32", datetime(2025, 2, 10, 10, 32, tzinfo=SHANGHAI)),
        ("2025-2-10 10:32:05", datetime(2025, 2, 10, 10, 32, 5, tzinfo=SHANGHAI)),
        ("2025/02/10", datetime(2025, 2, 10, tzinfo=SHANGHAI)),
        ("2025.02.10", datetime(2025, 2, 10, tzinfo=SHANGHAI)),
        ("Mon, 10 Feb 2025 02:32:00 GMT", datetime(2025, 2, 10, 10, 32, tzinfo=SHANGHAI)),
        ("February 10, 2025 2:05 pm", datetime(2025, 2, 10, 14, 5, tzinfo=SHANGHAI)),
        ("发布时间：18-03-08 21:30", datetime(2018, 3, 8, 21, 30, tzinfo=SHANGHAI)),
        ("2025-13-45", None),
        ("© 2008-2025", None),
        ("", None),
    ],
)
def test_dates_are_parsed_timezone_aware(value: str, expected: datetime | None) -> None:
    parsed = parse_datetime(value, SHANGHAI)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


# --- author -----------------------------------------------------------------------------------


def test_byline_reporter_is_author(gbk_article: ExtractedArticle) -> None:
    assert gbk_article.author == "王晓明"


def test_byline_author_beats_a_meta_author_that_is_the_site_name() -> None:
    assert extract("zh_bom_published_time.html").author == "赵一鸣"


def test_english_byline_gives_author_and_language() -> None:
    article = extract("en_byline.html")
    assert article.author == "Jane Doe"
    assert article.language == "en"
    assert article.title == "Riverside council approves new flood barrier"
    assert article.text.startswith("The Riverside town council voted")


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("作者：王晓明", "王晓明"),
        ("2025-02-10 来源：江南日报 记者 王晓明 李华 报道", "王晓明、李华"),
        ("（记者 王晓明）", "王晓明"),
        ("长江网10月4日讯（记者陈智 整合）", "陈智"),
        ("新京报快讯（记者 裴剑飞）今日有网友爆料", "裴剑飞"),
        ("2025/03/15 記者 林美玲 報導", "林美玲"),
        ("文/张小北", "张小北"),
        ("By Jane Doe", "Jane Doe"),
        ("By Jane Doe and John Roe", "Jane Doe and John Roe"),
        ("记者从市交通局获悉，新线路将于下月开通", None),
        ("作者：未知", None),
        ("The bridge was built by hand", None),
    ],
)
def test_byline_patterns(line: str, author: str | None) -> None:
    assert byline_author(line) == author


# --- language ---------------------------------------------------------------------------------


def test_traditional_utf8_page_is_zh_hant() -> None:
    # The template says lang="zh"; the text is Traditional.
    article = extract("zh_hant_utf8.html")
    assert article.language == "zh-Hant"
    assert article.title == "經濟部公布新一季中小企業景氣調查"


def test_simplified_page_is_zh_hans(gbk_article: ExtractedArticle) -> None:
    assert gbk_article.language == "zh-Hans"


def test_template_lang_en_on_a_chinese_page_is_overruled_by_the_text() -> None:
    source = (PAGES / "zh_gbk_byline_date.html").read_text(encoding="utf-8")
    body = source.replace("<html>", '<html lang="en">', 1).encode("gbk")
    assert extract_article(body, "https://news.example.cn/a").language == "zh-Hans"


def test_lang_attribute_is_used_for_other_languages() -> None:
    source = (PAGES / "en_byline.html").read_text(encoding="utf-8")
    body = source.replace("<html>", '<html lang="en-GB">', 1).encode("utf-8")
    assert extract_article(body, "https://news.example.com/a").language == "en"


@pytest.mark.parametrize(
    ("tag", "text", "language"),
    [
        ("zh-CN", "江南市新能源公交线路全面开通", "zh-Hans"),
        ("zh-cn", "港灣區舉辦第十屆海洋文化節，吸引大批民眾參觀", "zh-Hant"),
        ("zh", "江南市新能源公交线路全面开通", "zh-Hans"),
        ("zh-TW", "", "zh-Hant"),
        ("zh-HK", "", "zh-Hant"),
        ("zh-Hant-TW", "", "zh-Hant"),
        ("en-US", "", "en"),
        ("EN", "", "en"),
        ("de", "", "de"),
        ("x-default", "", None),
        ("", "", None),
    ],
)
def test_lang_attributes_are_normalised(tag: str, text: str, language: str | None) -> None:
    assert normalise_language(tag, text) == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("江南市新能源公交线路全面开通，全市公交实现全面电动化。", "zh-Hans"),
        ("港灣區舉辦第十屆海洋文化節，主辦單位規劃了傳統漁船展示。", "zh-Hant"),
        ("The council voted on Monday to approve the plan for the new barrier.", "en"),
        ("Der Stadtrat hat am Montag den Bau einer Flutschutzmauer beschlossen.", None),
        ("", None),
    ],
)
def test_language_is_guessed_from_the_text(text: str, language: str | None) -> None:
    assert guess_language(text) == language


@pytest.mark.parametrize(("headline", "clean"), [("南京追问六小龙".encode("gbk"), True),
                                                 ("南京追问六小龙".encode("gbk")[:-1] + b"\xff", False)])
def test_extraction_says_whether_the_headline_decoded_cleanly(headline: bytes, clean: bool) -> None:
    # The title comes back tidied of U+FFFD either way; the flag lets a crawl prefer the feed's title.
    paragraphs = "".join(f"<p>{'杭州六小龙引发南京反思，本报记者连日走访创新企业与高校。' * 3}{i}</p>" for i in range(6))
    page = (b"<html><head><meta charset='gbk'><title>" + headline + b"</title></head><body><article><h1>"
            + headline + b"</h1>" + paragraphs.encode("gbk") + b"</article></body></html>")
    extraction = extract_with_overrides(page, "https://news.example.cn/a", "text/html")
    assert extraction.headline_clean is clean
    assert "\ufffd" not in extraction.article.title


@pytest.mark.parametrize("lead_chars", [94, 95, 96, 97, 98])
def test_a_reporter_in_a_sentence_near_the_leads_cut_is_no_byline(lead_chars: int) -> None:
    # Found in an outside trial: the lead was cut at 100 characters before the byline check, so
    # "记者走访了多家初创企业" whose 记者 sat at characters 97-98 read as the byline "记者 走访".
    lead = ("杭州的创业生态吸引了各地的考察团前来取经" * 6)[:lead_chars]
    paragraph = f"{lead}记者走访了多家初创企业，发现它们大多得到了政府引导基金的早期支持。"
    body = "".join(f"<p>{paragraph if i == 0 else '这些企业的创始人大多毕业于浙江大学，彼此之间联系紧密，形成了独特的创业圈子。' * 2}</p>"
                   for i in range(6))
    html = f"<html><head><title>杭州创业观察</title></head><body><article><h1>杭州创业观察</h1>{body}</article></body></html>"
    article = extract_article(html.encode(), "https://example.com/a.html", "text/html; charset=utf-8")
    assert article.text.startswith(lead)
    assert article.author is None


def test_control_characters_in_a_page_never_reach_the_article() -> None:
    # A headline with "\x1b]0;…\x07" (set the terminal's title) or "\x1b[31m" was stored as scraped,
    # and `mediawatch articles` wrote the escape sequences to the operator's terminal; a form
    # feed or NUL in the text went into every digest and export. No news page means them.
    esc = "\x1b[31m六小龙\x1b[0m \x1b]0;pwned\x07 \x00\x0b\x0c\x7f\x85\x9b"
    body = "南京为何发展不出杭州六小龙？这是一场难得的自我追问，讨论持续升温。" * 6
    page = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{esc} 南京之问</title><meta name=\"author\" content=\"记者 {esc}\"></head>"
        f"<body><article><h1>{esc} 南京之问</h1><p>{body}{esc}</p><p>{body}</p></article></body></html>"
    )
    article = extract_article(page.encode("utf-8"), "https://news.example.cn/ctrl.html", "text/html")
    hinted = extract_article(page.encode("utf-8"), "https://news.example.cn/ctrl.html", "text/html",
                             title_hint=f"{esc} 南京之问")
    for value in (article.title, article.text, article.author or "", hinted.title):
        assert not [c for c in value if c not in "\n\t" and (c < " " or "\x7f" <= c <= "\x9f")], repr(value)
    assert "六小龙" in article.title and "南京之问" in article.title and "\n" in article.text


def test_bidi_overrides_in_a_page_never_reach_the_article() -> None:
    # U+202E in a headline reversed the rest of its line in the digest and the console, past the headline.
    body = "南京为何发展不出杭州六小龙？这是一场难得的自我追问，讨论持续升温。" * 6
    page = ('<!doctype html><html><head><meta charset="utf-8"><title>南京\u202e之问</title></head>'
            f"<body><article><h1>南京\u202e之问\u2066</h1><p>{body}\u202d</p><p>{body}</p></article></body></html>")
    article = extract_article(page.encode("utf-8"), "https://news.example.cn/bidi.html", "text/html")
    hinted = extract_article(page.encode("utf-8"), "https://news.example.cn/bidi.html", "text/html",
                             title_hint="南京\u202e之问")
    for value in (article.title, article.text, hinted.title):
        assert not [c for c in value if "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069"], repr(value)
    assert article.title == hinted.title == "南京之问"

def test_binary_bytes_served_as_a_page_are_no_article() -> None:
    # A file served as text/html (an image, an archive, a compressed body without its
    # Content-Encoding) decoded as GB18030 into a "Chinese" text of 2,000 random characters,
    # and was stored, matched and digested as an article. Real pages hold almost no control
    # characters (at most 0.012% over the corpora); such bytes decode to 12-17%.
    rnd = random.Random(7)
    noise = bytes(rnd.getrandbits(8) for _ in range(3000))
    packed = zlib.compress(("<p>" + "南京为何发展不出杭州六小龙？" * 200 + "</p>").encode())
    for data in (noise, packed, b"\x89PNG\r\n\x1a\n" + noise):
        with pytest.raises(NoArticleError, match="binary"):
            extract_article(data, "https://news.example.cn/file.html", "text/html")


@pytest.mark.parametrize("holder", ["form><textarea name=c", "noembed", "noframes"])
def test_text_a_reader_never_sees_as_page_text_is_not_the_article(holder: str) -> None:
    # A comment box prefilled with escaped markup (or an "embed this" code box), and the
    # fallbacks a browser never shows: the parser reads their contents as raw text, so
    # "<p>…<b>…</b></p>" came out as the article's text when the block was the page's largest.
    story = "<p>南京为什么出不了杭州六小龙？这是江苏官方媒体提出的问题，引发了各地的讨论和反思。</p>" * 2
    hidden = "&lt;p&gt;评论：南京应该学习杭州的营商环境，&lt;b&gt;耐心资本&lt;/b&gt;很重要。&lt;/p&gt;" * 20
    tag = holder.split("><")[-1].split()[0]
    page = (f"<html><head><title>南京追问</title></head><body><div class=main><h1>南京追问</h1>{story}</div>"
            f"<{holder}>{hidden}</{tag}>{'</form>' if 'form' in holder else ''}<p>完</p></body></html>")
    article = extract_article(page.encode(), "https://news.example.cn/a.html", "text/html; charset=utf-8")
    assert "南京为什么出不了杭州六小龙" in article.text
    assert "耐心资本" not in article.text and "<" not in article.text, article.text[:200]


def test_an_article_nested_deeper_than_255_elements_is_read() -> None:
    # libxml2's HTML parser stops at depth 256 unless told otherwise: a template that never
    # closes its <div>s (one per comment, per related link) hid the article past that depth,
    # and the page was "no article text found". Listings (parsel) always parsed them whole.
    text = "南京为何发展不出杭州六小龙？这是一场难得的自我追问，讨论持续升温。" * 10
    page = "<html><body>" + "<div>" * 300 + f"<p>{text}</p>" * 3 + "</div>" * 300 + "</body></html>"
    article = extract_article(page.encode(), "https://news.example.cn/deep.html", "text/html")
    assert text in article.text


def test_a_page_of_too_many_elements_is_read_from_its_start() -> None:
    # 30,000 paragraphs with a link each (60,000 elements): text extraction costs more than
    # linearly in a page's size, and a 9 MB page of this kind held a crawl's thread 40 s.
    paragraphs = "".join(f"<p>第{i}段：南京与杭州的六小龙之问，创新生态与营商环境。<a href='/x{i}'>链接</a></p>"
                         for i in range(30_000))
    page = (f"<html><head><meta charset='utf-8'><title>南京追问六小龙</title>"
            f"<meta property='article:published_time' content='2025-02-09T08:00:00+08:00'></head>"
            f"<body><article><h1>南京追问六小龙</h1>{paragraphs}</article></body></html>").encode()
    article = extract_article(page, "https://news.example/long.html")
    assert article.title == "南京追问六小龙"  # the head is kept
    assert article.published is not None and article.published.date().isoformat() == "2025-02-09"
    assert "第0段" in article.text and "第9000段" in article.text
    assert "第29999段" not in article.text  # past the cut


def test_cut_after_keeps_the_document_up_to_the_limit_in_reading_order() -> None:
    from crawler.extract.page import cut_after, parse_html

    tree = parse_html("<html><head><title>t</title></head><body><div><p>a<b>b</b>c</p><p>d</p></div><p>e</p></body></html>")
    assert tree is not None
    order = [e.tag for e in tree.iter()]
    assert order == ["html", "head", "title", "body", "div", "p", "b", "p", "p"]
    assert not cut_after(tree, 9) and [e.tag for e in tree.iter()] == order  # nothing past the limit
    assert cut_after(tree, 6)  # up to the first <p>, its own text kept, its children and what follows dropped
    assert [e.tag for e in tree.iter()] == order[:6]
    assert tree.body.text_content() == "a"
