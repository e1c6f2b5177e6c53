"""The source spider through `mediawatch crawl` on loopback servers: what a run records."""

from __future__ import annotations

from pathlib import Path

from scheduler.demo.site import Route
from tests.support.crawl import crawl, crawl_config, last_run
from tests.support.faults import FaultServer

INDEX = (b"<?xml version='1.0' encoding='utf-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
         b"<sitemap><loc>{base}/broken.xml</loc></sitemap></sitemapindex>")


def test_an_unreadable_child_sitemap_is_named_once_in_the_run_note(tmp_path: Path, database_url: str) -> None:
    routes = {"index.xml": Route(body=INDEX, content_type="application/xml", templated=True),
              "broken.xml": Route(body=b"<html><body>not a sitemap</body></html>", content_type="application/xml")}
    with FaultServer(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "sitemap", "url": site.url("index.xml")}])
        crawl(config)
    run = last_run(database_url, "s")
    assert run.status == "partial", run
    assert f"{site.url('broken.xml')}: not a sitemap (root element <html>)" in (run.error or "")
    assert (run.error or "").count(site.url("broken.xml")) == 1, run.error

