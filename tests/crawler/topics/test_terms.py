"""A rule term finds what its aliases say, whatever form its compiled pattern takes.

The reference below states the semantics plainly, one regular expression per alias:
Chinese aliases anywhere, Latin aliases as whole words (spaces and hyphens
interchangeable, a trailing plural s allowed); `find` reports the alias of the leftmost
match, the longest alias first where several match there; `count` and `spans` are the
non-overlapping matches of any alias, scanned left to right.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.normalize import normalize_text
from crawler.topics.config import TopicGroupConfig
from crawler.topics.rules import Group, Rules, Term

ALIASES = ["learn from", "study tour", "replicate", "got it right", "lesson", "copy", "学杭州", "对标", "取经",
           "Xi'an", "AI", "six little dragons", "六小龙", "杭州六小龙", "c919"]
TERMS = [["learn from", "study tour", "replicate", "lesson", "copy", "学杭州", "对标", "取经"],
         ["six little dragons", "六小龙", "杭州六小龙"], ["AI"], ["Xi'an", "c919", "got it right"]]


def _reference(aliases: list[str]) -> list[tuple[str, re.Pattern[str]]]:
    """(alias as written, its own pattern), longest normalised alias first."""
    out = []
    for alias in sorted(aliases, key=lambda a: -len(normalize_text(a))):
        folded = normalize_text(alias)
        if re.search(r"[\u4e00-\u9fff]", folded):
            out.append((alias, re.compile(re.escape(folded))))
            continue
        words = [re.escape(w).replace("'", "['’]") for w in re.split(r"[\s\-]+", folded.replace("’", "'")) if w]
        out.append((alias, re.compile(r"(?<![a-z0-9])" + r"[\s\-]+".join(words) + r"s?(?![a-z0-9])")))
    return out


def _reference_find(aliases: list[str], text: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for order, (alias, pattern) in enumerate(_reference(aliases)):
        found = pattern.search(text)
        if found is not None and (best is None or (found.start(), order) < best[:2]):
            best = (found.start(), order, alias)
    return None if best is None else best[2]


def _reference_spans(aliases: list[str], text: str) -> list[tuple[int, int]]:
    patterns = [pattern for _, pattern in _reference(aliases)]
    spans, at = [], 0
    while True:
        starts = [(m.start(), order, m.end()) for order, p in enumerate(patterns) if (m := p.search(text, at))]
        if not starts:
            return spans
        start, _, end = min(starts)
        spans.append((start, end))
        at = end if end > start else end + 1


PIECES = st.sampled_from([*ALIASES, "learns from", "re-learn from", "learn-from", "lessons", "lessonsx",
                          "copying", "xi’an", "six-little-dragons", "aid", "said", " ", " ", "-", "，", "。",
                          "a", "s", "0", "南京", "杭州", "六", "小龙", "learn", "from", "ai"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=14), st.sampled_from(TERMS))
def test_a_term_finds_counts_and_spans_what_its_aliases_say(pieces: list[str], aliases: list[str]) -> None:
    text = normalize_text("".join(pieces))
    term = Term.compile(aliases)
    assert term.find(text) == _reference_find(aliases, text)
    # Given the text's characters (as `Rules.evaluate` passes them), a term only skips scanning.
    assert term.find(text, frozenset(text)) == _reference_find(aliases, text)
    spans = _reference_spans(aliases, text)
    assert term.count(text) == len(spans)
    assert term.spans(text) == [s for s in spans if s[1] > s[0]]


def test_found_alias_is_the_longest_at_the_leftmost_match() -> None:
    term = Term.compile(["六小龙", "杭州六小龙", "learn from"])
    assert term.find(normalize_text("他们要 learn from 杭州六小龙")) == "learn from"
    assert term.find(normalize_text("杭州六小龍與南京")) == "杭州六小龙"
    assert term.find(normalize_text("unlearn from here")) is None


# The rules look for every term's probes in one pass (`Rules.present`), keyed by one character
# of each probe: whichever character that is, a term must find exactly what it finds alone.
RULES = Rules(
    keywords=(Term.compile(TERMS[1]),),
    groups=(Group.compile(TopicGroupConfig(name="learn", terms=[TERMS[0], TERMS[2]])),
            Group.compile(TopicGroupConfig(name="other", mode="none", terms=[TERMS[3]]))),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=14))
def test_terms_find_the_same_with_the_rules_one_pass_over_their_probes(pieces: list[str]) -> None:
    text = normalize_text("".join(pieces))
    chars = frozenset(text)
    present = RULES.present(text, chars)
    for term in RULES.terms:
        assert term.find(text, chars, present) == _reference_find(list(term.aliases), text)
    outcome = RULES.evaluate(text)
    expected_groups = {group.name for group in RULES.groups
                       if any(_reference_find(list(t.aliases), text) for t in group.terms)}
    assert outcome.groups == expected_groups
