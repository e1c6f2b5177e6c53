"""`mediawatch demo`: the bundled demo site on 127.0.0.1, crawled into a fresh database.

The site (`scheduler/demo/pages/`) is fictional coverage written for mediawatch in the
style of Chinese outlets, with the traps real sites set: a GBK page behind a wrong
charset header, a Big5 page, an off-topic item, a syndicated copy, robots.txt.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.demo.site import StaticSite, load_site

DEMO_SITE = Path(__file__).parent / "pages"


def demo_sources(base_url: str, folder: Path = DEMO_SITE) -> list[dict[str, Any]]:
    """The demo's [[sources]], pointing at a running demo site."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    sources = []
    for spec in expected["sources"]:
        source: dict[str, Any] = {
            "name": spec["name"],
            "kind": spec["kind"],
            "url": f"{base_url}/{spec['path']}",
            "title": spec.get("title"),
            "every": "30m",
            "allow_private": True,  # the demo site lives on 127.0.0.1
        }
        if spec.get("link_selector"):
            source["link_selector"] = spec["link_selector"]
        sources.append(source)
    return sources


DEMO_TOPIC: dict[str, Any] = {
    "name": "nanjing-six-dragons",
    "keywords": ["六小龙", "six little dragons", "杭州六小龙", "DeepSeek", "深度求索", "宇树", "Unitree"],
    "seed": {
        "title": "江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
        "publisher": "联合早报",
        "published": "2025-02-11",
        "url": "https://www.zaobao.com.sg/realtime/china",
        "summary": (
            "On 7–8 February 2025 Jiaohuidian, the new-media arm of Jiangsu's party paper Xinhua Daily, "
            "ran three pieces asking why Nanjing could not produce Hangzhou's 'six little dragons' "
            "(DeepSeek, Unitree, Game Science, DeepRobotics, BrainCo, Manycore)."
        ),
    },
}


def demo_config(base_url: str, directory: Path) -> dict[str, Any]:
    """The embedded demo configuration: SQLite and digests under `directory`."""
    return {
        "database": {"url": f"sqlite:///{(directory / 'mediawatch.db').resolve()}"},
        "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 10},
        "topics": [DEMO_TOPIC],
        "sources": demo_sources(base_url),
        "digest": {"archive_dir": str((directory / "digests").resolve())},
    }


@dataclass(frozen=True)
class DemoResult:
    results: list[Any]  # one SourceResult per demo source
    stored: list[Any]  # StoredArticle, newest first
    database: Path
    digest_html: Path | None
    digest_text: Path | None


def run_demo(directory: Path, *, progress: Any = None) -> DemoResult:
    """Serve the demo site, crawl it into a fresh database under `directory`, write a digest."""
    from digest.service import send_digest
    from scheduler.app import build_app, crawl
    from scheduler.config import config_from_mapping

    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)  # a fresh start every time, so the demo always shows new articles
    directory.mkdir(parents=True)
    with StaticSite(load_site(DEMO_SITE)) as site:
        if progress is not None:
            progress.print(f"demo site serving on {site.base_url}")
        config = config_from_mapping(demo_config(site.base_url, directory), environ={})
        application = build_app(config)
        try:
            results = crawl(application, None, trigger="demo")
            stored = application.repository.list_articles(relevant_only=False, limit=None)
            # No recipients are configured, so the digest is archived, not mailed.
            outcome = send_digest(application.digest_context(), DEMO_TOPIC["name"])
        finally:
            application.close()
    return DemoResult(results, stored, directory / "mediawatch.db", outcome.archive_html, outcome.archive_text)
