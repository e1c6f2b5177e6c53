"""Topic rules in the configuration: the accepted shapes, and errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from bench.evaluation_topic import load_evaluation_config
from scheduler.config import config_from_mapping, settings_table
from storage.errors import ConfigError
from tests.conftest import TEST_DATA


def _config(**topic: Any) -> Any:
    rules = {} if {"keywords", "groups"} & topic.keys() else {"keywords": ["六小龙"]}
    return config_from_mapping({"topics": [{"name": "t", **rules, **topic}]}, environ={})


def _group(**fields: Any) -> dict[str, Any]:
    return {"name": "dragons", "terms": ["六小龙"], **fields}


def test_terms_accept_bar_separated_aliases_and_alias_lists() -> None:
    config = _config(groups=[_group(terms=["深度求索|DeepSeek", ["宇树", "Unitree"], " 六小龙 "])])
    assert config.topics[0].groups[0].terms == [["深度求索", "DeepSeek"], ["宇树", "Unitree"], ["六小龙"]]


def test_group_defaults_are_any_with_weight_one() -> None:
    group = _config(groups=[_group()]).topics[0].groups[0]
    assert (group.mode, group.weight) == ("any", 1.0)
    assert _config().topics[0].threshold == 0.5


def test_bad_mode_names_the_group() -> None:
    with pytest.raises(
        ConfigError, match=r"topics\[0\] \(t\)\.groups\[0\] \(dragons\)\.mode: .*'any', 'all' or 'none'"
    ):
        _config(groups=[_group(mode="some")])


def test_misspelt_group_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        _config(groups=[_group(wieght=0.5)])
    assert "topics[0] (t).groups[0] (dragons).wieght: unknown key" in str(info.value)
    assert "did you mean 'weight'" in str(info.value)


def test_threshold_out_of_range_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"topics\[0\] \(t\)\.threshold: .*less than or equal to 1"):
        _config(threshold=1.5)


def test_negative_weight_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"groups\[0\] \(dragons\)\.weight: .*greater than or equal to 0"):
        _config(groups=[_group(weight=-0.1)])


def test_empty_alias_names_the_term() -> None:
    with pytest.raises(
        ConfigError, match=r"groups\[0\] \(dragons\)\.terms: terms\[1\]: empty alias in '南京\|'"
    ):
        _config(groups=[_group(terms=["六小龙", "南京|"])])


def test_term_of_the_wrong_type_names_the_term() -> None:
    with pytest.raises(ConfigError, match=r"\.terms: terms\[0\]: a term is a string"):
        _config(groups=[_group(terms=[7])])


def test_group_without_terms_is_rejected() -> None:
    with pytest.raises(
        ConfigError, match=r"groups\[0\] \(dragons\)\.terms: List should have at least 1 item"
    ):
        _config(groups=[_group(terms=[])])


def test_duplicate_group_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"topics\[0\] \(t\)\.groups: group name 'dragons' is used twice"):
        _config(groups=[_group(), _group()])


@pytest.mark.parametrize("topic", [
    {"keywords": []},
    {"keywords": [], "groups": [_group(mode="none")]},
    {"keywords": [], "similarity_weight": 0, "seed": {"title": "s", "publisher": "p", "published": "2025-02-11",
                                                      "url": "https://x.example", "summary": "南京 杭州 六小龙"}},
])
def test_a_topic_that_can_match_nothing_is_refused(topic: dict[str, Any]) -> None:
    # No keywords, no any/all group, no similarity and no model: config check said OK, and
    # every article scored 0, the seed report's own words included.
    with pytest.raises(ConfigError, match=r"topics\[0\] \(t\): matches nothing: give keywords"):
        _config(**topic)


@pytest.mark.parametrize("topic", [
    {"keywords": ["六小龙"]},
    {"keywords": [], "groups": [_group(mode="all")]},
    {"keywords": [], "similarity_weight": 0.5, "seed": {"title": "s", "publisher": "p", "published": "2025-02-11",
                                                        "url": "https://x.example", "summary": "南京 杭州 六小龙"}},
    {"keywords": [], "model": "models/t.json"},
])
def test_a_topic_with_any_way_to_match_is_accepted(topic: dict[str, Any]) -> None:
    assert _config(**topic).topics[0].name == "t"


def test_similarity_weight_needs_a_seed() -> None:
    with pytest.raises(ConfigError, match=r"topics\[0\] \(t\): similarity_weight needs a seed"):
        _config(similarity_weight=0.3)


def test_every_rule_setting_is_in_the_settings_table() -> None:
    keys = {key for key, _, _ in settings_table()}
    assert {
        "topics.threshold",
        "topics.similarity_weight",
        "topics.groups.name",
        "topics.groups.mode",
        "topics.groups.weight",
        "topics.groups.terms",
    } <= keys


def test_the_evaluation_topic_is_a_valid_configuration() -> None:
    config = load_evaluation_config(TEST_DATA / "relevance" / "topic.toml")
    topic = config.topics[0]
    assert topic.name == "nanjing-six-dragons" and topic.seed is not None
    assert {g.mode for g in topic.groups} == {"any", "none"}
