"""Human-friendly durations such as "30m", "1h30m" or "2d"."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str, *, allow_zero: bool = False) -> timedelta:
    """Parse "45s", "30m", "1h30m", "2d" or "1w" ("0s" too with `allow_zero`); raise ValueError otherwise."""
    text = value.strip().lower().replace(" ", "")
    if not text or _PART.sub("", text):
        raise ValueError(f"{value!r} is not a duration like '30m', '1h30m' or '2d'")
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total < timedelta(0) or (total == timedelta(0) and not allow_zero):
        raise ValueError(f"{value!r} must be longer than zero")
    return total


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`, for status output."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
