"""What a digest shows, as plain immutable data: the model both templates render.

`digest.select` builds a `DigestView` from the ledger's articles; `digest.render`
turns it into HTML and text. Every string here is plain text (the templates escape
it) and every `url` has passed `digest.text.safe_url`, so a template may print it.

To add something to every digest (say, "new outlets this period"), give `DigestView`
a field with a default, fill it in `select_digest`, and print it in both templates;
a one-line remark can simply go into `notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """A run of text; `mark` when it is a matched term to highlight."""

    text: str
    mark: bool = False


@dataclass(frozen=True)
class Section(Generic[T]):
    """A list shown up to a cap; `more` is how many were left for the archive page."""

    items: tuple[T, ...] = ()
    more: int = 0

    def __bool__(self) -> bool:
        return bool(self.items) or self.more > 0

    def capped(self, limit: int | None) -> Section[T]:
        if limit is None or len(self.items) <= limit:
            return self
        return Section(self.items[:limit], self.more + len(self.items) - limit)


@dataclass(frozen=True)
class SeedReport:
    """The original report a topic started from (from `[[topics]] seed`)."""

    title: str
    publisher: str
    published: str  # ISO date
    url: str | None
    summary: str


@dataclass(frozen=True)
class OutletLink:
    outlet: str
    url: str | None
    copies: int = 1  # articles of the story from this outlet (the link is to the first)


@dataclass(frozen=True)
class Entry:
    """One article as listed in a digest.

    The headline is plain text: highlights belong to the excerpt, and only on the
    topic's core terms. `why` is the one short line readers see; `matched` (every
    reason, scores included) is for the archive page and the command line.
    """

    article_id: int
    title: str
    url: str | None
    outlet: str
    when: str  # local time, TIME_FORMAT
    when_iso: str
    when_is_fetch: bool  # no publication time known: `when` is when we found it
    excerpt: tuple[Span, ...]
    matched: tuple[str, ...]
    language: str | None
    score: float
    why: str = ""  # e.g. "mentions 六小龙 · similar to the original report"
    via: str | None = None  # how it was found, when not from a listed source ("found by news search", …)

    @property
    def title_text(self) -> str:
        return self.title

    @property
    def excerpt_text(self) -> str:
        return "".join(span.text for span in self.excerpt)


@dataclass(frozen=True)
class DigestStory:
    """Articles telling the same story: the lead entry and who else carried it."""

    lead: Entry
    also: tuple[OutletLink, ...]
    size: int  # articles in this digest that belong to the storyline
    score: float  # relevance: the best topic score among its articles
    rank: float = 0.0  # relevance, reach and recency combined (`digest.select.rank_story`)

    @property
    def reach(self) -> int:
        """How many outlets carried it."""
        return 1 + len(self.also)

    @property
    def repeats(self) -> int:
        """Articles of the story in this digest beyond one per outlet (an outlet's own copies)."""
        return max(0, self.size - self.reach)


@dataclass(frozen=True)
class PickedUp:
    """A story an earlier digest sent, copied since by more articles: reach, not new coverage."""

    title: str  # the headline the readers got
    url: str | None
    outlet: str  # of the article the earlier digest listed
    first_sent: str  # local time of that digest
    first_sent_iso: str
    also: tuple[OutletLink, ...]  # the outlets of the new copies, each once
    copies: int  # new articles of the story in this digest

    @property
    def outlets_line(self) -> str:
        """'东海观察 (2 copies), Haixi Times'."""
        return ", ".join(o.outlet + (f" ({o.copies} copies)" if o.copies > 1 else "") for o in self.also)


@dataclass(frozen=True)
class Change:
    """An article a digest listed that has since been taken down or substantively edited."""

    kind: str  # "removed" | "edited"
    article_id: int
    title: str  # the headline as stored now (for a removed article: its last known one)
    outlet: str
    url: str | None  # the stored URL (for a removed article it no longer answers)
    when: str  # local time the recheck noticed the removal, or found the (last) edit
    when_iso: str
    language: str | None
    in_this_digest: bool  # also listed under new coverage in this digest
    previous_title: str | None = None  # edited: the headline before, when it changed
    what: str = ""  # edited: "headline changed", "text changed" or "headline and text changed"
    edits: int = 1  # edited: substantive edits found in this period


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: int  # of the widest bar, 0..100


@dataclass(frozen=True)
class Coverage:
    """Coverage volume over the topic's lifetime, per period and per outlet."""

    unit: str  # "day" | "week" | "month"
    periods: tuple[Bar, ...]
    outlets: Section[Bar]
    total: int
    first: str | None  # first period's label


@dataclass(frozen=True)
class SourceProblem:
    name: str
    outlet: str
    problem: str  # "unhealthy" | "last crawl failed"
    detail: str
    last_success: str  # local time or "never"


@dataclass(frozen=True)
class DigestView:
    """Everything a digest shows, in reading order."""

    topic: str  # the configuration key (archive folder, headers)
    generated: str  # local time
    generated_at: datetime
    timezone: str
    seed: SeedReport | None
    article_count: int
    outlet_count: int
    since: str | None  # local time of the previous digest; None for the first
    storylines: Section[DigestStory]
    coverage: Coverage
    health: Section[SourceProblem]
    # Articles listed by a sent digest (or this one) that were taken down or edited this period.
    removed: Section[Change] = field(default_factory=Section)
    edited: Section[Change] = field(default_factory=Section)
    title: str = ""  # the topic's display title (`[[topics]] title`, else its name)
    description: str = ""  # one line saying what the topic follows
    notes: tuple[str, ...] = ()  # one-line remarks shown under the headline count
    new_outlets: tuple[str, ...] = ()  # outlets first seen this period (found by search, RSSHub or a citation)
    # Stories an earlier digest sent, with new copies this period (not counted in `article_count`).
    picked_up: Section[PickedUp] = field(default_factory=Section)
    copies_count: int = 0  # the new articles `picked_up` stands for

    @property
    def display_title(self) -> str:
        return self.title or self.topic

    @property
    def first(self) -> bool:
        """The topic's first digest: it opens with the original report in full."""
        return self.since is None

    def capped(self, limit: int | None) -> DigestView:
        """The same digest with each section cut to `limit` entries ("and N more")."""
        return replace(
            self,
            storylines=self.storylines.capped(limit),
            picked_up=self.picked_up.capped(limit),
            removed=self.removed.capped(limit),
            edited=self.edited.capped(limit),
            health=self.health.capped(limit),
            coverage=replace(self.coverage, outlets=self.coverage.outlets.capped(limit)),
        )

    @property
    def storyline_count(self) -> int:
        return len(self.storylines.items) + self.storylines.more

    @property
    def copies_line(self) -> str:
        """'2 copies of a story sent before', or "" when there are none (headline and subject)."""
        if not self.copies_count:
            return ""
        stories = len(self.picked_up.items) + self.picked_up.more
        copies = "1 copy" if self.copies_count == 1 else f"{self.copies_count} copies"
        return f"{copies} of {'a story' if stories == 1 else f'{stories} stories'} sent before"

    @property
    def removed_count(self) -> int:
        return len(self.removed.items) + self.removed.more

    @property
    def edited_count(self) -> int:
        return len(self.edited.items) + self.edited.more

    @property
    def hidden_articles(self) -> int:
        """Articles in storylines beyond the cap (for "and N more")."""
        return self.article_count - sum(s.size for s in self.storylines.items)
