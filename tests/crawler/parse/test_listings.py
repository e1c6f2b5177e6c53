"""pick_links on its own: which links a listing page's selector picks, and how they are resolved."""

from __future__ import annotations

import pytest

from crawler.parse.listings import pick_links
from scheduler.demo import DEMO_SITE

BASE = "https://demo.example/donghai/index.html"


def listing() -> str:
    return (DEMO_SITE / "donghai/index.html").read_text(encoding="utf-8")


def test_css_selector_picks_article_links_in_page_order_resolved_against_the_page() -> None:
    links = pick_links(listing(), BASE, css="ul.news-list a")

    assert links[:3] == [
        "https://demo.example/donghai/2025/02/11/vc-view.html",
        "https://demo.example/donghai/2025/02/10/gbk-page.html",
        "https://demo.example/donghai/2025/02/09/reprint-hu-xijin.html",
    ]
    assert not any("ads.example.com" in link for link in links)  # the banner is outside the list


def test_xpath_and_attribute_selectors_pick_the_same_links() -> None:
    by_css = pick_links(listing(), BASE, css="ul.news-list a")
    assert pick_links(listing(), BASE, css="ul.news-list a::attr(href)") == by_css
    assert pick_links(listing(), BASE, xpath="//ul[@class='news-list']//a/@href") == by_css
    assert pick_links(listing(), BASE, xpath="//ul[@class='news-list']//a") == by_css


def test_repeats_are_left_out_and_non_http_links_kept_for_the_spider_to_refuse() -> None:
    # The spider counts javascript:/mailto: links as refused, as it does a feed's.
    html = """<ul><li><a href="javascript:void(0)">js</a></li><li><a href="mailto:a@b.example">mail</a></li>
      <li><a href="/a.html">a</a></li><li><a href="/a.html">a again</a></li><li><a>no href</a></li></ul>"""

    assert pick_links(html, BASE, css="li a") == [
        "javascript:void(0)", "mailto:a@b.example", "https://demo.example/a.html"]


def test_links_back_to_the_listing_page_itself_are_not_article_links() -> None:
    # "#top", "#" and "//" all read as the listing page itself: with a selector as broad
    # as the page's links, it was fetched as an article on every run, failed ("no article text
    # found") and was retried per URL, so every run was `partial` (or `failed`) for a link home.
    html = """<p><a href="#top">top</a><a href="#">menu</a><a href="//">x</a>
      <a href="/donghai/index.html/?utm_source=nav#list">self</a><a href="/a.html">a</a>
      <a href="?page=2">next</a></p>"""

    assert pick_links(html, BASE, css="a") == ["https://demo.example/a.html"]  # "next": a pager's link (below)


def test_a_selector_is_required() -> None:
    with pytest.raises(ValueError):
        pick_links(listing(), BASE)


def test_relative_links_resolve_against_the_pages_base_element() -> None:
    # A listing with <base href> means its relative links to be read against that, as a browser does;
    # resolved against the page's own URL they pointed at pages that do not exist (404 on every one).
    html = """<html><head><base href="/news/"></head><body>
      <a class="s" href="s1.html">1</a><a class="s" href="/top.html">2</a>
      <a class="s" href="https://other.example/x.html">3</a></body></html>"""

    assert pick_links(html, "https://demo.example/list/index.html", css="a.s") == [
        "https://demo.example/news/s1.html", "https://demo.example/top.html", "https://other.example/x.html"]
    absolute = '<head><base href="https://cdn.example/d/"></head><a class="s" href="a.html">a</a>'
    assert pick_links(absolute, BASE, xpath="//a[@class='s']/@href") == ["https://cdn.example/d/a.html"]


def test_a_base_element_that_is_not_http_is_ignored() -> None:
    html = '<head><base href="javascript:alert(1)//"></head><a class="s" href="a.html">a</a>'

    assert pick_links(html, BASE, css="a.s") == ["https://demo.example/donghai/a.html"]


def test_pagination_links_a_broad_selector_catches_are_not_article_links() -> None:
    # `link_selector = "div.list a"` on a real listing also caught its pager: page 2 of the
    # listing was fetched as an "article" and stored under the list's title, every run.
    pager = ("<a href='/list_2.html'>2</a><a href='/list_3.html'> 3 </a><a href='/list_2.html'>下一页</a>"
             "<a href='/list_9.html'>尾页</a><a href='/list_2.html'>Next »</a><a href='/list_0.html'>‹ Prev</a>"
             "<a rel='next' href='/p/2'>more stories</a><a href='/list_2.html'>&gt;&gt;</a>"
             "<a href='/list_2.html'>[下一頁]</a><a href='/list_1.html'>首页</a>")
    html = ("<div class='list'><a href='/a/1.html'>南京为何没有六小龙</a>"
            "<a href='/a/2.html'>2025</a>"  # a year alone is a headline nobody writes: but it is not a page number
            f"<a href='/a/3.html'><img src='x.jpg'></a><div class='pager'>{pager}</div></div>")
    links = pick_links(html, "https://news.example.cn/list.html", css="div.list a")
    assert links == ["https://news.example.cn/a/1.html", "https://news.example.cn/a/2.html",
                     "https://news.example.cn/a/3.html"]
    # Selected by their href attribute, the links have no text to judge: all are kept, as before.
    assert len(pick_links(html, "https://news.example.cn/list.html", css="div.list a::attr(href)")) == 9
