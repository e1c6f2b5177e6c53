"""The labelled relevance set: its shape, the shipped topic's figures on it, script parity.

The seed report lives in ../shared beside the project; without it these tests use the
seed summary (the figures are met either way, see tests/data/relevance/README.md).
"""

from __future__ import annotations

import json
from collections import Counter

import opencc
import pytest

from bench.eval_relevance import SCRIPTS, TARGET_F1, TARGET_RECALL_GAP, evaluate, load_items
from bench.evaluation_topic import load_evaluation_config
from crawler.topics.matcher import TopicMatcher, read_seed_text
from storage.errors import ConfigError
from tests.conftest import TEST_DATA

RELEVANCE = TEST_DATA / "relevance"


@pytest.fixture(scope="module")
def matcher() -> TopicMatcher:
    config = load_evaluation_config(RELEVANCE / "topic.toml")
    topic = config.topics[0]
    try:
        seed = read_seed_text(topic, config.folder)
    except ConfigError:
        seed = topic.seed.summary if topic.seed else None
    return TopicMatcher(topic, seed)


def _rows(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (RELEVANCE / name).read_text(encoding="utf-8").splitlines()]


def test_items_are_labelled_and_mixed_across_scripts() -> None:
    rows = _rows("items.jsonl")
    assert len(rows) >= 120
    langs = Counter(r["lang"] for r in rows)
    assert (langs["zh-Hant"] + langs["en"]) * 3 >= len(rows)
    labels = Counter((r["lang"], r["label"]) for r in rows)
    assert all(labels[(lang, label)] >= 10 for lang in SCRIPTS for label in (True, False))


@pytest.mark.parametrize("name", sorted(p.name for p in RELEVANCE.glob("*.jsonl")))
def test_every_item_has_the_fields_the_evaluation_reads(name: str) -> None:
    rows = _rows(name)
    assert all(set(r) == {"id", "title", "text", "lang", "label", "note"} for r in rows)
    assert all(r["lang"] in SCRIPTS and isinstance(r["label"], bool) and r["note"] for r in rows)
    assert len({r["id"] for r in rows}) == len(rows) and len({r["title"] for r in rows}) == len(rows)


def test_shipped_topic_meets_the_target_on_the_development_set(matcher: TopicMatcher) -> None:
    tallies, errors = evaluate(matcher, load_items(RELEVANCE / "items.jsonl"))
    assert tallies["all"].f1 >= TARGET_F1, [e[0].id for e in errors]
    for script in ("zh-Hant", "en"):
        assert tallies["zh-Hans"].recall - tallies[script].recall <= TARGET_RECALL_GAP


@pytest.mark.parametrize("conversion", ["s2twp", "s2hk"])
def test_traditional_script_gives_the_same_decision_and_a_close_score(
    matcher: TopicMatcher, conversion: str
) -> None:
    to_traditional = opencc.OpenCC(conversion)
    for item in load_items(RELEVANCE / "items.jsonl"):
        if item.lang != "zh-Hans":
            continue
        simplified = matcher.match(item.title, item.text)
        traditional = matcher.match(to_traditional.convert(item.title), to_traditional.convert(item.text))
        assert traditional.relevant == simplified.relevant, item.id
        assert abs(traditional.score - simplified.score) <= 0.05, item.id
