"""A topic's term rules, compiled once: keywords and weighted `any`/`all`/`none` groups.

Everything here works on text that `normalize_text` has already folded, so a rule term
written 六小龙 matches 六小龍, and "Nanjing" matches "NANJING". Chinese aliases match
anywhere in the text (Chinese has no spaces to anchor on); aliases in Latin script match
whole words only, so "AI" does not fire inside "said", and a trailing plural "s" is
allowed ("little dragon" matches "little dragons").

Scoring (see `Rules.evaluate`): each matched `any`/`all` group adds its weight to a rule
score capped at 1; each matched `none` group keeps only `1 - weight` of the final score
(weight 1, the default, is a veto). A keyword hit makes the article relevant on its own.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache

from crawler.normalize import normalize_text, normalize_with_offsets
from crawler.topics.config import TopicConfig, TopicGroupConfig

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_SEPARATOR = re.compile(r"[\s\-]+")


def has_cjk(text: str) -> bool:
    return _HAN.search(text) is not None


def _alias_pattern(normalized: str) -> tuple[str, str]:
    """(regex, probe): the probe is a plain substring the regex cannot match without."""
    if has_cjk(normalized):
        return re.escape(normalized), normalized
    parts = [p for p in _LATIN_SEPARATOR.split(normalized.replace("’", "'")) if p]
    # Spaces and hyphens are interchangeable ("six-little-dragons"); letters and digits
    # around the alias would mean it is part of a longer word.
    words = [re.escape(p).replace("'", "['’]") for p in parts]  # Xi'an, Xi’an
    # "No letter or digit before the alias", checked after its first word rather than
    # before it: a pattern that starts with a literal lets the regex engine skip ahead to
    # the characters an alias can start with, where a leading look-behind made it try
    # every alternative at every position (2-3 ms an article for a term of 14 aliases).
    first = words[0] + r"(?<![a-z0-9]" + words[0] + ")"
    regex = r"[\s\-]+".join([first, *words[1:]]) + r"s?(?![a-z0-9])"
    return regex, max((w for p in parts for w in p.split("'")), key=len)


# English letters from the most to the least frequent: a probe's rarest letter is the best
# single test of whether a text can hold it.
_LETTERS_BY_FREQUENCY = "etaoinsrhldcumfpgwybvkxjqz"


def _key_char(probe: str) -> str:
    """The character of `probe` least likely to be in a text without it (see `Rules.present`).

    Any choice is correct (a text holding the probe holds all its characters); a rarer one
    rules out more terms at once. Latin letters go by English frequency; any other character
    (Han, digits) counts as rarer than every letter, the last one first (the noun of 杭州,
    六小龙, 深度求索).
    """
    def rarity(position_char: tuple[int, str]) -> tuple[int, int]:
        position, char = position_char
        rank = _LETTERS_BY_FREQUENCY.find(char)
        return (len(_LETTERS_BY_FREQUENCY) if rank < 0 else rank, position)

    return max(enumerate(probe), key=rarity)[1]


@dataclass(frozen=True)
class Term:
    """One concept and its aliases; `label` is the first alias as the config wrote it."""

    label: str
    aliases: tuple[str, ...]  # as written in the config, longest (normalised) first
    pattern: re.Pattern[str]  # any alias: the alternatives in `aliases` order, no groups (see `find`)
    each: tuple[re.Pattern[str], ...]  # one pattern per alias, in the same order
    probes: tuple[str, ...]  # substrings of which at least one is in any text the pattern matches
    probe_chars: tuple[frozenset[str], ...]  # each probe's characters, in the same order

    @classmethod
    def compile(cls, aliases: Sequence[str]) -> Term:
        written = tuple(dict.fromkeys(a.strip() for a in aliases if a.strip()))
        if not written:
            raise ValueError("a term needs at least one alias")
        normalized = [normalize_text(a) for a in written]
        # Longest alias first, so 杭州六小龙 is reported rather than its part 六小龙.
        order = sorted(range(len(written)), key=lambda i: -len(normalized[i]))
        compiled = [_alias_pattern(normalized[i]) for i in order]
        probes = tuple(dict.fromkeys(probe for _, probe in compiled))
        return cls(
            label=written[0],
            aliases=tuple(written[i] for i in order),
            # Without capturing groups every alternative starts with a literal, which the
            # engine turns into a set of first characters to scan for.
            pattern=re.compile("|".join(regex for regex, _ in compiled)),
            each=tuple(re.compile(regex) for regex, _ in compiled),
            probes=probes,
            probe_chars=tuple(frozenset(probe) for probe in probes),
        )

    def _maybe_in(self, text: str, chars: frozenset[str] | None = None) -> bool:
        # A substring test is an order of magnitude cheaper than the regex, and most
        # terms are absent from most articles. With the text's characters at hand
        # (`chars`, see `Rules.evaluate`), a probe with a character the text lacks is
        # ruled out without scanning it: the Chinese probes on an English page, most
        # Latin ones on a Chinese page.
        if chars is None:
            return any(probe in text for probe in self.probes)
        return any(need <= chars and probe in text for probe, need in zip(self.probes, self.probe_chars, strict=True))

    def find(self, text: str, chars: frozenset[str] | None = None, present: Set[int] | None = None) -> str | None:
        """The alias (as written in the config) found in normalised `text`, or None.

        `chars`, when given, must be `frozenset(text)` (it only saves scanning the text);
        `present`, when given, the `Rules.present` of `text` (the probes, already looked for).
        """
        if present is not None:
            if id(self) not in present:
                return None
        elif not self._maybe_in(text, chars):
            return None
        match = self.pattern.search(text)
        if match is None:
            return None
        # The alternative that matched is the first, in order, that matches where the match starts.
        return next(alias for alias, pattern in zip(self.aliases, self.each, strict=True)
                    if pattern.match(text, match.start()))

    def count(self, text: str) -> int:
        """Non-overlapping occurrences of any alias."""
        return sum(1 for _ in self.pattern.finditer(text)) if self._maybe_in(text) else 0

    def spans(self, text: str, folded: tuple[str, list[int]] | None = None) -> list[tuple[int, int]]:
        """Where any alias occurs in `text` as written (not normalised): (start, end) pairs, in order.

        `folded`: `normalize_with_offsets(text)`, when the caller has it already.
        """
        folded_text, origin = folded if folded is not None else normalize_with_offsets(text)
        if not self._maybe_in(folded_text):
            return []
        return [(origin[m.start()], origin[m.end() - 1] + 1) for m in self.pattern.finditer(folded_text)
                if m.end() > m.start()]

    def dictionary_words(self) -> list[str]:
        """The normalised aliases written in Han characters only, for the segmenter's dictionary."""
        return [n for n in (normalize_text(a) for a in self.aliases) if _HAN.fullmatch(n)]


