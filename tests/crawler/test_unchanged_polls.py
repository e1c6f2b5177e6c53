"""A poll of unchanged sources costs each source its request and nothing more: no database transactions per source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from scheduler.demo.site import Route, StaticSite
from tests.conftest import REPO_ROOT, write_config

# Two polls in one process (the daemon's case); the database transactions of each counted on the engine.
TWO_POLLS = """
import json, sys
import sqlalchemy as sa
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl_now, load_app_config

app = build_app(load_app_config(sys.argv[1]))
sources = app.config.select_sources(None)
begun = []
sa.event.listen(app.engine, "begin", lambda connection: begun.append(1))
polls = []

async def twice():
    for _ in range(2):
        begun.clear()
        results = await crawl_now(app, sources, trigger="scheduled")
        polls.append({"transactions": len(begun), "statuses": sorted(r.status for r in results)})

run_on_reactor(twice)
app.close()
print(json.dumps(polls))
"""

FEED = '<?xml version="1.0"?><rss version="2.0"><channel><title>feed {n}</title></channel></rss>'


def poll_twice(tmp_path: Path, feeds: int) -> list[dict[str, Any]]:
    routes = {f"f{n}.xml": Route(body=FEED.format(n=n).encode(), content_type="application/rss+xml")
              for n in range(feeds)}
    with StaticSite(routes) as site:
        folder = tmp_path / f"{feeds}-feeds"
        folder.mkdir()
        config = write_config(folder / "mediawatch.toml", {
            "database": {"url": f"sqlite:///{folder / 'db.sqlite'}"},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [{"name": "t", "keywords": ["x"]}],
            "sources": [{"name": f"s{n}", "kind": "feed", "url": site.url(f"f{n}.xml"), "allow_private": True}
                        for n in range(feeds)],
        })
        done = subprocess.run([sys.executable, "-c", TWO_POLLS, str(config)], capture_output=True, text=True,
                              timeout=120, cwd=REPO_ROOT, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    polls: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return polls


def test_a_poll_of_unchanged_feeds_takes_as_many_transactions_for_six_sources_as_for_one(tmp_path: Path) -> None:
    _, one = poll_twice(tmp_path, 1)
    _, six = poll_twice(tmp_path, 6)
    assert one["statuses"] == ["not_modified"]
    assert six["statuses"] == ["not_modified"] * 6
    assert six["transactions"] == one["transactions"]
