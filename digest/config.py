"""The digest's configuration sections: `[digest]` (with per-topic audiences) and `[smtp]`.

`[digest]` holds the defaults; `[digest.topics.<topic>]` overrides who receives one
topic's digest, when, and through which channels::

    [digest]
    recipients = ["desk@example.org"]
    schedule = "0 8 * * *"

    [digest.topics.nanjing-six-dragons]
    recipients = ["jiangsu-desk@example.org"]     # instead of [digest] recipients
    schedule = "0 7,19 * * *"
    channels = ["team-wecom"]                     # MEDIAWATCH_CHANNEL_TEAM_WECOM holds its Apprise URL

A channel is a name; its Apprise URL (`wecombot://…`, `dingtalk://…`, `tgram://…`,
`json://…`) carries tokens, so like every secret it comes from the environment only:
`MEDIAWATCH_CHANNEL_<NAME>` (upper case, `-` as `_`). The loader fills `channel_urls`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, model_validator

from storage.settings import EmailAddress, HttpUrl, Section, TimeZoneName

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

CHANNEL_ENV_PREFIX = "MEDIAWATCH_CHANNEL_"
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, timezone: ZoneInfo | str = "UTC") -> BaseTrigger:
    """An APScheduler trigger for a standard five-field cron expression, read as cron reads it.

    APScheduler 3 counts weekdays from Monday (0 = mon), cron from Sunday (0 or 7 =
    sun): `CronTrigger.from_crontab("0 7 * * 1")` fires on Tuesdays. The weekday field
    is therefore translated to day names first, so "1-5" means Monday to Friday. And
    when both the day of the month and the weekday are restricted, cron fires on a day
    matching either ("0 7 1 * 1": the 1st and every Monday), where one CronTrigger
    requires both (only a 1st that is a Monday): that is two triggers, either firing.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} is not a cron expression of five fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    weekdays = _cron_weekdays(weekday)
    if _restricted(day) and _restricted(weekday):
        from apscheduler.triggers.combining import OrTrigger

        return OrTrigger([CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=tz),
                          CronTrigger(minute=minute, hour=hour, month=month, day_of_week=weekdays, timezone=tz)])
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays, timezone=tz)


def _restricted(field: str) -> bool:
    """Whether a day or weekday field limits the days (cron's test: it does not start with "*")."""
    return not field.startswith(("*", "?"))


def _cron_weekdays(field: str) -> str:
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"weekday step {step_text!r} is not a positive number")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _weekday_number(low)
            last = _weekday_number(high) if high else (6 if step else first)
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def _weekday_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(token[:3])
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun-sat)")


# Any day, month and weekday that can meet do so within 28 years of this (February 29th on
# a Monday included); APScheduler answers None, quickly, for one that never does.
_NEVER_AFTER = datetime(2001, 1, 1, tzinfo=UTC)


def check_cron(value: str) -> str:
    """Five cron fields that APScheduler accepts and that fire at all.

    "61 25 * * *" and "every day" are refused, and so is "0 8 31 2 *": no February has a
    31st, so the daemon scheduled nothing and never sent a digest.
    """
    try:
        trigger = cron_trigger(value)
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(repr(value)) else f"{value!r} is not a valid cron expression: {message}") from None
    if trigger.get_next_fire_time(None, _NEVER_AFTER) is None:
        raise ValueError(f"{value!r} never fires: no date has that day and month (and weekday, if one is set)")
    return value


def check_channel_name(value: str) -> str:
    if not _CHANNEL_NAME.match(value):
        raise ValueError(f"channel name {value!r}: use letters, digits, - and _ (its URL comes from the environment)")
    return value


def channel_env(name: str) -> str:
    """The environment variable that holds channel `name`'s Apprise URL."""
    return CHANNEL_ENV_PREFIX + name.upper().replace("-", "_")


