"""Loopback fixtures for discovery: outlets, a fake news-search engine and a fake RSSHub instance.

Every outlet is its own `StaticSite` on 127.0.0.1 (its own port, so its own outlet);
pages are built here so each test reads as "these pages, this configuration, these rows".
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from scheduler.demo.site import Route
from tests.conftest import write_config

TOPIC = {"name": "dragons", "keywords": ["六小龙|六小龍"]}
RSS = "application/rss+xml; charset=utf-8"

STORY_A = [
    "南京为何发展不出杭州“六小龙”？江苏官方媒体连发三篇文章追问，引发各地热议。",
    "文章指出，南京高校和科研人员数量均多于杭州，却没有诞生深度求索、宇树科技这样的公司。",
    "评论认为，营商环境与对失败的包容，是杭州培育六小龙的关键所在，值得南京认真学习。",
    "多位受访学者表示，城市之间的差距不只在经济总量，更在于创新生态与人才能否留得住。",
]
STORY_B = [
    "济南也在问：我们离“六小龙”还有多远？本地媒体连日刊发评论，呼应南京之问。",
    "评论说，济南的高校资源同样丰富，但科技成果转化和风险投资仍是明显短板。",
    "作者建议，政府应当减少对初创企业的干预，给予年轻团队更多试错空间与耐心。",
    "文章最后写道，六小龙的故事说明，好的营商环境比一时的优惠政策更能留住人才。",
]
STORY_E = [
    "台州日报评论：六小龙之问，每座城市都该回答。杭州的经验并非不可复制。",
    "评论认为，地方政府要做的是服务而不是指挥，让企业家安心经营，让人才愿意留下。",
    "台州民营经济活跃，更应当从六小龙的成长路径中找到适合自己的创新之路。",
    "作者呼吁，各地不要只盯着排名，而要踏踏实实改善营商环境与创新生态。",
]
STORY_D = [
    "联合早报：江苏官媒三问南京，罕见自我批评引发中国网民热烈讨论“六小龙”。",
    "报道指出，新华日报旗下交汇点连续发文，比较南京与杭州的经济表现与创新能力。",
    "评论人士胡锡进在社交媒体上表示，这种自我反思的勇气值得肯定和鼓励。",
    "分析认为，这场讨论反映出中国城市之间在吸引科技企业方面的激烈竞争。",
]

STORY_H = [
    "香港專欄：南京為何沒有「六小龍」？江蘇官媒罕見自我批評，內地城市競爭白熱化。",
    "作者認為，杭州的經驗在於政府少干預、多服務，讓民營企業家安心創業。",
    "香港同樣需要思考，如何留住科技人才，培育屬於自己的創新企業與生態。",
    "文章指出，六小龍的崛起說明，包容失敗的文化比短期補貼更加重要。",
]


def article(title: str, paragraphs: list[str], extra_html: str = "", published: str = "2025-02-10T08:30:00+08:00") -> Route:
    """An article page with a headline, a date and the paragraphs (plus raw HTML appended to the body)."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta property="article:published_time" content="{published}"></head>
<body><nav><a href="/">首页</a></nav><article><h1>{escape(title)}</h1>
<div class="content">{body}
{extra_html}</div></article><footer>版权所有</footer></body></html>"""
    return Route(body=html.encode("utf-8"))


def rss(title: str, links: list[tuple[str, str]]) -> Route:
    """An RSS 2.0 feed with one item per (title, link)."""
    items = "\n".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>Mon, 10 Feb 2025 08:30:00 +0800</pubDate></item>"
        for t, link in links
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>
<link>http://127.0.0.1/</link><description>fixture</description>{items}</channel></rss>"""
    return Route(body=xml.encode("utf-8"), content_type=RSS)


def redirect(to: str, status: int = 302) -> Route:
    return Route(status=status, headers={"Location": to}, content_type="text/plain")


def discovery_config(tmp_path: Path, database_url: str, sources: list[dict[str, Any]],
                     crawler: dict[str, Any] | None = None, **discovery: Any) -> Path:
    return write_config(
        tmp_path / "mediawatch.toml",
        {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 10, **(crawler or {})},
            "topics": [TOPIC],
            "sources": sources,
            "discovery": discovery,
        },
    )


def gnews_article_page(signature: str = "AX9sig", timestamp: str = "1739145600") -> Route:
    """What a Google News article link with an opaque id answers: a page holding the decoding params."""
    html = (f'<html><body><c-wiz><div jscontroller="aLI87" data-n-a-sg="{signature}" data-n-a-ts="{timestamp}">'
            "</div></c-wiz><script>/* redirects in a browser */</script></body></html>")
    return Route(body=html.encode())


def gnews_batchexecute(url: str) -> Route:
    """Google's batchexecute answer that maps one id to `url`."""
    row = ["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None, None, "0"]
    body = ")]}'\n\n" + json.dumps([row, ["di", 10], ["af.httprm", 10, "-1", 1]])
    return Route(body=body.encode(), content_type="application/json; charset=utf-8")
