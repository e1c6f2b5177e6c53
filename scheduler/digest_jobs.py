"""The digest jobs of the timetable: their ids, cron schedules and triggers.

Kept apart from `scheduler.daemon` so that `mediawatch status` can say when the next
digest is due without importing the daemon (APScheduler's scheduler and
prometheus-client: about 0.08 s of its 0.66 s start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from digest.config import cron_trigger

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from scheduler.config import Config

DIGEST_JOB = "digest"  # the topics on the [digest] schedule; a topic with its own has "digest:<topic>"


@dataclass(frozen=True)
class DigestSchedule:
    """One digest job: its id (also its `job_state` row), cron schedule and topics."""

    job_id: str
    schedule: str
    topics: tuple[str, ...]


def digest_schedules(config: Config) -> list[DigestSchedule]:
    """The digest jobs: one for the topics on `[digest] schedule`, one per topic with its own."""
    shared = [t.name for t in config.topics if not config.digest.audience(t.name).own_schedule]
    jobs = [DigestSchedule(DIGEST_JOB, config.digest.schedule, tuple(shared))] if shared else []
    for topic in config.topics:
        audience = config.digest.audience(topic.name)
        if audience.own_schedule:
            jobs.append(DigestSchedule(f"{DIGEST_JOB}:{topic.name}", audience.schedule, (topic.name,)))
    return jobs


def digest_trigger(schedule: str, timezone: str) -> BaseTrigger:
    # Not CronTrigger.from_crontab: it reads weekday 1 as Tuesday (see digest.config.cron_trigger).
    return cron_trigger(schedule, ZoneInfo(timezone))
