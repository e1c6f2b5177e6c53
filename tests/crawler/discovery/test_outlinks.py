"""Cited links: which links in an article are reports it cites, and which hosts may be fetched."""

from __future__ import annotations

from crawler.config import DiscoveryConfig, SourceConfig
from crawler.discovery.context import DiscoveryRun, DiscoverySettings
from crawler.discovery.outlets import host_matches, outlet_of
from crawler.discovery.outlinks import cited_links

PAGE = """<html><body>
<nav><a href="https://other.example/news/1.html">据新华社报道 nav link</a></nav>
<article>
  <p>南京为何发展不出“六小龙”？据<a href="https://www.jnnews.tv/p/2025/02/10/1.html">济南日报报道</a>，各地都在反思。</p>
  <p>原标题：<a href="/local/2025/2.html">三问南京</a></p>
  <p>See also <a href="https://think.example/notes/six-dragons">a think-tank note</a>.</p>
  <p><a href="https://cdn.example/photo.jpg">photo</a> <a href="mailto:desk@example.org">mail</a>
     <a href="https://www.site.cn/">home</a> <a href="#top">top</a></p>
  <p>Related: <a href="/local/2025/3.html">same-site link without a cue</a></p>
</article>
<footer><a href="https://elsewhere.example/a/1.html">footer</a></footer>
</body></html>"""


def test_cited_links_are_cued_or_cross_outlet_links_in_the_prose() -> None:
    links = cited_links(PAGE, "https://www.site.cn/local/2025/1.html")
    assert links == [
        "https://www.jnnews.tv/p/2025/02/10/1.html",  # 据……报道
        "https://www.site.cn/local/2025/2.html",  # 原标题, same site
        "https://think.example/notes/six-dragons",  # another outlet, no cue
    ]


def test_cited_links_are_read_against_the_pages_base_element() -> None:
    # A page with <base href="/news/"> means "2025/2.html" under /news/; read against the page's URL it
    # became a link to a page that does not exist, fetched as a citation and counted as failed.
    page = """<html><head><base href="https://www.site.cn/news/"></head><body><article>
      <p>原标题：<a href="2025/2.html">三问南京</a></p></article></body></html>"""

    assert cited_links(page, "https://www.site.cn/local/2025/1.html") == ["https://www.site.cn/news/2025/2.html"]


def test_a_cited_link_python_cannot_parse_is_skipped_not_raised() -> None:
    # urljoin / canonicalize_url raised ValueError on it, and the article citing it was lost.
    page = """<html><body><article>
      <p>据<a href="http://[::1/news/2025/02/10/1.html">新华日报报道</a>，又据<a href="https://x.example:99999/news/2.html">报道</a>，
      再据<a href="https://www.jnnews.tv/p/2025/02/10/1.html">济南日报报道</a>。</p></article></body></html>"""

    assert cited_links(page, "https://www.site.cn/local/2025/1.html") == ["https://www.jnnews.tv/p/2025/02/10/1.html"]


def test_cited_links_of_junk_are_empty() -> None:
    assert cited_links(b"", "https://www.site.cn/") == []
    assert cited_links("<p>no links</p>", "https://www.site.cn/") == []


def test_outlets_ignore_www_and_keep_a_non_default_port() -> None:
    assert outlet_of("https://WWW.JNnews.tv/p/1") == "jnnews.tv"
    assert outlet_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert outlet_of("https://example.org:443/a") == "example.org"
    assert host_matches("news.tzrb.com", ["*.tzrb.com"]) and host_matches("tzrb.com", ["*.tzrb.com"])
    assert not host_matches("tzrb.com.evil", ["*.tzrb.com"])


def _settings(**config: object) -> DiscoverySettings:
    sources = [SourceConfig(name="a", kind="feed", url="https://www.thepaper.cn/rss")]
    return DiscoverySettings.from_config(DiscoveryConfig.model_validate(config), sources)


def test_outlinks_default_to_listed_outlets_and_deny_wins() -> None:
    default = _settings()
    assert default.outlink_allowed("https://thepaper.cn/newsDetail_forward_1")
    assert not default.outlink_allowed("https://www.jnnews.tv/p/1.html")
    chosen = _settings(outlink_hosts=["*.jnnews.tv"], outlink_deny=["bad.jnnews.tv"])
    assert chosen.outlink_allowed("https://www.jnnews.tv/p/1.html")
    assert not chosen.outlink_allowed("https://bad.jnnews.tv/p/1.html")
    assert not chosen.outlink_allowed("https://thepaper.cn/newsDetail_forward_1")


def test_the_run_budget_is_shared_and_each_url_is_tried_once() -> None:
    run = DiscoveryRun.start(_settings(max_outlinks_per_run=2))
    assert run.take("https://a.example/1") and not run.take("https://a.example/1")
    assert run.take("https://a.example/2")
    assert not run.take("https://a.example/3")