@lru_cache(maxsize=512)
def _term(alias: str) -> Term:
    return Term.compile([alias])


def term_spans(text: str, aliases: Sequence[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) ranges of `text` where any alias occurs, in order.

    The same matching as the rules (normalised script, width and case; Latin aliases
    as whole words), so what is marked for a reader is what the matcher saw.
    """
    # Folded once for every alias: a digest of 5,000 candidates spent 90% of its build folding each
    # excerpt again for each of its topic's twenty terms.
    folded = normalize_with_offsets(text)
    starts: list[int] = []  # the hits kept, in order and never overlapping: a new one is checked
    ends: list[int] = []  # against its two neighbours, not against every hit of a long article
    for alias in sorted({a.strip() for a in aliases if a.strip()}, key=len, reverse=True):
        if not any(ch.isalnum() for ch in alias):
            continue
        for start, end in _term(alias).spans(text, folded):
            at = bisect.bisect_right(starts, start)
            if (at == 0 or ends[at - 1] <= start) and (at == len(starts) or end <= starts[at]):
                starts.insert(at, start)
                ends.insert(at, end)
    return list(zip(starts, ends, strict=True))


@dataclass(frozen=True)
class Group:
    name: str
    mode: str  # "any", "all" or "none"
    weight: float
    terms: tuple[Term, ...]

    @classmethod
    def compile(cls, config: TopicGroupConfig) -> Group:
        return cls(config.name, config.mode, config.weight, tuple(Term.compile(t) for t in config.terms))

    def found(self, text: str, chars: frozenset[str] | None = None, present: Set[int] | None = None) -> list[str]:
        """The aliases found, or [] when the group does not match (an `all` group needs every term).

        `chars` and `present`, when given: see `Term.find`.
        """
        hits = [t.find(text, chars, present) for t in self.terms]
        found = [h for h in hits if h is not None]
        if self.mode == "all" and len(found) < len(self.terms):
            return []
        return found


@dataclass(frozen=True)
class RuleOutcome:
    """What the terms say about one article, before seed similarity is mixed in."""

    score: float  # sum of matched any/all group weights, capped at 1
    keyword_hit: bool
    keep: float  # product of (1 - weight) over matched none groups; 1.0 when none matched
    reasons: tuple[str, ...]  # matched aliases; none-group hits as "not:<alias>"
    groups: frozenset[str] = frozenset()  # the names of the groups that matched, of every mode


@dataclass(frozen=True)
class Rules:
    keywords: tuple[Term, ...]
    groups: tuple[Group, ...]
    # Every term's probes by their `_key_char`: (probe, its characters, id of its term).
    _by_key: dict[str, tuple[tuple[str, frozenset[str], int], ...]] = field(init=False, repr=False, compare=False)
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, list[tuple[str, frozenset[str], int]]] = {}
        for term in self.terms:
            for probe, need in zip(term.probes, term.probe_chars, strict=True):
                by_key.setdefault(_key_char(probe), []).append((probe, need, id(term)))
        object.__setattr__(self, "_by_key", {key: tuple(entries) for key, entries in by_key.items()})
        object.__setattr__(self, "_keys", frozenset(by_key))

    def present(self, text: str, chars: frozenset[str]) -> set[int]:
        """The ids of the terms with a probe in normalised `text` (`chars`: `frozenset(text)`).

        One pass over the probes whose key character the text holds (a set intersection),
        instead of every term testing each of its probes: on a 4,000-character page most of
        the topic's hundred-odd terms are ruled out without a look.
        """
        found: set[int] = set()
        for key in self._keys & chars:
            for probe, need, term in self._by_key[key]:
                if term not in found and need <= chars and probe in text:
                    found.add(term)
        return found

    @classmethod
    def compile(cls, topic: TopicConfig) -> Rules:
        keywords = tuple(Term.compile(k.split("|")) for k in topic.keywords)
        return cls(keywords=keywords, groups=tuple(Group.compile(g) for g in topic.groups))

    @property
    def terms(self) -> Iterable[Term]:
        yield from self.keywords
        for group in self.groups:
            yield from group.terms

    def dictionary_words(self) -> list[str]:
        return sorted({w for term in self.terms for w in term.dictionary_words()})

    def evaluate(self, text: str, chars: frozenset[str] | None = None) -> RuleOutcome:
        """Score normalised `text` against the keywords and groups (`chars`: `frozenset(text)`, if at hand)."""
        chars = frozenset(text) if chars is None else chars
        present = self.present(text, chars)
        reasons: list[str] = []
        keyword_hits = [h for h in (k.find(text, chars, present) for k in self.keywords) if h is not None]
        reasons.extend(keyword_hits)
        score = 1.0 if keyword_hits else 0.0
        keep = 1.0
        matched: list[str] = []
        for group in self.groups:
            found = group.found(text, chars, present)
            if not found:
                continue
            matched.append(group.name)
            if group.mode == "none":
                keep *= 1.0 - group.weight
                reasons.extend(f"not:{alias}" for alias in found)
            else:
                score += group.weight
                reasons.extend(found)
        return RuleOutcome(
            score=min(1.0, score),
            keyword_hit=bool(keyword_hits),
            keep=keep,
            reasons=tuple(dict.fromkeys(reasons)),
            groups=frozenset(matched),
        )
