"""The console in headless Chromium: sign in, search in traditional script and find the simplified
article, open its storyline, press "crawl now" on a loopback source and see the new run arrive.

`mediawatch web` runs as a real process over a database filled by a real crawl of the demo
site (all but one source; that one is crawled from the browser). Skips with the reason where
Debian's chromium is absent (`.ci/run` installs it). With MEDIAWATCH_UPDATE_SCREENSHOT=1 it
also refreshes the screenshots in docs/ at desktop and phone width.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scheduler.demo.site import StaticSite
from tests.conftest import REPO_ROOT, run_cli
from tests.digest.support import free_port
from tests.scheduler.web.browser import CHROMIUM, Browser
from tests.scheduler.web.support import PASSWORD, console_environ
from tests.scheduler.web.test_crawl_now import _config, _process, _wait_for

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

DOCS = REPO_ROOT / "docs"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def _shoot(browser: Browser, name: str, folder: Path) -> None:
    for device, (width, height) in SIZES.items():
        png = folder / f"web-{name}-{device}.png"
        browser.screenshot(png, width, height)
        assert png.stat().st_size > 5000, f"{png.name} looks blank"
        if os.environ.get("MEDIAWATCH_UPDATE_SCREENSHOT"):
            DOCS.mkdir(exist_ok=True)
            shutil.copyfile(png, DOCS / png.name)


def test_sign_in_search_storyline_and_crawl_now_in_chromium(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    # The default Secure session cookie: Chromium keeps it on plain http://127.0.0.1.
    config = _config(tmp_path, database_url, demo_site, all_sources=True, secure_cookies=True)
    environment = console_environ()
    crawled = run_cli("crawl", *[arg for name in ("jiangnan", "donghai", "xiangjiang", "haixi")
                                 for arg in ("--source", name)], config=config, env=environment)
    assert crawled.returncode == 0, crawled.stderr
    digest = run_cli("digest", "send", config=config, env=environment)
    assert digest.returncode == 0, digest.stderr
    port = free_port()
    shots = tmp_path / "shots"
    shots.mkdir()
    with _process(config, "web", "--port", str(port)) as web, Browser(tmp_path / "profile") as browser:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url, web)

        assert browser.goto(f"{url}/sources").startswith(f"{url}/login?next=")  # nothing without signing in
        _shoot(browser, "login", shots)
        browser.fill("input[name=password]", PASSWORD)
        assert browser.click("form[action='/login'] button").endswith("/sources")

        browser.goto(f"{url}/")
        _shoot(browser, "coverage", shots)
        browser.goto(f"{url}/search")
        browser.fill("input[name=q]", "自我追問")  # traditional script
        browser.click("form.filters button")
        assert "南京为何养不出“六小龙”？一场难得的自我追问" in browser.texts("td.headline a")
        browser.fill("input[name=q]", "胡錫進 六小龍")
        browser.click("form.filters button")
        assert "胡锡进谈南京“六小龙”之问：敢于自我批评值得肯定" in browser.texts("td.headline a")
        _shoot(browser, "search", shots)

        browser.click("table.articles tbody tr td.num a")  # the storyline size links to the storyline
        assert "/storylines/" in browser.evaluate("location.pathname")
        assert browser.texts("main > p")[0].startswith("First reported by")
        assert set(browser.texts("td:nth-child(3)")) == {"江南日报", "东海商报"}
        _shoot(browser, "storyline", shots)
        browser.click("td.headline a")
        assert browser.texts("h1")[0] == "胡锡进谈南京“六小龙”之问：敢于自我批评值得肯定"
        _shoot(browser, "article", shots)

        browser.goto(f"{url}/sources")
        _shoot(browser, "sources", shots)
        browser.goto(f"{url}/sources/jinling")
        assert browser.texts("table.runs td.empty") == ["Never crawled."]
        browser.click("form[action='/sources/jinling/crawl'] button")
        assert browser.texts("p.notice")[0] == "crawl started"
        # The page reloads itself (no JavaScript of its own) until the run has finished.
        browser.wait_until("Array.from(document.querySelectorAll('table.runs tr.run.ok')).length === 1")
        assert browser.texts("table.runs tr.run td:nth-child(3)") == ["manual"]
        _shoot(browser, "source", shots)

        browser.goto(f"{url}/digests")
        _shoot(browser, "digests", shots)
        browser.goto(f"{url}/topics/nanjing-six-dragons?days=365")
        _shoot(browser, "topic", shots)
