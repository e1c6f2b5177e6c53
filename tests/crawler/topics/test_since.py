"""A topic's `since`: a page published before its story began is off the topic, whatever it says.

In the English labelled data the commonest false alarms were old pages sharing the story's
words (a 2017 "China's emerging Silicon Valley", the 2016 "Why Hangzhou?"); coverage of a
story cannot predate it. A page without a date is judged on its text alone.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.topics.config import TopicConfig
from crawler.topics.dates import latest_day
from crawler.topics.matcher import TopicMatcher
from scheduler.demo.site import Route, StaticSite
from tests.conftest import run_cli, write_config
from tests.support.crawl import crawl, crawl_config, stored

TOPIC: dict[str, Any] = {"name": "six", "keywords": ["六小龙", "six little dragons"], "since": "2025-02-01"}
ON_STORY = ("Why can't Nanjing grow its own six little dragons?", "Hangzhou's six little dragons: the question other cities ask.")


def test_a_page_published_before_the_story_is_off_the_topic_with_the_reason() -> None:
    matcher = TopicMatcher(TopicConfig.model_validate(TOPIC))
    old = matcher.match(*ON_STORY, published=datetime(2017, 3, 1, 8, tzinfo=UTC))
    assert (old.relevant, old.score, old.matched) == (False, 0.0, ("published 2017-03-01, before 2025-02-01",))
    for published in (None, date(2025, 2, 1), datetime(2026, 1, 5, tzinfo=UTC)):
        assert matcher.match(*ON_STORY, published=published).relevant, published


def test_without_since_the_date_changes_nothing() -> None:
    matcher = TopicMatcher(TopicConfig.model_validate({**TOPIC, "since": None}))
    assert matcher.match(*ON_STORY, published=date(2017, 3, 1)) == matcher.match(*ON_STORY)


@pytest.mark.parametrize(("written", "day"), [
    ("2017", date(2017, 12, 31)), ("2025-01", date(2025, 1, 31)), ("2024-02", date(2024, 2, 29)),
    ("2025-02-11", date(2025, 2, 11)), ("2025-02-11T23:30:00+08:00", date(2025, 2, 11)), ("2025-02-11T08:00:00Z", date(2025, 2, 11)),
    ("", None), ("  ", None), (None, None), ("2025-13", None), ("0000", None), ("last spring", None),
])
def test_a_written_date_means_its_latest_day_so_no_page_is_ruled_out_on_a_guess(written: str | None, day: date | None) -> None:
    assert latest_day(written) == day


def test_classify_reads_published_and_reports_a_bad_one_on_its_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {"topics": [TOPIC]})
    lines = [
        {"title": ON_STORY[0], "text": ON_STORY[1], "published": "2017-03"},
        {"title": ON_STORY[0], "text": ON_STORY[1], "published": "2025-02"},
        {"title": ON_STORY[0], "text": ON_STORY[1]},
        {"title": ON_STORY[0], "text": ON_STORY[1], "published": "yesterday"},
    ]
    articles = tmp_path / "in.jsonl"
    articles.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = run_cli("classify", str(articles), config=config)
    assert result.returncode == 1
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["line"], d["relevant"]) for d in decided] == [(1, False), (2, True), (3, True)]
    assert decided[0]["matched"] == ["published 2017-03-31, before 2025-02-01"]
    assert result.stderr.splitlines() == [
        f"mediawatch: {articles}:4: field 'published' is not a date (2025-02-11, 2025-02 or 2025): 'yesterday'",
        "mediawatch: 1 bad line(s) skipped",
    ]


def _page(title: str, published: str) -> bytes:
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='{published}'>"
            f"</head><body><article><h1>{title}</h1>" + f"<p>{ON_STORY[1]} Nanjing and Hangzhou compared.</p>" * 6
            + "</article></body></html>").encode()


@pytest.mark.parametrize("processes", [0, 1])
def test_a_crawled_page_dated_before_the_story_is_stored_off_the_topic(
    tmp_path: Path, database_url: str, processes: int
) -> None:
    routes = {
        "feed.xml": Route(body=(
            b"<rss version='2.0'><channel><title>t</title>"
            b"<item><title>old</title><link>{base}/old.html</link></item>"
            b"<item><title>new</title><link>{base}/new.html</link></item>"
            b"</channel></rss>"), content_type="application/rss+xml", templated=True),
        "old.html": Route(body=_page("Six little dragons, the 2017 rivalry", "2017-03-01T08:00:00+00:00")),
        "new.html": Route(body=_page("Six little dragons: why not Nanjing?", "2025-02-09T08:00:00+00:00")),
    }
    with StaticSite(routes) as site:
        config = crawl_config(tmp_path, database_url, [{"name": "s", "kind": "feed", "url": site.url("feed.xml")}],
                              extract_processes=processes)
        config = write_config(config, {**_read(config), "topics": [TOPIC]})
        assert crawl(config).returncode == 0
    articles = stored(database_url)
    old, new = articles[site.url("old.html")], articles[site.url("new.html")]
    assert [(m.relevant, m.matched) for m in old.matches] == [(False, ("published 2017-03-01, before 2025-02-01",))]
    assert [m.relevant for m in new.matches] == [True]


def _read(config: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(config.read_text(encoding="utf-8"))
