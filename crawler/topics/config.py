"""A topic's configuration (`[[topics]]`): its seed report, keywords and weighted rule groups."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from storage.settings import HttpUrl, Section


class SeedConfig(Section):
    title: str = Field(description="title of the original report")
    publisher: str = Field(description="who published it")
    published: date = Field(description="publication date")
    url: HttpUrl = Field(description="link to the original report")
    text_file: str | None = Field(None, description="optional file with the report's text (not shipped)")
    summary: str = Field("", description="a few sentences shown at the top of every digest")


class TopicGroupConfig(Section):
    name: str = Field(min_length=1, description="group name, shown in classify output and validation errors")
    mode: Literal["any", "all", "none"] = Field(
        "any", description="any: one term is enough; all: every term must appear; none: a term vetoes the article"
    )
    weight: float = Field(
        1.0, ge=0, le=1,
        description="any/all: added to the rule score when the group matches; none: fraction of the score taken away",
    )
    terms: list[list[str]] = Field(
        min_length=1, description='terms, each "alias|alias" or a list of aliases (any alias counts as the term)'
    )
    core: bool | None = Field(
        None, description="digests highlight core terms only (default: keywords and the heaviest any/all groups)"
    )

    @field_validator("terms", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value  # pydantic reports "should be a valid list"
        terms = []
        for index, term in enumerate(value):
            aliases = term.split("|") if isinstance(term, str) else term
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ValueError(f'terms[{index}]: a term is a string ("深度求索|DeepSeek") or a list of strings')
            aliases = [a.strip() for a in aliases]
            if not aliases or not all(aliases):
                raise ValueError(f"terms[{index}]: empty alias in {term!r}")
            for alias in aliases:
                if not any(ch.isalnum() for ch in alias):
                    raise ValueError(f"terms[{index}]: alias {alias!r} has no letter, digit or character to match")
            terms.append(aliases)
        return terms

    @model_validator(mode="after")
    def _core_is_a_positive_group(self) -> TopicGroupConfig:
        if self.core and self.mode == "none":
            raise ValueError("core = true marks terms to highlight; a none group's terms veto instead")
        return self


class TopicConfig(Section):
    name: str = Field(min_length=1, description="topic name, used on the command line and in digests")
    title: str | None = Field(None, description="display title readers see in digests (default: the name)")
    description: str = Field("", description="one line under the digest's title, saying what the topic follows")
    keywords: list[str] = Field(
        default_factory=list,
        description='an article matching any keyword is on topic (unless a none group vetoes it); "a|b" are aliases',
    )
    seed: SeedConfig | None = Field(None, description="the original report digests open with")
    threshold: float = Field(0.5, ge=0, le=1, description="an article whose score reaches this is relevant")
    since: date | None = Field(
        None,
        description="the day the story began: a page published before it cannot be coverage of it and is off the "
        "topic whatever it says; a page without a date is judged on its text",
    )
    similarity_weight: float | None = Field(
        None, ge=0, le=1,
        description="how much similarity to the seed text counts (default: 0.3 with groups and a seed, else 0)",
    )
    groups: list[TopicGroupConfig] = Field(default_factory=list, description="weighted rule groups ([[topics.groups]])")
    examples: str | None = Field(
        None,
        description="labelled JSON Lines (title, text or excerpt, label, split) that `make train` learns this topic's model from",
    )
    model: str | None = Field(
        None,
        description="learned model file (JSON) for this topic; default: the one shipped in the package under the topic's name, if any",
    )
    learned: bool = Field(True, description="use the learned model when there is one; false: rules and similarity only")

    @field_validator("keywords")
    @classmethod
    def _non_empty_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value if k.strip()]
        if len(cleaned) != len(value):
            raise ValueError("keywords must be non-empty strings")
        return cleaned

    @field_validator("groups")
    @classmethod
    def _unique_group_names(cls, value: list[TopicGroupConfig]) -> list[TopicGroupConfig]:
        names = [g.name for g in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"group name {twice[0]!r} is used twice")
        return value

    @model_validator(mode="after")
    def _similarity_needs_seed(self) -> TopicConfig:
        if self.similarity_weight and not (self.seed and (self.seed.text_file or self.seed.summary.strip())):
            raise ValueError("similarity_weight needs a seed with text_file or summary to compare against")
        return self

    @model_validator(mode="after")
    def _can_match_something(self) -> TopicConfig:
        # Without any of these every article scores 0, the seed report's own words included,
        # and nothing said why. (A `none` group only takes away; the default similarity weight
        # is 0 without groups.)
        scoring_groups = any(group.mode != "none" for group in self.groups)
        if not (self.keywords or scoring_groups or self.similarity_weight or self.model):
            raise ValueError(
                "matches nothing: give keywords, a [[topics.groups]] with mode any or all, "
                "similarity_weight (with a seed summary or text_file) or a model"
            )
        return self
