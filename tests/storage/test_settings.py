"""The configuration's value checks: the CSS check must agree with parsel, which Scrapy reads selectors with."""

from collections.abc import Callable

import pytest
from cssselect import SelectorError
from parsel.csstranslator import css2xpath

from storage.settings import check_css

SELECTORS = [
    "a", "a::text", "a::attr(href)", "a::attr('href')", "a::attr(\"data-x\")", "*::attr(href)",
    "::text", "a, b::text", "a::text, b::attr(src)", "div > p ~ span + b", "article .body p",
    "a:first-child", "li:nth-child(2n+1)", "li:nth-last-of-type(3)", "a:not(.x)", "a:has(> b)",
    "a:is(b, c)", "p:lang(en)", "input:checked", "input:disabled", "a:empty", ":root", ":scope > a",
    "a:contains('x')", "a:hover", "a:visited", "a::first-line", "a::before",
    "a::attr(href, x)", "a::attr()", "a::attr(1)", "a::foo", "a::foo()", "a::TEXT", "a::text()",
    "a::text::text", "a::attr(href)::text", "a::text b", "a[[[", "div..x", "", " ", "a >", "#", "a[href=]",
    "a[href='x']", "a[href^=http]", "a[data-x|=en]", "a:nth-child(foo)", "a:unknown-pseudo",
]


def _accepts(check: Callable[[str], object], selector: str) -> bool:
    """Whether `check` takes `selector`: parsel raises SelectorError, the configuration's check ValueError."""
    try:
        check(selector)
    except (SelectorError, ValueError):
        return False
    return True


@pytest.mark.parametrize("selector", SELECTORS)
def test_the_css_check_accepts_what_parsel_accepts_and_nothing_else(selector: str) -> None:
    assert _accepts(check_css, selector) == _accepts(css2xpath, selector)


def test_the_table_holds_both_verdicts() -> None:
    verdicts = {_accepts(css2xpath, selector) for selector in SELECTORS}
    assert verdicts == {True, False}


def test_a_refused_selector_says_why_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^'a::foo' is not a valid CSS selector: .*::foo is unknown$"):
        check_css("a::foo")
