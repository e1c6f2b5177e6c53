"""Pages whose running text is not all article: several posts, a guest book, a list of links.

Held-out Chinese pages broke the extractor this way; each fixture
``tests/data/pages/zh_*.html`` here says at its top what it must yield and has
its expected text next to it (``.txt``). The rules behind them
(``crawler.extract.sections``) are tested on small trees below.
"""

from __future__ import annotations

import lxml.html
import pytest

from crawler.extract.article import extract_article
from crawler.extract.sections import drop_comment_records, drop_link_lines, titled_post
from tests.conftest import TEST_DATA

PAGES = TEST_DATA / "pages"


def source(name: str) -> str:
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def expected(name: str) -> str:
    return (PAGES / f"{name}.txt").read_text(encoding="utf-8").strip()


def extracted(name: str, body: bytes) -> str:
    return extract_article(body, f"http://www.example.cn/{name}.html").text


def test_page_of_several_posts_gives_the_post_its_title_names() -> None:
    text = extracted("zh_blog_several_posts", source("zh_blog_several_posts").encode("utf-8"))
    assert text == expected("zh_blog_several_posts")


def test_guest_book_longer_than_the_article_does_not_win() -> None:
    body = source("zh_guestbook_longer_than_article").encode("gbk")
    assert extracted("zh_guestbook_longer_than_article", body) == expected("zh_guestbook_longer_than_article")


def test_related_headline_list_after_the_article_is_dropped() -> None:
    body = source("zh_related_list_after_article").encode("utf-8")
    assert extracted("zh_related_list_after_article", body) == expected("zh_related_list_after_article")


# --- the rules on small trees -----------------------------------------------------------------------


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def test_comment_records_need_a_time_and_a_readers_mark() -> None:
    comments = "".join(f'<div class="c"><b>网友{i}</b> 2025-03-0{i} 10:2{i}<p>说得好，支持！</p></div>' for i in range(1, 5))
    chronology = "".join(f'<div class="c">2025-03-0{i} 10:2{i} 工程完成第{i}阶段。</div>' for i in range(1, 5))
    page = tree(f"<html><body><div id='a'>{chronology}</div><div id='b'>{comments}</div></body></html>")
    assert drop_comment_records(page) == 4
    assert len(page.get_element_by_id("a")) == 4
    assert len(page.get_element_by_id("b")) == 0


def test_a_long_first_record_is_the_threads_opening_post_and_stays() -> None:
    opening = "<p>" + "我家新房九十平，准备下个月装修，想听听大家对墙面用料的意见。" * 4 + "</p>"
    replies = "".join(f'<div class="post">回复 {i}楼 2025-03-08 21:1{i}<p>顶一个。</p></div>' for i in range(2, 6))
    page = tree(f'<html><body><div id="t"><div class="post">楼主 2025-03-08 21:00{opening}</div>{replies}</div></body></html>')
    drop_comment_records(page)
    assert [len(post.text_content()) > 100 for post in page.get_element_by_id("t")] == [True]


def test_a_short_opening_post_marked_as_such_stays() -> None:
    replies = "".join(
        f'<div class="post">{i}楼 2025-03-08 21:1{i}<p>{"我家去年装修用的普通乳胶漆，效果不错，" * 4}</p></div>' for i in range(2, 6)
    )
    page = tree(f'<html><body><div id="t"><div class="post">楼主 2025-03-08 21:00<p>求推荐墙面漆。</p></div>{replies}</div></body></html>')
    drop_comment_records(page)
    assert [post.text_content().startswith("楼主") for post in page.get_element_by_id("t")] == [True]


def test_single_article_page_has_no_titled_post() -> None:
    page = tree(
        "<html><head><title>标题一_网站</title></head><body><div class='a'><h1>标题一</h1>"
        "<p>" + "正文内容，" * 40 + "</p></div><div class='b'><h3>相关新闻</h3><p>" + "其他内容，" * 40 + "</p></div></body></html>"
    )
    assert titled_post(page, "标题一") is None


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        (["正文第一段，说了一件事。", "- 链接标题甲（2025-04-01）", "- 链接标题乙"], ["正文第一段，说了一件事。"]),
        (["正文第一段。", "链接标题甲", "正文第二段。"], ["正文第一段。", "链接标题甲", "正文第二段。"]),
    ],
)
def test_linked_lines_go_in_runs_or_at_the_edges(lines: list[str], kept: list[str]) -> None:
    page = tree('<html><body><a href="/1">链接标题甲</a><a href="/2">链接标题乙</a></body></html>')
    assert drop_link_lines(page, "\n".join(lines)) == "\n".join(kept)
