"""Pages that need a browser: headless Chromium (the system's) renders them, under the fetch policy.

These tests run where Chromium is installed (`.ci/run` installs Debian's `chromium`)
and skip with the reason elsewhere.
"""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config import DiscoveryConfig
from crawler.discovery.render import guard_route
from scheduler.demo.site import Route, StaticSite
from storage.db import create_engine
from storage.repository import Repository
from tests.conftest import run_cli
from tests.crawler.discovery.support import discovery_config

BROWSER = DiscoveryConfig().browser
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(BROWSER).exists() and not shutil.which("chromium"),
        reason=f"Chromium is not installed at {BROWSER} (apt-get install chromium; .ci/run does)",
    ),
]
pytest.importorskip("scrapy_playwright", reason="scrapy-playwright is not installed (it is in the lock: make test)")

STORY = (
    "江苏官媒连发三问，南京为何发展不出杭州“六小龙”？这一讨论在网上持续发酵。"
    "文章比较了两座城市的高校资源、风险投资和营商环境，认为南京需要更包容的创新生态。"
    "评论人士指出，地方政府应当少干预、多服务，让年轻的创业团队敢于试错。"
)
# The text exists only after the script runs: it fetches it (an XHR the guard must pass) and writes it in.
SCRIPTED = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>三问南京：为何没有六小龙</title>
<meta property="article:published_time" content="2025-02-10T08:30:00+08:00"></head>
<body><article><h1>三问南京：为何没有六小龙</h1><div id="content">正在加载……</div>
<img src="/photo.jpg" alt=""></article>
<script>
fetch('/api/story.json').then(r => r.json()).then(d => {
  document.getElementById('content').innerHTML = d.paragraphs.map(p => '<p>' + p + '</p>').join('');
});
</script></body></html>"""
LISTING = """<!DOCTYPE html><html><body><ul id="list"></ul>
<script>document.getElementById('list').innerHTML = '<li><a class="story" href="/story/1.html">三问南京</a></li>';</script>
</body></html>"""


@pytest.fixture
def site() -> Iterator[StaticSite]:
    paragraphs = [STORY[i : i + 40] for i in range(0, len(STORY), 40)]
    routes = {
        "index.html": Route(body=LISTING.encode()),
        "story/1.html": Route(body=SCRIPTED.encode()),
        "api/story.json": Route(body=json.dumps({"paragraphs": paragraphs}, ensure_ascii=False).encode(),
                                content_type="application/json; charset=utf-8"),
        "photo.jpg": Route(body=b"\xff\xd8" + b"0" * 1000, content_type="image/jpeg"),
        "big.json": Route(body=b'{"x": "' + b"0" * 5000 + b'"}', content_type="application/json"),
    }
    with StaticSite(routes) as server:
        yield server


def test_a_page_whose_text_needs_script_is_rendered_and_extracted(
    tmp_path: Path, database_url: str, site: StaticSite
) -> None:
    source = {"name": "scripted", "kind": "listing", "url": site.url("index.html"), "link_selector": "a.story",
              "render": True, "allow_private": True}
    config = discovery_config(tmp_path, database_url, [source], browser=BROWSER, render_timeout=20)
    result = run_cli("crawl", config=config, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    engine = create_engine(database_url)
    try:
        [stored] = Repository(engine).list_articles(relevant_only=False)
    finally:
        engine.dispose()
    assert stored.article.url == site.url("story/1.html")
    assert "营商环境" in stored.article.text and "正在加载" not in stored.article.text
    assert any(m.relevant for m in stored.matches)
    assert site.hits("api/story.json") == 1
    assert site.hits("photo.jpg") == 0  # images are never fetched: the text is what is kept


async def _browse(html: str, *, private_hosts: frozenset[str], max_bytes: int, base: str) -> str:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=BROWSER, headless=True)
        try:
            page = await browser.new_page()
            await page.route("**/*", functools.partial(guard_route, private_hosts=private_hosts, max_bytes=max_bytes))
            await page.route(f"{base}/start", lambda route: route.fulfill(body=html, content_type="text/html"))
            await page.goto(f"{base}/start")
            await page.wait_for_function("document.title !== ''", timeout=10000)
            return await page.title()
        finally:
            await browser.close()


LOOPBACK = frozenset({"127.0.0.1"})
PROBE = """<html><head><title></title></head><body><script>
fetch('{url}').then(r => r.text()).then(t => {{ document.title = 'fetched ' + t.length; }},
                                         e => {{ document.title = 'refused'; }});
</script></body></html>"""


def test_every_request_the_browser_makes_passes_the_fetch_policy(site: StaticSite) -> None:
    probe = PROBE.format(url=site.url("api/story.json"))
    # Loopback is private: unless its host is allowed, the page's own request never leaves the browser.
    title = asyncio.run(_browse(probe, private_hosts=frozenset({"localhost"}), max_bytes=10**6, base=site.base_url))
    assert title == "refused"
    assert site.hits("api/story.json") == 0
    # The same page with the address allowed fetches it (so the refusal above was the policy's).
    title = asyncio.run(_browse(probe, private_hosts=LOOPBACK, max_bytes=10**6, base=site.base_url))
    assert title.startswith("fetched ")
    assert site.hits("api/story.json") == 1
    # A response over the size limit is not handed to the page.
    big = PROBE.format(url=site.url("big.json"))
    assert asyncio.run(_browse(big, private_hosts=LOOPBACK, max_bytes=1000, base=site.base_url)) == "refused"
