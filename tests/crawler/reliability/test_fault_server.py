"""Crawl every fault of the fault server next to a healthy source, and check what was recorded for each.

The healthy source lives on `localhost`, the faults on `127.0.0.1`: per-host politeness
(and a host's Retry-After) must not let one site's trouble cost another site's articles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scheduler.demo.site import Route
from storage.db import create_engine
from tests.support.crawl import crawl, crawl_config, runs, stored
from tests.support.faults import (
    HOSTILE,
    FaultServer,
    article_html,
    body,
    drip,
    gzip_bomb,
    huge,
    redirect,
    rss,
    stall,
    status,
    truncated,
)

RSS = "application/rss+xml; charset=utf-8"

# Article-level faults behind one listing: path → what the URL's failure record must say.
ARTICLE_FAULTS: dict[str, tuple[Any, str]] = {
    "a/500.html": (status(500), "HTTP 500"),
    "a/404.html": (status(404), "HTTP 404"),
    "a/403.html": (status(403), "HTTP 403"),
    "a/loop.html": (redirect("{base}/a/loop2.html"), "redirect loop"),
    "a/loop2.html": (redirect("{base}/a/loop.html"), "redirect loop"),
    "a/ftp.html": (redirect("ftp://127.0.0.1/a.html"), "not followed (only http(s))"),
    "a/private.html": (redirect("http://0.0.0.0/admin"), "non-public address"),
    "a/stall.html": (stall(), "took longer than 3.0 seconds"),
    "a/drip.html": (drip(), "took longer than 3.0 seconds"),
    "a/truncated.html": (truncated(), "closed before the whole page arrived"),
    "a/huge.html": (huge(20), "max_page_bytes"),
    "a/bomb.html": (gzip_bomb(), "max_page_bytes"),
    "a/binary.html": (body(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"), "not an HTML page"),
    "a/empty.html": (body(b"", "text/html"), "empty page"),
}
SOURCE_FAULTS: dict[str, tuple[Any, str]] = {
    "s/500.xml": (status(500), "HTTP 500"),
    "s/404.xml": (status(404), "HTTP 404"),
    "s/403.xml": (status(403), "HTTP 403"),
    "s/html.xml": (body(b"<html><body><p>home</p></body></html>", "text/html"), "is a web page, not a feed"),
    "s/invalid.xml": (body(b"<rss version='2.0'><channel><<<>>>><item></rss>", RSS), "not well-formed"),
    "s/empty.xml": (body(b"", RSS), "empty response"),
    "s/stall.xml": (stall(), "took longer than 3.0 seconds"),
}


def _rows(database_url: str, table: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(f"SELECT * FROM {table}")).mappings())
    finally:
        engine.dispose()


def test_every_fault_is_recorded_against_its_source_or_url_and_the_healthy_source_loses_nothing(
    tmp_path: Path, database_url: str
) -> None:
    healthy = FaultServer({f"h/{i}.html": Route(body=article_html(f"南京健康{i}")) for i in range(3)})
    # Its feed and articles are addressed as localhost: another host than the faults' 127.0.0.1.
    local = healthy.base_url.replace("127.0.0.1", "localhost")
    healthy.routes["feed.xml"] = Route(body=rss([(f"南京健康{i}", f"{local}/h/{i}.html") for i in range(3)]),
                                       content_type=RSS)
    wrong_encoding = rss([("苏州也在问", "{base}/ok/gbk.html")], encoding="gbk", declared="utf-8")
    links = [p for p in ARTICLE_FAULTS if p != "a/loop2.html"] + ["ok/hostile.html", "a/429.html"]
    listing = "".join(f"<li><a href='/{p}'>x</a></li>" for p in links) + "<li><a href='javascript:alert(1)'>js</a></li>"
    faults = {path: fault for path, (fault, _) in {**ARTICLE_FAULTS, **SOURCE_FAULTS}.items()}
    faults["a/429.html"] = status(429, **{"Retry-After": "1"})
    site = FaultServer(
        {
            "list.html": Route(body=f"<ul class='x'>{listing}</ul>".encode()),
            "s/wrong-encoding.xml": Route(body=wrong_encoding, content_type=RSS, templated=True),
            "ok/gbk.html": Route(body=article_html("苏州也在问")),
            "ok/hostile.html": Route(body=HOSTILE),
        },
        faults,
    )
    with healthy, site:
        sources: list[dict[str, Any]] = [
            {"name": "healthy", "kind": "feed", "url": f"{local}/feed.xml"},
            {"name": "faulty-listing", "kind": "listing", "url": site.url("list.html"), "link_selector": "ul.x a"},
            {"name": "wrong-encoding", "kind": "feed", "url": site.url("s/wrong-encoding.xml")},
        ]
        sources += [{"name": path.split("/")[1].replace(".xml", "-feed"), "kind": "feed", "url": site.url(path)}
                    for path in SOURCE_FAULTS]
        config = crawl_config(tmp_path, database_url, sources, download_timeout=3, retry_times=1, retry_backoff=0.1)
        result = crawl(config, timeout=300)
        assert result.returncode == 0, result.stderr

    recorded = {name: history[-1] for name, history in runs(database_url).items()}
    articles = stored(database_url)

    # The healthy source: every article stored, nothing else said.
    assert (recorded["healthy"].status, recorded["healthy"].new, recorded["healthy"].failed) == ("ok", 3, 0), recorded
    assert {item.article.title for item in articles.values() if item.article.source_name == "healthy"} == {
        f"南京健康{i}" for i in range(3)}

    # Source-level faults: failed, with a reason a person understands.
    for path, (_, reason) in SOURCE_FAULTS.items():
        run = recorded[path.split("/")[1].replace(".xml", "-feed")]
        assert run.status == "failed", (path, run)
        assert reason in (run.error or ""), (path, run.error)

    # A feed declaring utf-8 over GBK bytes: read as GBK, its article stored with a clean title.
    assert recorded["wrong-encoding"].status == "ok"
    assert articles[site.url("ok/gbk.html")].article.feed_title == "苏州也在问"

    # Article-level faults: the listing answered, so the source is partial, not failed; each URL says why.
    listing_run = recorded["faulty-listing"]
    assert listing_run.status == "partial"
    # A listing's javascript: link is counted as refused, as in a feed.
    assert listing_run.refused == 1
    failures = {row["url"]: row for row in _rows(database_url, "url_failure")}
    for path, (_, reason) in ARTICLE_FAULTS.items():
        if path == "a/loop2.html":
            continue
        row = failures.get(site.url(path))
        assert row is not None, path
        assert reason in row["last_error"], (path, row["last_error"])
    assert listing_run.failed == len(ARTICLE_FAULTS) - 1
    assert "429" in (listing_run.error or "")  # deferred: the host asked for a second, and got it
    assert site.url("a/429.html") not in failures
    # Hostile markup is stored as text, not as markup.
    hostile = articles[site.url("ok/hostile.html")].article
    assert "<" not in hostile.title and "alert" not in hostile.text
    # Found = stored + failed + deferred + refused: nothing unaccounted for.
    assert listing_run.found == listing_run.new + listing_run.failed + 1 + listing_run.refused
