"""robots.txt is fetched once per host per process and kept for as long as its answer says, not once per crawl run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.fetch.robots import ROBOTS_DEFAULT_AGE, ROBOTS_MAX_AGE, robots_lifetime
from scheduler.demo.site import Route, StaticSite
from tests.conftest import REPO_ROOT, write_config

# Two crawl runs in one process (the daemon's case); argv[2] is how many seconds pass between them.
TWO_CRAWLS = """
import json, sys
import crawler.fetch.robots as robots
from crawler.fetch.reactor import run_on_reactor
from scheduler.app import build_app, crawl_now, load_app_config

now = [1000.0]
robots.clock = lambda: now[0]
app = build_app(load_app_config(sys.argv[1]))
sources = app.config.select_sources(None)
runs = []

async def twice():
    for _ in range(2):
        results = await crawl_now(app, sources, trigger="manual")
        runs.append([(r.status, r.error) for r in results])
        now[0] += float(sys.argv[2])

run_on_reactor(twice)
app.close()
print(json.dumps(runs))
"""

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
RULES = b"User-agent: *\nDisallow: /private/\n"


def crawl_twice(tmp_path: Path, robots: Route, seconds_between: float = 0.0) -> tuple[StaticSite, list[list[list[str]]]]:
    """Crawl one feed twice in one process, `seconds_between` apart; the site and each run's (status, error)."""
    routes = {"robots.txt": robots, "feed.xml": Route(body=FEED, content_type="application/rss+xml")}
    with StaticSite(routes) as site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
            "crawler": {"autothrottle": False, "retry_times": 0},
            "topics": [{"name": "t", "keywords": ["x"]}],
            "sources": [{"name": "s", "kind": "feed", "url": site.url("feed.xml"), "allow_private": True}],
        })
        done = subprocess.run([sys.executable, "-c", TWO_CRAWLS, str(config), str(seconds_between)],
                              capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                              env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return site, json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_crawl_in_the_same_process_reuses_the_hosts_robots_txt(tmp_path: Path) -> None:
    site, _ = crawl_twice(tmp_path, Route(body=RULES, content_type="text/plain"), seconds_between=3600)
    assert site.hits("feed.xml") == 2
    assert site.hits("robots.txt") == 1


def test_robots_txt_is_asked_again_once_its_max_age_has_passed(tmp_path: Path) -> None:
    robots = Route(body=RULES, content_type="text/plain", headers={"Cache-Control": "max-age=600"})
    site, _ = crawl_twice(tmp_path, robots, seconds_between=601)
    assert site.hits("robots.txt") == 2
    assert site.hits("feed.xml") == 2


def test_robots_txt_within_its_max_age_is_not_asked_again(tmp_path: Path) -> None:
    robots = Route(body=RULES, content_type="text/plain", headers={"Cache-Control": "max-age=600"})
    site, _ = crawl_twice(tmp_path, robots, seconds_between=599)
    assert site.hits("robots.txt") == 1


def test_a_missing_robots_txt_allows_everything_and_is_cached_too(tmp_path: Path) -> None:
    site, runs = crawl_twice(tmp_path, Route(body=b"gone", content_type="text/plain", status=404), seconds_between=60)
    assert site.hits("robots.txt") == 1
    assert site.hits("feed.xml") == 2
    assert [status for (status, _), in runs] == ["ok", "not_modified"]


def test_a_failing_robots_txt_is_not_taken_as_allow_and_is_asked_again_later(tmp_path: Path) -> None:
    # 503 on the first ask, then the real file: the first run sends nothing else to the host and says why.
    robots = Route(body=RULES, content_type="text/plain", fail_first=1)
    site, runs = crawl_twice(tmp_path, robots, seconds_between=600)
    [(first_status, first_error)], [(second_status, _)] = runs
    assert first_status == "failed"
    assert "robots.txt unavailable (HTTP 503)" in first_error
    assert site.hits("robots.txt") == 2
    assert site.hits("feed.xml") == 1
    assert second_status == "ok"


def test_a_failing_robots_txt_is_not_asked_again_at_once(tmp_path: Path) -> None:
    robots = Route(body=b"down", content_type="text/plain", status=500)
    site, runs = crawl_twice(tmp_path, robots, seconds_between=10)
    assert site.hits("robots.txt") == 1
    assert site.hits("feed.xml") == 0
    assert [status for (status, _), in runs] == ["failed", "failed"]


NOW = datetime(2025, 2, 11, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({}, ROBOTS_DEFAULT_AGE),
    ({"cache-control": "public, max-age=3600"}, 3600),
    ({"cache-control": "max-age=3600", "age": "600"}, 3000),
    ({"cache-control": "max-age=31536000"}, ROBOTS_MAX_AGE),  # a year: capped at a day, as Google does
    ({"cache-control": "no-cache"}, 0),
    ({"cache-control": "no-store, max-age=3600"}, 0),
    ({"cache-control": "max-age=banana"}, ROBOTS_DEFAULT_AGE),
    ({"expires": "Tue, 11 Feb 2025 10:00:00 GMT", "date": "Tue, 11 Feb 2025 09:00:00 GMT"}, 3600),  # server's clock
    ({"expires": "Tue, 11 Feb 2025 08:30:00 GMT"}, 1800),  # no Date: ours
    ({"expires": "0"}, 0),  # an invalid Expires means already expired (RFC 9111 5.3)
    ({"cache-control": "max-age=60", "expires": "Tue, 11 Feb 2025 10:00:00 GMT"}, 60),  # max-age wins
])
def test_robots_lifetime_follows_the_answers_cache_headers(headers: dict[str, str], seconds: float) -> None:
    assert robots_lifetime(headers, NOW) == seconds
