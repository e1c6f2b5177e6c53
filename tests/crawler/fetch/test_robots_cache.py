"""robots.txt is fetched once per host per process, not once per crawl run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scheduler.demo.site import Route, StaticSite
from tests.conftest import REPO_ROOT, write_config

TWO_CRAWLS = """
import sys
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl_now, load_app_config

app = build_app(load_app_config(sys.argv[1]))
sources = app.config.select_sources(None)

async def twice():
    for _ in range(2):
        await crawl_now(app, sources, trigger="manual")

run_on_reactor(twice)
app.close()
"""


def test_a_second_crawl_in_the_same_process_reuses_the_hosts_robots_txt(tmp_path: Path) -> None:
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    routes = {"robots.txt": Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
              "feed.xml": Route(body=feed.encode(), content_type="application/rss+xml")}
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [{"name": "t", "keywords": ["x"]}],
            "sources": [{"name": "s", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
        })
        done = subprocess.run([sys.executable, "-c", TWO_CRAWLS, str(config)], capture_output=True, text=True,
                              timeout=120, cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr[-2000:]
        assert site.hits("feed.xml") == 2
        assert site.hits("robots.txt") == 1
