"""Building blocks of every configuration section: a strict base model and validated values.

Each package declares its own section (`crawler.config`, `crawler.topics.config`,
`digest.config`, `scheduler.config`); they all build on what is here, so a duration,
a time zone or an http(s) URL is checked the same way, once, when the file loads,
and code below the loader receives typed values (a `timedelta`, never "30m").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from storage.durations import format_duration, parse_duration


class Section(BaseModel):
    """A configuration section: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
    return value


def _to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"{format_duration(value)!r} must be longer than zero")
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"{value!r} is not a duration like '30m', '1h30m' or '2d'")


# "30m" in the file, a timedelta in the code, "30m" again when printed.
Duration = Annotated[timedelta, BeforeValidator(_to_duration), PlainSerializer(format_duration, return_type=str)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