def channel_urls_from(digest: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The Apprise URL of every channel `[digest]` names, from the environment (for the loader)."""
    if not isinstance(digest, Mapping):
        return {}
    # Only looked at here: a value of the wrong shape is left for validation to name (it was a traceback).
    def listed(value: Any) -> list[Any]:
        return list(value) if isinstance(value, list) else []

    names = listed(digest.get("channels"))
    audiences = digest.get("topics")
    for audience in audiences.values() if isinstance(audiences, Mapping) else ():
        if isinstance(audience, Mapping):
            names += listed(audience.get("channels"))
    return {n: environ[channel_env(n)] for n in names if isinstance(n, str) and environ.get(channel_env(n))}


Cron = Annotated[str, AfterValidator(check_cron)]
ChannelName = Annotated[str, AfterValidator(check_channel_name)]


class TopicDigestConfig(Section):
    """`[digest.topics.<topic>]`: one topic's audience; anything unset falls back to `[digest]`."""

    recipients: list[EmailAddress] | None = Field(
        None, description="addresses for this topic (default: digest.recipients)"
    )
    schedule: Cron | None = Field(None, description="cron schedule for this topic (default: digest.schedule)")
    channels: list[ChannelName] | None = Field(
        None, description="channel names for this topic (default: digest.channels)"
    )
    max_per_section: int | None = Field(
        None, ge=1, description="storylines in this topic's email (default: digest.max_per_section)"
    )


class DigestConfig(Section):
    recipients: list[EmailAddress] = Field(default_factory=list, description="addresses that receive the digest")
    schedule: Cron = Field("0 8 * * *", description="cron expression (minute hour day month weekday)")
    timezone: TimeZoneName = Field("Asia/Shanghai", description="time zone for the schedule and displayed times")
    archive_dir: str = Field("digests", description="folder for HTML/text digests, index.html and feed.xml")
    send_empty: bool = Field(
        False, description="send a digest even when nothing is new or changed (a takedown or edit always sends one)"
    )
    max_per_section: int = Field(
        10, ge=1, description="storylines (and entries per other section) in the email; the archive page lists all"
    )
    archive_url: HttpUrl | None = Field(None, description="http(s) URL where archive_dir is served; digests link to it")
    channels: list[ChannelName] = Field(
        default_factory=list,
        description="Apprise channel names every topic also goes to; each URL comes from MEDIAWATCH_CHANNEL_{NAME}",
    )
    topics: dict[str, TopicDigestConfig] = Field(
        default_factory=dict, description="per-topic audience: [digest.topics.<topic>] recipients, schedule, channels"
    )
    channel_urls: dict[str, str] = Field(
        default_factory=dict, exclude=True, description="environment only: MEDIAWATCH_CHANNEL_{NAME} holds the Apprise URL"
    )

    @model_validator(mode="after")
    def _channels_have_urls(self) -> DigestConfig:
        named = list(self.channels)
        for audience in self.topics.values():
            named += audience.channels or []
        missing = sorted({name for name in named if name not in self.channel_urls})
        if missing:
            raise ValueError(
                "channel " + ", ".join(repr(m) for m in missing) + " has no URL: set "
                + ", ".join(channel_env(m) for m in missing) + " in the environment to its Apprise URL"
            )
        return self

    def audience(self, topic: str) -> Audience:
        """Who gets `topic`'s digest, when and how: its own settings over the defaults."""
        own = self.topics.get(topic) or TopicDigestConfig()
        channels = own.channels if own.channels is not None else self.channels
        return Audience(
            recipients=tuple(own.recipients if own.recipients is not None else self.recipients),
            schedule=own.schedule or self.schedule,
            channels=tuple((name, self.channel_urls[name]) for name in channels),
            max_per_section=own.max_per_section or self.max_per_section,
            own_schedule=own.schedule is not None and own.schedule != self.schedule,
        )


@dataclass(frozen=True)
class Audience:
    """One topic's effective audience (`DigestConfig.audience`)."""

    recipients: tuple[str, ...]
    schedule: str
    channels: tuple[tuple[str, str], ...]  # (name, Apprise URL)
    max_per_section: int
    own_schedule: bool = False  # differs from [digest] schedule: the daemon gives it a job of its own

    def __repr__(self) -> str:  # channel URLs carry tokens
        names = ", ".join(name for name, _ in self.channels)
        return f"Audience(recipients={self.recipients!r}, schedule={self.schedule!r}, channels=[{names}])"


class SmtpConfig(Section):
    host: str = Field("127.0.0.1", description="SMTP server")
    port: int = Field(25, ge=1, le=65535, description="SMTP port")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(False, description="connect with implicit TLS (port 465)")
    username: str | None = Field(None, description="login name; the password comes from MEDIAWATCH_SMTP_PASSWORD")
    sender: EmailAddress = Field("mediawatch@localhost", description="From address")
    password: str | None = Field(None, exclude=True, description="environment only: MEDIAWATCH_SMTP_PASSWORD")
