"""Fixtures for the console tests: a wired app with coverage in three scripts, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.storylines import StorylineIndex
from scheduler.app import App
from tests.digest.support import START, FixedClock, digest_config, make_app, store
from tests.scheduler.web.support import ConsoleServer, web_config

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
REPORT = "交汇点连发三篇文章，追问南京为什么没有培育出像DeepSeek、宇树科技这样的“六小龙”企业。"


@pytest.fixture
def coverage_app(database_url: str, tmp_path: Path) -> Iterator[App]:
    """Coverage of the debate: a report and its reprint (one storyline), a traditional-script
    piece, an English piece, an off-topic piece, one removed and one edited article, and a
    headline and body that try to inject markup."""
    clock = FixedClock(START + timedelta(days=1))
    app = make_app(web_config(digest_config(database_url, tmp_path, recipients=())), clock)
    repository = app.repository
    storylines = StorylineIndex.from_engine(app.engine, clock)
    ids: dict[str, int] = {}

    def add(key: str, title: str, **kwargs: Any) -> None:
        ids[key] = store(repository, title, **kwargs)
        a = kwargs.get("text") or f"{title}。南京能否培育出自己的六小龙，是这几天讨论的焦点。"
        storylines.assign(ids[key], title=title, text=a, content_hash=kwargs.get("content_hash") or key)

    add("report", "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", source="jiangnan", text=REPORT,
        content_hash="same-story", published=START - timedelta(hours=5), fetched=START - timedelta(hours=4))
    add("reprint", "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", source="donghai", text=REPORT,
        content_hash="same-story", url="https://donghai.example/reprint.html",
        published=START - timedelta(hours=2), fetched=START - timedelta(hours=1))
    add("traditional", "海峽兩岸看城市競爭：六小龍從哪裡來", source="haixi", language="zh-Hant",
        text="台灣媒體關注杭州與南京的城市競爭，認為六小龍的出現並非偶然。", fetched=START - timedelta(minutes=50))
    add("english", "Why can't Nanjing grow its own six little dragons?", source="haixi-en", language="en",
        matched=("six little dragons",), text="Hangzhou's six little dragons, DeepSeek among them.",
        fetched=START - timedelta(minutes=40))
    add("offtopic", "长江大桥维修完成", source="jiangnan", relevant=False, score=0.1, matched=(),
        text="南京长江大桥维修工程顺利完成，恢复通车。", fetched=START - timedelta(minutes=30))
    add("hostile", HOSTILE, source="donghai", text=f"正文 {HOSTILE} 六小龙", fetched=START - timedelta(minutes=20))
    add("removed", "已删除：南京的回应", source="jiangnan", text="南京回应六小龙之问。", fetched=START - timedelta(minutes=10))
    repository.mark_removed(ids["removed"])
    add("edited", "南京再答六小龙", source="donghai", text="第一版。南京表示正在培育。", fetched=START - timedelta(minutes=5))
    repository.record_edit(ids["edited"], title="南京再答六小龙（更新）", text="第一版。南京表示已经培育出新企业。",
                           content_hash="edited-2")
    repository.sync_sources([(s.name, s.kind, s.url) for s in app.config.sources])
    run = repository.start_run("donghai", "scheduled")
    repository.finish_run(run, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=503,
                          error="HTTP 503 Service Unavailable")
    app.ids = ids  # type: ignore[attr-defined]
    yield app
    app.close()


@pytest.fixture
def console(coverage_app: App) -> Iterator[ConsoleServer]:
    with ConsoleServer(coverage_app) as server:
        yield server
