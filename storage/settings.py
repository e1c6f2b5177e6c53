"""Building blocks of every configuration section: a strict base model and validated values.

Each package declares its own section (`crawler.config`, `crawler.topics.config`,
`digest.config`, `scheduler.config`); they all build on what is here, so a duration,
a time zone or an http(s) URL is checked the same way, once, when the file loads,
and code below the loader receives typed values (a `timedelta`, never "30m").
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache, partial
from typing import Annotated, Any, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from storage.durations import format_duration, parse_duration


class Section(BaseModel):
    """A configuration section: unknown keys are errors, values never change after loading.

    No number is infinite or NaN: TOML writes them (`inf`, `nan`), and a timeout or a
    retry's wait of `inf` left a crawl waiting for ever.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, data: Any) -> Any:
        # TOML's true is a Python bool, which is an int: `port = true` was port 1, and so on.
        # One check over the section's keys, not a validator on every field: that one, on
        # every section's every field, cost `mediawatch status` 2% of its start-up.
        if isinstance(data, dict) and any(isinstance(value, bool) for value in data.values()):
            numbers = _number_fields(cls)
            wrong = [key for key, value in data.items() if isinstance(value, bool) and key in numbers]
            if wrong:
                raise ValidationError.from_exception_data(cls.__name__, [
                    InitErrorDetails(type=PydanticCustomError("number_type", "expected a number, got {value}",
                                                              {"value": str(data[key]).lower()}),
                                     loc=(key,), input=data[key])
                    for key in wrong
                ])
        return data


@cache
def _number_fields(section: type[BaseModel]) -> frozenset[str]:
    """The fields of `section` that take a number and not a boolean."""
    return frozenset(
        name for name, field in section.model_fields.items()
        if not _accepts(field.annotation, bool) and (_accepts(field.annotation, int) or _accepts(field.annotation, float))
    )


def _accepts(annotation: Any, kind: type) -> bool:
    """Whether `kind` is the annotation or one of its union's members (`int | None`)."""
    return annotation is kind or any(_accepts(member, kind) for member in get_args(annotation))


def check_http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- reading the port is what raises on one past 65535 or not a number
    except ValueError as exc:
        # Scrapy refuses such a URL when the crawl starts, which stopped every source's crawl.
        raise ValueError(f"{value!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
    return value


def check_css(value: str) -> str:
    """A CSS selector as Scrapy/parsel reads it (`::text` and `::attr(x)` included).

    Checked with cssselect, which parsel translates with, rather than parsel itself:
    importing parsel brings lxml and w3lib, about 6% of `mediawatch status`'s start-up.
    `tests/storage/test_settings.py` pins the verdicts to parsel's `css2xpath`.
    """
    from cssselect import HTMLTranslator, SelectorError, parse

    try:
        for selector in parse(value):
            # The selector proper, then the one pseudo-element it may end with.
            HTMLTranslator().selector_to_xpath(selector)
            _check_pseudo_element(selector.pseudo_element)
    except SelectorError as exc:
        raise ValueError(f"{value!r} is not a valid CSS selector: {exc}") from None
    return value


def _check_pseudo_element(pseudo_element: Any) -> None:
    """parsel's two pseudo-elements: `::text` and `::attr(name)`."""
    from cssselect.parser import FunctionalPseudoElement
    from cssselect.xpath import ExpressionError

    if pseudo_element is None or pseudo_element == "text":
        return
    if not isinstance(pseudo_element, FunctionalPseudoElement):
        raise ExpressionError(f"The pseudo-element ::{pseudo_element} is unknown")
    if pseudo_element.name != "attr":
        raise ExpressionError(f"The functional pseudo-element ::{pseudo_element.name}() is unknown")
    if pseudo_element.argument_types() not in (["STRING"], ["IDENT"]):
        raise ExpressionError(f"Expected a single string or ident for ::attr(), got {pseudo_element.arguments!r}")


# The EXSLT prefixes parsel registers for every selector.
_XPATH_NAMESPACES = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}


def check_xpath(value: str) -> str:
    from lxml import etree

    try:
        etree.XPath(value, namespaces=_XPATH_NAMESPACES)
    except etree.XPathError as exc:
        raise ValueError(f"{value!r} is not a valid XPath expression: {exc}") from None
    return value


def check_selector(value: str) -> str:
    """CSS, or XPath when it starts with / or ( (the extraction overrides' convention)."""
    return check_xpath(value) if value.lstrip().startswith(("/", "(")) else check_css(value)


_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+$")


def check_email(value: str) -> str:
    """An address, optionally with a display name: 'a@example.org' or 'Desk <a@example.org>'."""
    from email.utils import getaddresses, parseaddr

    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{value!r} is not an email address: it holds a line break")
    # parseaddr keeps the first of several addresses: the others would never be written to.
    if len([found for _, found in getaddresses([value]) if found]) > 1:
        raise ValueError(f"{value!r} holds more than one address: list each on its own, "
                         "as recipients = ['desk@example.org', 'chief@example.org']")
    _, address = parseaddr(value)
    if not address or not _EMAIL.match(address) or ".." in address:
        raise ValueError(f"{value!r} is not an email address such as 'desk@example.org'")
    return value


# Ten years: more than any interval, grace or lifetime needs, and far enough from what a
# timedelta or a date can hold that "now + every" and "10 x every" never overflow.
MAX_DURATION = timedelta(days=3650)


def _to_duration(value: Any, *, allow_zero: bool = False) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        try:
            duration = parse_duration(value, allow_zero=allow_zero)
        except OverflowError:
            duration = timedelta.max
    else:
        raise ValueError(f"{value!r} is not a duration like '30m', '1h30m' or '2d'")
    if duration < timedelta(0) or (duration == timedelta(0) and not allow_zero):
        raise ValueError(f"{format_duration(duration)!r} must be longer than zero")
    if duration > MAX_DURATION:
        shown = value if isinstance(value, str) else format_duration(duration)
        raise ValueError(f"{shown!r} is too long (at most {format_duration(MAX_DURATION)})")
    return duration


# "30m" in the file, a timedelta in the code, "30m" again when printed.
Duration = Annotated[timedelta, BeforeValidator(_to_duration), PlainSerializer(format_duration, return_type=str)]
# A delay that may be none at all ("0s"), such as the daemon's jitter.
DelayDuration = Annotated[
    timedelta, BeforeValidator(partial(_to_duration, allow_zero=True)), PlainSerializer(format_duration, return_type=str)
]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
CssSelector = Annotated[str, AfterValidator(check_css)]
XPathExpression = Annotated[str, AfterValidator(check_xpath)]
Selector = Annotated[str, AfterValidator(check_selector)]
EmailAddress = Annotated[str, AfterValidator(check_email)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
