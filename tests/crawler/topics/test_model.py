"""The learned topic model: a frozen split, training that never sees the test split, the
shipped model overruling the rules where they are wrong, and the fallback without one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import opencc
import pytest

from bench.evaluation_topic import load_evaluation_config
from bench.relevance_split import DATA, canonical_url, check, split_for
from crawler.topics.learn import Example, FrozenSplitError, fit, load_examples, predict
from crawler.topics.matcher import TopicMatcher, build_matcher, read_model
from crawler.topics.model import TopicModel, load_packaged_model, text_features
from crawler.topics.rules import Rules
from storage.errors import ConfigError

TOPIC_CONFIG = Path(__file__).resolve().parents[2] / "data" / "relevance" / "topic.toml"


@pytest.fixture(scope="module")
def topic():
    return load_evaluation_config(TOPIC_CONFIG).topics[0]


@pytest.fixture(scope="module")
def rows():
    return {
        r["id"]: r
        for r in (json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip())
    }


@pytest.fixture(scope="module")
def matchers(topic):
    summary = topic.seed.summary  # the seed report itself is not shipped
    model = read_model(topic, TOPIC_CONFIG.parent)
    return TopicMatcher(topic, summary), TopicMatcher(topic, summary, model)


def test_split_is_a_hash_of_the_url_and_the_stored_split_agrees(rows):
    assert split_for("https://example.com/a") == split_for("https://example.com/a")
    assert {split_for(f"https://example.com/{i}") for i in range(200)} == {"train", "dev", "test"}
    assert check() == []
    for row in rows.values():
        if row.get("same_as"):
            # A reprint follows its original, so the two never straddle train and test.
            assert row["split"] == rows_by_url(rows)[row["same_as"]]["split"]
            assert row["split"] == split_for(canonical_url(row))


def rows_by_url(rows):
    return {r["url"]: r for r in rows.values()}


def test_training_data_never_contains_the_test_split(rows):
    examples = load_examples(DATA)
    test_ids = {i for i, r in rows.items() if r["split"] == "test"}
    assert test_ids and examples
    assert {e.split for e in examples} == {"train", "dev"}
    assert not {e.id for e in examples} & test_ids
    with pytest.raises(FrozenSplitError):
        load_examples(DATA, ("train", "test"))


def test_fit_refuses_a_test_row(topic):
    examples = [
        Example("a", "为什么南京发展不出杭州六小龙", "江苏官媒连发三问", "zh-Hans", True, "train"),
        Example("b", "西湖一日游攻略", "断桥、苏堤、灵隐寺", "zh-Hans", False, "test"),
    ]
    with pytest.raises(FrozenSplitError):
        fit(topic, examples)


def test_training_is_reproducible_and_the_file_round_trips(topic):
    examples = [
        Example("1", "为什么南京发展不出杭州六小龙?", "江苏官媒追问南京的创新生态", "zh-Hans", True, "train"),
        Example("2", "深圳为何错过DeepSeek", "深圳反思创新土壤", "zh-Hans", True, "train"),
        Example(
            "3", "Why Hangzhou, not Nanjing?", "Jiangsu media asks why its capital lags", "en", True, "train"
        ),
        Example("4", "DeepSeek releases a new model", "benchmarks and pricing", "en", False, "train"),
        Example("5", "西湖一日游攻略", "断桥、苏堤、灵隐寺", "zh-Hans", False, "train"),
        Example("6", "宇树科技发布新款机器狗", "售价与销量", "zh-Hans", False, "train"),
    ]
    first, second = fit(topic, examples, min_df=1), fit(topic, examples, min_df=1)
    assert first.to_dict() == second.to_dict()
    again = TopicModel.from_dict(json.loads(json.dumps(first.to_dict(), ensure_ascii=False)))
    assert predict(again, topic, examples) == pytest.approx(predict(first, topic, examples), abs=1e-4)
    with pytest.raises(ConfigError):
        TopicModel.from_dict({"format": "something-else"})


def test_shipped_model_loads_without_scikit_learn_and_knows_its_topic(topic):
    model = load_packaged_model(topic.name)
    assert model is not None and model.topic == topic.name
    assert 0 < model.threshold < 1 and model.ngrams
    assert "en|w:hangzhou" in text_features("why hangzhou")


def test_english_pages_are_read_as_words_and_chinese_pages_as_characters():
    # Three letters say little about English and crowd its words out of the kept n-grams;
    # a Chinese page keeps its character n-grams and the words of its Latin parts.
    english = text_features("why hangzhou and not nanjing")
    assert english and all(g.startswith("en|w:") for g in english)
    assert "en|w:not nanjing" in english
    chinese = text_features("南京为何没有deepseek")
    assert "zh|南京" in chinese and "zh|w:deepseek" in chinese and "zh|dee" in chinese


@pytest.mark.parametrize(
    ("item_id", "why"),
    [
        ("real270", "an event report about the six companies the rules take"),
        ("real031", "an English explainer of Hangzhou's start-up scene the rules miss"),
    ],
)
def test_model_overrules_the_rules_where_they_are_wrong(rows, matchers, item_id, why):
    row = rows[item_id]
    assert row["split"] == "train"
    rules_only, learned = matchers
    by_rules = rules_only.match(row["title"], row["excerpt"])
    by_model = learned.match(row["title"], row["excerpt"])
    assert by_rules.relevant != row["label"], why
    assert by_model.relevant == row["label"], why
    assert any(r.startswith("model=") for r in by_model.matched)
    assert set(by_rules.matched) - {r for r in by_rules.matched if r.startswith("similarity=")} <= set(by_model.matched)  # the rule reasons stay visible


def test_with_a_model_the_similarity_is_a_reason_for_pages_taken_only(rows, matchers):
    # The model decides; the seed similarity is read only by the digest's "similar to the
    # original report", so it is not computed for the pages the model leaves out.
    _, learned = matchers
    taken, left = rows["real031"], rows["real270"]
    assert taken["label"] and not left["label"]
    by_model_taken = learned.match(taken["title"], taken["excerpt"])
    by_model_left = learned.match(left["title"], left["excerpt"])
    assert by_model_taken.relevant and not by_model_left.relevant
    assert next(r for r in by_model_taken.matched if r.startswith(("similarity=", "model="))).startswith("similarity=")
    assert not any(r.startswith("similarity=") for r in by_model_left.matched)
    assert by_model_left.matched[-1].startswith("model=")


def test_topic_without_a_model_falls_back_to_rules_and_similarity(topic):
    renamed = topic.model_copy(update={"name": "a-topic-nobody-trained", "seed": None})
    matcher = build_matcher(renamed)
    assert matcher.model is None
    match = matcher.match("江苏官媒:为什么南京发展不出杭州六小龙?", "交汇点连发三问,反思南京的营商环境。")
    assert match.relevant and not any(r.startswith("model=") for r in match.matched)
    switched_off = build_matcher(topic.model_copy(update={"learned": False, "seed": None}))
    assert switched_off.model is None
    # Same name, other rules: the shipped model was not trained for this topic.
    keywords_only = topic.model_copy(
        update={"groups": [], "keywords": ["六小龙|six little dragons"], "seed": None}
    )
    assert build_matcher(keywords_only).model is None
    assert build_matcher(topic.model_copy(update={"seed": None})).model is not None


def test_unreadable_model_file_is_a_config_error(topic, tmp_path):
    broken = topic.model_copy(update={"model": str(tmp_path / "missing.json")})
    with pytest.raises(ConfigError, match=r"missing\.json"):
        read_model(broken)


@pytest.mark.parametrize("conversion", ["s2t", "s2hk"])
def test_traditional_conversion_gives_the_same_decision(rows, matchers, conversion):
    converter = opencc.OpenCC(conversion)
    _, learned = matchers
    chosen = [r for r in rows.values() if r["lang"] == "zh-Hans" and r["split"] == "train"][:12]
    assert any(r["label"] for r in chosen) and not all(r["label"] for r in chosen)
    for row in chosen:
        original = learned.match(row["title"], row["excerpt"])
        converted = learned.match(converter.convert(row["title"]), converter.convert(row["excerpt"]))
        assert converted.relevant == original.relevant, row["id"]
        assert converted.score == pytest.approx(original.score, abs=0.05), row["id"]


def test_cross_validation_keeps_a_reprint_in_its_originals_fold():
    from crawler.topics.learn import FOLDS, _folds

    examples = load_examples(DATA)
    groups = {}
    for fold_number, fold in enumerate(_folds(examples, FOLDS)):
        for index in fold:
            groups.setdefault(examples[index].group, set()).add(fold_number)
    assert any(e.group != e.id and e.group for e in examples)  # reprints carry their original's URL
    assert all(len(folds) == 1 for folds in groups.values())
    assert sum(len(f) for f in _folds(examples, FOLDS)) == len(examples)


def test_script_group_is_the_same_for_a_page_and_its_traditional_conversion():
    from crawler.normalize import normalize_text
    from crawler.topics.model import script_group

    converter = opencc.OpenCC("s2hk")
    simplified = "为什么南京发展不出杭州六小龙? DeepSeek 和 Unitree 都在杭州"
    assert script_group(normalize_text(simplified)) == "zh"
    assert script_group(normalize_text(converter.convert(simplified))) == "zh"
    assert script_group(normalize_text("Why can't Nanjing grow Hangzhou's six little dragons (六小龙)?")) == "en"


def _synthetic_examples():
    """A few labelled rows in both scripts, enough for five folds."""
    on_zh = ["为什么南京发展不出杭州六小龙", "深圳为何错过DeepSeek", "苏州反思:我们为什么没有六小龙", "香港为何出不了DeepSeek"]
    off_zh = ["西湖一日游攻略", "宇树科技发布新款机器狗", "DeepSeek发布新模型", "杭州GDP排名", "游戏科学新作预告"]
    on_en = [
        "Why can't Nanjing produce Hangzhou's six little dragons",
        "Shenzhen asks why it missed DeepSeek",
        "What other cities can learn from Hangzhou",
        "Hong Kong should ask why it has no DeepSeek",
    ]
    off_en = [
        "DeepSeek releases a new reasoning model",
        "Unitree files for an IPO in Shanghai",
        "West Lake travel guide for tourists",
        "Game Science unveils Black Myth trailer",
        "BrainCo raises funding",
    ]
    rows = []
    for lang, texts, label in (("zh-Hans", on_zh, True), ("zh-Hans", off_zh, False), ("en", on_en, True), ("en", off_en, False)):
        for i, text in enumerate(texts):
            rows.append(Example(f"{lang}-{label}-{i}", text, text, lang, label, "train" if i % 4 else "dev"))
    return rows


def test_per_script_thresholds_are_chosen_from_cross_validation_folds_not_test_rows(topic):
    from crawler.topics.learn import choose_thresholds, out_of_fold, tune

    examples = _synthetic_examples()
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    model, report = tune(topic, train, dev, c_grid=(8.0,))
    # The thresholds are exactly those the out-of-fold probabilities over train + dev give.
    single, thresholds, _ = choose_thresholds(out_of_fold(topic, train + dev, 8.0), train + dev)
    assert model.thresholds == thresholds == report["thresholds"]
    assert set(thresholds) == {"zh", "en"} and model.threshold == single
    # A test row anywhere in what chooses them is refused.
    leaked = [dataclasses.replace(dev[0], split="test")]
    with pytest.raises(FrozenSplitError):
        tune(topic, train, dev + leaked, c_grid=(8.0,))
    with pytest.raises(FrozenSplitError):
        choose_thresholds([0.5] * (len(dev) + 1), dev + leaked)


def test_the_matcher_applies_the_threshold_of_the_pages_script_group(topic):
    model = load_packaged_model(topic.name)
    assert model is not None
    title, text = "Why can't Nanjing produce Hangzhou's six little dragons?", "Jiangsu media asked."
    probability = model.judge(Rules.compile(topic), title, text)
    strict = dataclasses.replace(model, thresholds={"en": min(probability + 0.01, 1.0), "zh": 0.0})
    lenient = dataclasses.replace(model, thresholds={"en": max(probability - 0.01, 0.0), "zh": 1.0})
    assert not TopicMatcher(topic, None, strict).match(title, text).relevant
    assert TopicMatcher(topic, None, lenient).match(title, text).relevant
    # Round trip through the file format keeps them.
    assert TopicModel.from_dict(strict.to_dict()).thresholds == strict.thresholds
