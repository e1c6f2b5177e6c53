"""The daemon: timetable, persistence across restarts, leases, health, graceful stop."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from crawler.health import assess_health, backoff_interval
from scheduler.app import build_app
from scheduler.config import config_from_mapping
from scheduler.daemon import Daemon, missed_fire_time, send_digests_job
from scheduler.demo import demo_sources
from scheduler.demo.site import Route, StaticSite
from scheduler.digest_jobs import DIGEST_JOB, digest_schedules, digest_trigger
from storage.db import create_engine
from storage.models import Source
from storage.repository import Repository
from tests.conftest import REPO_ROOT, run_cli, write_config
from tests.digest.support import TOPIC as DIGEST_TOPIC
from tests.digest.support import SmtpSink, digest_config, store

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOPIC = {"name": "t", "keywords": ["六小龙"]}


def test_missed_digest_is_found_once_and_only_within_grace() -> None:
    trigger = digest_trigger("0 8 * * *", "Asia/Shanghai")
    last = datetime(2025, 2, 9, 8, 0, tzinfo=SHANGHAI)
    now = datetime(2025, 2, 10, 9, 30, tzinfo=SHANGHAI)
    assert missed_fire_time(trigger, last, now, timedelta(hours=6)) == datetime(2025, 2, 10, 8, 0, tzinfo=SHANGHAI)
    assert missed_fire_time(trigger, last, now, timedelta(hours=1)) is None  # too late: wait for the next one
    # After sending the missed one, nothing is missed any more.
    assert missed_fire_time(trigger, datetime(2025, 2, 10, 8, 0, tzinfo=SHANGHAI), now, timedelta(hours=6)) is None


def test_a_week_of_downtime_sends_one_digest_not_seven() -> None:
    trigger = digest_trigger("0 8 * * *", "Asia/Shanghai")
    last = datetime(2025, 2, 1, 8, 0, tzinfo=SHANGHAI)
    now = datetime(2025, 2, 8, 8, 5, tzinfo=SHANGHAI)
    assert missed_fire_time(trigger, last, now, timedelta(hours=6)) == datetime(2025, 2, 8, 8, 0, tzinfo=SHANGHAI)


def test_digest_schedule_keeps_local_wall_clock_across_daylight_saving() -> None:
    trigger = digest_trigger("0 8 * * *", "Europe/Berlin")
    before = datetime(2025, 3, 29, 0, 0, tzinfo=UTC)
    first = trigger.get_next_fire_time(None, before)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    berlin = ZoneInfo("Europe/Berlin")
    assert first.astimezone(berlin).hour == 8 and second.astimezone(berlin).hour == 8
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall-clock times.
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=23)  # clocks went forward


def _config(**source: object):  # type: ignore[no-untyped-def]
    src = {"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/f", "every": "10m", "allow_private": True, **source}
    return config_from_mapping({"topics": [TOPIC], "sources": [src]}, environ={}).sources[0]


def test_failing_source_becomes_unhealthy_and_backs_off() -> None:
    source = _config()
    now = datetime(2025, 2, 10, tzinfo=UTC)
    state = Source(name="s", kind="feed", url="u", consecutive_failures=2, last_success_at=now)
    assert assess_health(source, state, now, unhealthy_after=3) == (True, None)
    state.consecutive_failures = 3
    healthy, reason = assess_health(source, state, now, unhealthy_after=3)
    assert not healthy and reason == "failed 3 runs in a row"
    assert backoff_interval(source, state, unhealthy_after=3, max_backoff=timedelta(days=1)) == timedelta(minutes=20)
    state.consecutive_failures = 20
    assert backoff_interval(source, state, unhealthy_after=3, max_backoff=timedelta(days=1)) == timedelta(days=1)


def test_a_source_failing_for_weeks_stays_backed_off_at_the_cap(database_url: str) -> None:
    # Every 30m, backed off to 1d: by its 38th failure in a row (about five weeks of a dead
    # feed) 30m x 2**36 no longer fit a timedelta, and the daemon died on start (OverflowError).
    source = _config(every="30m")
    state = Source(name="s", kind="feed", url="u", consecutive_failures=1000)
    assert backoff_interval(source, state, unhealthy_after=3, max_backoff=timedelta(days=1)) == timedelta(days=1)
    assert backoff_interval(source, state, unhealthy_after=3, max_backoff=timedelta(minutes=5)) == timedelta(minutes=30)

    config = config_from_mapping(
        {"database": {"url": database_url}, "topics": [TOPIC],
         "sources": [{"name": "dead", "kind": "feed", "url": "http://127.0.0.1:9/f", "every": "30m", "allow_private": True}]},
        environ={},
    )
    now = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)
    app = build_app(config, clock=lambda: now)
    app.repository.sync_sources([("dead", "feed", "http://127.0.0.1:9/f")])
    with app.engine.begin() as connection:
        connection.execute(update(Source).where(Source.name == "dead")  # type: ignore[arg-type]
                           .values(consecutive_failures=40, last_run_at=now - timedelta(hours=1)))

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(Daemon(app, digest_runner=lambda when, topics: None).run(stop))
        await asyncio.sleep(0.5)
        stop.set()
        await runner

    asyncio.run(start_and_stop())
    app.close()


def test_silent_source_is_unhealthy_after_its_limit() -> None:
    source = _config(silent_after="2d")
    now = datetime(2025, 2, 10, tzinfo=UTC)
    state = Source(name="s", kind="feed", url="u", last_success_at=now, last_new_at=now - timedelta(days=3))
    healthy, reason = assess_health(source, state, now, unhealthy_after=3)
    assert not healthy and reason is not None and "nothing new for 3d" in reason


def test_lease_is_exclusive_and_expires(repository: Repository) -> None:
    repository.sync_sources([("s", "feed", "u")])
    assert repository.try_lease("s", "a", timedelta(minutes=5))
    assert not repository.try_lease("s", "b", timedelta(minutes=5))
    repository.release_lease("s", "a")
    assert repository.try_lease("s", "b", timedelta(seconds=-1))  # held, but already expired
    assert repository.try_lease("s", "a", timedelta(minutes=5))


def test_digest_missed_during_downtime_is_sent_once_on_start(database_url: str) -> None:
    config = config_from_mapping(
        {"database": {"url": database_url}, "topics": [TOPIC], "digest": {"schedule": "0 8 * * *"}}, environ={}
    )
    now = datetime(2025, 2, 10, 9, 0, tzinfo=SHANGHAI)
    app = build_app(config, clock=lambda: now)
    app.repository.save_job_state(DIGEST_JOB, last_run_at=datetime(2025, 2, 9, 8, 0, tzinfo=SHANGHAI))
    sent: list[datetime] = []

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        daemon = Daemon(app, digest_runner=lambda when, topics: sent.append(when))
        runner = asyncio.create_task(daemon.run(stop))
        for _ in range(100):
            if sent:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        stop.set()
        await runner

    asyncio.run(start_and_stop())
    assert sent == [datetime(2025, 2, 10, 8, 0, tzinfo=SHANGHAI)]
    asyncio.run(start_and_stop())  # a second restart: nothing more is due
    assert len(sent) == 1
    state = app.repository.get_job_state(DIGEST_JOB)
    assert state is not None and state.last_status == "ok"
    app.close()


def test_a_digest_job_logs_one_line_per_topic_and_a_failure_does_not_hide_the_others(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = digest_config(database_url, tmp_path)
    data["topics"].append({"name": "robots", "keywords": ["宇树"]})
    data["sources"] = [dict(source, enabled=False) for source in data["sources"]]  # digests only
    data["digest"]["schedule"] = "0 8 * * *"
    now = datetime(2025, 2, 10, 9, 0, tzinfo=SHANGHAI)
    app = build_app(config_from_mapping(data, environ={}), clock=lambda: now)
    app.repository.save_job_state(DIGEST_JOB, last_run_at=datetime(2025, 2, 9, 8, 0, tzinfo=SHANGHAI))
    store(app.repository, "南京六小龙之问")
    store(app.repository, "宇树机器人上春晚", topic="robots", matched=("宇树",))

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(Daemon(app, digest_runner=send_digests_job(app)).run(stop))
        for _ in range(200):
            state = app.repository.get_job_state(DIGEST_JOB)
            if state is not None and state.last_status is not None:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await runner

    with SmtpSink(port=data["smtp"]["port"]) as sink, caplog.at_level(logging.INFO):
        sink.replies.append("554 5.7.1 rejected")  # the first topic's message is refused for good
        asyncio.run(start_and_stop())
    app.close()

    # What an operator sees at the default level: the daemon's digest lines and every warning.
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
             or (r.name == "scheduler.daemon" and r.getMessage().startswith("digest ") and "missed" not in r.getMessage())]
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"digest topic={DIGEST_TOPIC} status=failed") and "554" in lines[0], lines
    assert lines[1].startswith("digest topic=robots status=sent articles=1"), lines
    assert not any(r.exc_info for r in caplog.records)
    assert [m["X-Mediawatch-Topic"] for m in sink.messages] == ["robots"]
    state = app.repository.get_job_state(DIGEST_JOB)
    assert state is not None and state.last_status == "failed"


def test_a_scheduled_digest_is_logged_in_the_digest_time_zone(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The daemon's clock is UTC: its start line said "next digest …T12:15+08:00", the digest line "(due …T04:15+00:00)".
    data = digest_config(database_url, tmp_path)
    now = datetime(2025, 2, 10, 0, 0, tzinfo=UTC)
    app = build_app(config_from_mapping(data, environ={}), clock=lambda: now)
    [job] = digest_schedules(app.config)
    daemon = Daemon(app, digest_runner=lambda scheduled, topics: [])
    with caplog.at_level(logging.INFO):
        asyncio.run(daemon._digest_job_now(job))
    app.close()
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest job for")] == [
        "digest job for 2025-02-10T08:00+08:00: ok"]


def _runs(database_url: str) -> dict[str, list[str]]:
    engine = create_engine(database_url)
    try:
        repository = Repository(engine)
        return {name: [r.status for r in repository.runs_for(name, limit=100)] for name in ("jiangnan", "jinling", "broken", "polite")}
    finally:
        engine.dispose()


def test_daemon_crawls_on_time_reports_health_and_stops_on_sigterm(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    extra = {
        "broken.xml": Route(body=b"down", status=500, content_type="text/plain"),
        "robots.txt": Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
        "private/feed.xml": Route(body=b"<rss version='2.0'><channel/></rss>", content_type="application/rss+xml"),
    }
    with StaticSite(extra) as other:
        sources = [dict(s, every="5s") for s in demo_sources(demo_site.base_url) if s["name"] in ("jiangnan", "jinling")]
        sources += [
            {"name": "broken", "kind": "feed", "url": other.url("broken.xml"), "every": "2s", "allow_private": True},
            {"name": "polite", "kind": "feed", "url": other.url("private/feed.xml"), "every": "5s", "allow_private": True},
        ]
        config = write_config(tmp_path / "mediawatch.toml", {
            "database": {"url": database_url},
            "crawler": {"autothrottle": False, "retry_times": 0, "unhealthy_after": 2},
            "daemon": {"jitter": "1s", "heartbeat": "1s", "shutdown_timeout": "5s"},
            "topics": [TOPIC],
            "sources": sources,
        })
        assert run_cli("db", "upgrade", config=config).returncode == 0
        daemon = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(config), "run"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline:
                runs = _runs(database_url)
                if all(len(runs[name]) >= 3 for name in ("jiangnan", "jinling", "polite")):
                    break
                time.sleep(0.5)
            # Manual crawls while the daemon crawls the same sources.
            for _ in range(3):
                manual = run_cli("crawl", "--source", "jiangnan", "--source", "jinling", config=config)
                # Exit 1 only when both sources were busy in the daemon at that moment (nothing crawled).
                assert manual.returncode == 0 or "crawled by another process" in manual.stderr, manual.stderr
                assert "locked" not in manual.stderr
            status = run_cli("status", "--json", config=config)
            daemon.send_signal(signal.SIGTERM)
            started = time.monotonic()
            _, stderr = daemon.communicate(timeout=15)
            stop_seconds = time.monotonic() - started
        finally:
            if daemon.poll() is None:
                daemon.kill()
    assert daemon.returncode == 0, stderr
    assert stop_seconds < 10
    runs = _runs(database_url)
    for name in ("jiangnan", "jinling", "polite"):
        assert len(runs[name]) >= 3, (name, runs[name])
    assert "running" not in runs["jiangnan"] + runs["jinling"]
    report = json.loads(status.stdout)
    by_name = {s["name"]: s for s in report["sources"]}
    assert report["daemon_running"] is True
    assert all(by_name[n]["next_run"] for n in ("jiangnan", "jinling", "broken", "polite"))
    assert by_name["broken"]["healthy"] is False and "in a row" in by_name["broken"]["reason"]
    assert "robots.txt" in (by_name["polite"]["last_error"] or "")
    assert other.hits("private/feed.xml") == 0
    # Backed off: the broken source is polled less often than its 2s interval would allow.
    assert len(runs["broken"]) < 12
    # Articles were stored once although four processes crawled the same feeds.
    engine = create_engine(database_url)
    try:
        urls = [a.article.url for a in Repository(engine).list_articles(relevant_only=False)]
    finally:
        engine.dispose()
    assert len(urls) == len(set(urls)) == 7


def test_second_poll_of_unchanged_feed_is_answered_304_and_adds_nothing(tmp_path: Path, database_url: str, demo_site: StaticSite) -> None:
    sources = [s for s in demo_sources(demo_site.base_url) if s["name"] == "jiangnan"]
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "crawler": {"autothrottle": False}, "topics": [TOPIC], "sources": sources,
    })
    assert run_cli("crawl", config=config).returncode == 0
    second = run_cli("crawl", config=config)
    assert second.returncode == 0
    assert "not_modified" in second.stdout
    feed_requests = [h for p, h in demo_site.requests if p == "/jiangnan/rss.xml"]
    assert "If-None-Match" not in feed_requests[0] and "If-None-Match" in feed_requests[1]


@pytest.mark.parametrize("kill", [True])
def test_interrupted_run_is_closed_on_next_start(tmp_path: Path, database_url: str, kill: bool) -> None:
    config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC],
                                  "sources": [{"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/f", "allow_private": True}]}, environ={})
    app = build_app(config)
    app.repository.sync_sources([("s", "feed", "http://127.0.0.1:9/f")])
    run_id = app.repository.start_run("s", "scheduled")  # a process died here

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Daemon(app).run(stop))
        await asyncio.sleep(0.1)
        stop.set()
        await task

    asyncio.run(start_and_stop())
    [run] = [r for r in app.repository.runs_for("s") if r.id == run_id]
    assert run.status == "interrupted"
    app.close()


def test_restart_resumes_from_the_last_run_and_honours_a_changed_interval(database_url: str) -> None:
    now = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)

    def daemon_for(every: str) -> Daemon:
        config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC], "sources": [
            {"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/f", "every": every, "allow_private": True}]}, environ={})
        return Daemon(build_app(config, clock=lambda: now))

    daemon = daemon_for("1h")
    source = daemon.config.sources[0]
    daemon.repository.sync_sources([("s", "feed", source.url)])
    run_id = daemon.repository.start_run("s", "scheduled")
    daemon.repository.finish_run(run_id, status="ok", found=1, new=1, duplicate=0, failed=0, http_status=200, error=None)
    assert daemon._first_run(source, now + timedelta(minutes=10)) == now + timedelta(hours=1)
    shorter = daemon_for("15m")
    assert shorter._first_run(shorter.config.sources[0], now + timedelta(minutes=10)) == now + timedelta(minutes=15)
    overdue = shorter._first_run(shorter.config.sources[0], now + timedelta(hours=5))
    assert now + timedelta(hours=5) <= overdue <= now + timedelta(hours=5, seconds=30)


@pytest.mark.parametrize(("status", "key"), [("ok", "note"), ("partial", "error"), ("failed", "error")])
def test_a_runs_line_calls_a_successful_runs_note_a_note(
    database_url: str, caplog: pytest.LogCaptureFixture, status: str, key: str
) -> None:
    # "status=ok … error=6 link(s) deferred" read as a failure to anyone grepping for error=.
    from crawler.runner import SourceResult
    from crawler.spiders.context import SourceTally

    config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC], "sources": [
        {"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/f", "allow_private": True}]}, environ={})
    daemon = Daemon(build_app(config))
    with caplog.at_level(logging.INFO):
        daemon._finished_run(SourceResult("s", 1, status, SourceTally(found=6), 0.4, "6 link(s) deferred\n(backing off)"))
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("source=s ")]
    assert line.endswith(f" {key}=6 link(s) deferred (backing off)"), line
    daemon.app.close()


def test_a_long_error_in_a_runs_line_is_cut_at_a_word_and_says_so(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # The line cut the error at 200 characters wherever that fell: "… took longer than 20.0 seco",
    # with nothing to say that more was left out.
    from crawler.runner import SourceResult
    from crawler.spiders.context import SourceTally

    config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC], "sources": [
        {"name": "s", "kind": "feed", "url": "http://127.0.0.1:9/f", "allow_private": True}]}, environ={})
    daemon = Daemon(build_app(config))
    timeout = "https://slow.example/a.html: the server took longer than 20.0 seconds to answer"
    error = f"all 3 article pages failed; first: {timeout}; {timeout}; {timeout}"
    with caplog.at_level(logging.INFO):
        daemon._finished_run(SourceResult("s", 1, "failed", SourceTally(found=3), 0.4, error))
    daemon.app.close()
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("source=s ")]
    shown = line.split(" error=", 1)[1]
    assert shown.endswith("…") and len(shown) <= 200, shown
    head = shown.removesuffix("…")
    assert error.startswith(head) and error[len(head)] in " ;", shown  # it ends with a whole word


def test_a_daemon_held_from_another_host_is_refused_with_when_it_would_be_taken_over(database_url: str) -> None:
    from storage.errors import DaemonRunningError

    now = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)
    config = config_from_mapping({"database": {"url": database_url}, "topics": [TOPIC],
                                  "daemon": {"heartbeat": "30s"}}, environ={})
    first, second = Daemon(build_app(config, clock=lambda: now)), Daemon(build_app(config, clock=lambda: now))
    # A daemon on another machine, its heartbeat fresh: only its heartbeat going stale would tell.
    first.repository.claim_daemon(first.name, 4242, "elsewhere.example", now, is_alive=lambda _: True)
    with pytest.raises(DaemonRunningError) as refused:
        second._claim()
    assert "pid 4242 on elsewhere.example" in str(refused.value)
    assert str(refused.value).endswith("stop it first; one that was killed is taken over 95 s after its last heartbeat")
    first.app.close()
    second.app.close()
