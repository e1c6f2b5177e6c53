"""Schedules: one digest job per schedule, each remembering its own last run; cron weekdays as cron means them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.app import build_app
from scheduler.config import config_from_mapping
from scheduler.daemon import Daemon
from scheduler.digest_jobs import DIGEST_JOB, DigestSchedule, digest_schedules, digest_trigger
from storage.errors import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOPICS = [{"name": "nanjing", "keywords": ["六小龙"]}, {"name": "robots", "keywords": ["宇树"]},
          {"name": "hefei", "keywords": ["合肥"]}]


def config(database_url: str = "sqlite://") -> object:
    return config_from_mapping(
        {
            "database": {"url": database_url},
            "topics": TOPICS,
            "digest": {
                "schedule": "0 8 * * *",
                "topics": {"robots": {"schedule": "0 7 * * *"}, "hefei": {"schedule": "0 8 * * *"}},
            },
        },
        environ={},
    )


def test_topics_on_the_default_schedule_share_a_job_and_a_topic_with_its_own_gets_one() -> None:
    assert digest_schedules(config()) == [  # type: ignore[arg-type]
        DigestSchedule(DIGEST_JOB, "0 8 * * *", ("nanjing", "hefei")),
        DigestSchedule("digest:robots", "0 7 * * *", ("robots",)),
    ]


def test_each_schedule_missed_during_downtime_sends_its_own_topics_once_on_start(database_url: str) -> None:
    now = datetime(2025, 2, 10, 9, 0, tzinfo=SHANGHAI)  # a Monday
    app = build_app(config(database_url), clock=lambda: now)  # type: ignore[arg-type]
    day_before = datetime(2025, 2, 9, 9, 0, tzinfo=SHANGHAI)
    for job_id in (DIGEST_JOB, "digest:robots"):
        app.repository.save_job_state(job_id, last_run_at=day_before)
    sent: list[tuple[datetime, tuple[str, ...]]] = []

    async def start_and_stop() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(Daemon(app, digest_runner=lambda when, topics: sent.append((when, topics))).run(stop))
        for _ in range(100):
            if len(sent) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        stop.set()
        await runner

    try:
        asyncio.run(start_and_stop())
        assert sorted(sent) == [
            (datetime(2025, 2, 10, 7, 0, tzinfo=SHANGHAI), ("robots",)),
            (datetime(2025, 2, 10, 8, 0, tzinfo=SHANGHAI), ("nanjing", "hefei")),
        ]
        asyncio.run(start_and_stop())  # a second restart: nothing more is due
        assert len(sent) == 2
        states = {job: app.repository.get_job_state(job) for job in (DIGEST_JOB, "digest:robots")}
        assert all(s is not None and s.last_status == "ok" for s in states.values())
    finally:
        app.close()


@pytest.mark.parametrize(
    ("schedule", "weekdays"),
    [
        ("0 7 * * 1", ["Monday"]),
        ("0 7 * * 1-5", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
        ("0 7 * * 0", ["Sunday"]),
        ("0 7 * * 7", ["Sunday"]),
        ("0 7 * * sat,sun", ["Saturday", "Sunday"]),
        ("0 7 * * */3", ["Sunday", "Wednesday", "Saturday"]),
    ],
)
def test_cron_weekdays_count_from_sunday_as_in_cron_not_from_monday(schedule: str, weekdays: list[str]) -> None:
    trigger = digest_trigger(schedule, "Asia/Shanghai")
    fire = datetime(2025, 2, 8, 12, 0, tzinfo=SHANGHAI)  # a Saturday noon
    seen = []
    for _ in range(len(weekdays)):
        fire = trigger.get_next_fire_time(None, fire)
        seen.append(fire.strftime("%A"))
        fire = fire + timedelta(minutes=1)

    assert sorted(seen) == sorted(weekdays) and fire.hour == 7


def test_a_day_of_month_and_a_weekday_fire_on_either_as_in_cron() -> None:
    # cron reads "0 7 1 * 1" as the 1st of each month and every Monday; APScheduler required
    # both at once, so the digest came on a 1st that was a Monday: twice in 2025.
    trigger = digest_trigger("0 7 1 * 1", "Asia/Shanghai")
    fire = datetime(2025, 2, 8, 12, 0, tzinfo=SHANGHAI)  # a Saturday
    seen = []
    for _ in range(5):
        fire = trigger.get_next_fire_time(None, fire)
        seen.append(fire.strftime("%a %d %b %H:%M"))
        fire = fire + timedelta(minutes=1)
    assert seen == ["Mon 10 Feb 07:00", "Mon 17 Feb 07:00", "Mon 24 Feb 07:00", "Sat 01 Mar 07:00", "Mon 03 Mar 07:00"]
    # A restricted field beside a "*" stays as it was: every Monday, or every 1st.
    assert digest_trigger("0 7 * * 1", "UTC").get_next_fire_time(None, fire).strftime("%a") == "Mon"
    assert digest_trigger("0 7 1 * *", "UTC").get_next_fire_time(None, fire).day == 1


@pytest.mark.parametrize("schedule", ["every day", "61 25 * * *", "0 8 * *", "0 8 * * 8", "0 8 * * fri-mon"])
def test_a_schedule_that_is_not_cron_is_refused_when_the_file_loads(schedule: str) -> None:
    with pytest.raises(ConfigError, match=r"digest\.schedule"):
        config_from_mapping({"topics": TOPICS, "digest": {"schedule": schedule}}, environ={})
