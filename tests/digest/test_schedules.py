"""Per-topic schedules: the daemon runs one digest job per schedule, each remembering its own last run."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.app import build_app
from scheduler.config import config_from_mapping
from scheduler.daemon import DIGEST_JOB, Daemon, DigestSchedule, digest_schedules

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
