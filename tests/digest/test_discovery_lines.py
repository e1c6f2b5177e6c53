"""What discovery adds to a digest: a "new outlets this period" line and how each article was found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.render import render_digest
from digest.select import select_digest
from digest.view import DigestView
from storage.ledger import LedgerArticle
from storage.models import Article

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 2, 12, tzinfo=UTC)


def _item(article_id: int, url: str, source: str, via: str = "listed", *, new: bool = False,
          outlet: str | None = None) -> LedgerArticle:
    article = Article(
        id=article_id, url=url, source_name=source, title=f"六小龙之问 {article_id}", published_at=NOW - timedelta(hours=1),
        fetched_at=NOW, text=f"六小龙 正文 {article_id}", content_hash=f"h{article_id}", storyline_id=article_id,
        discovered_via=via, outlet=outlet, new_outlet=new,
    )
    return LedgerArticle(article, 0.8, ("六小龙",))


def _view() -> DigestView:
    items = [
        _item(1, "https://www.xhby.net/a/1", "xhby", outlet="xhby.net"),
        _item(2, "https://www.jnnews.tv/p/2", "gnews-zh-cn", "search", new=True, outlet="jnnews.tv"),
        _item(3, "https://news.tzrb.com/o/3", "gnews-zh-cn", "cited", new=True, outlet="news.tzrb.com"),
        _item(4, "https://www.zaobao.com.sg/s/4", "zaobao-rsshub", "rsshub", outlet="zaobao.com.sg"),
    ]
    return select_digest("t", items, now=NOW, tz=SHANGHAI, since=None, seed=None,
                         outlets={"xhby": "新华日报", "zaobao-rsshub": "联合早报"}, coverage=[])


def test_new_outlets_and_discovery_paths_are_shown_in_html_and_text() -> None:
    view = _view()
    assert view.new_outlets == ("jnnews.tv", "news.tzrb.com")
    by_id = {s.lead.article_id: s.lead for s in view.storylines.items}
    # A search or cited find is named by its publisher, not by the search source that found it.
    assert (by_id[2].outlet, by_id[2].via) == ("jnnews.tv", "found by news search")
    assert (by_id[3].outlet, by_id[3].via) == ("news.tzrb.com", "cited by another report")
    assert (by_id[4].outlet, by_id[4].via) == ("联合早报", "via RSSHub")
    assert (by_id[1].outlet, by_id[1].via) == ("新华日报", None)
    assert view.outlet_count == 4

    rendered = render_digest(view)
    for body in (rendered.html, rendered.text):
        assert "New outlets this period: jnnews.tv, news.tzrb.com" in body
        assert "found by news search" in body and "cited by another report" in body and "via RSSHub" in body
