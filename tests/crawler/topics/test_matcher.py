"""Topic matching: normalisation, segmentation, term rules and seed similarity, in-process."""

from __future__ import annotations

from typing import Any

import jieba
import pytest

from crawler.normalize import content_hash, normalize_text
from crawler.topics.matcher import TopicMatcher
from crawler.topics.rules import Term
from crawler.topics.segment import Segmenter
from scheduler.config import TopicConfig

SEED = """江苏官媒连发三问：为什么南京发展不出“杭州六小龙”？
交汇点的文章认为，南京高校和科研资源丰富，却没能长出自己的链主企业，年轻人才纷纷流向杭州和上海。
评论指出，杭州的成功在于宽容失败的创新氛围和不打扰企业的营商环境，南京需要反思城市文化。
胡锡进撰文称，江苏官方媒体公开质问自家省会，这种反思罕见而且需要勇气，紧迫感会转化为发展动力。
"""


def topic(**fields: Any) -> TopicConfig:
    return TopicConfig.model_validate({"name": "t", **fields})


def dragons_topic(**fields: Any) -> TopicConfig:
    """Two groups that must both match (0.5 + 0.5), and a veto on launches."""
    groups = [
        {"name": "dragons", "weight": 0.5, "terms": ["六小龙|six little dragons", "深度求索|DeepSeek"]},
        {"name": "city", "weight": 0.5, "terms": ["南京|Nanjing", ["苏州", "Suzhou"]]},
        {"name": "launch", "mode": "none", "terms": ["发布会|product launch"]},
    ]
    return topic(groups=groups, **fields)


# -- normalisation ---------------------------------------------------------------
def test_normalize_folds_script_width_and_case() -> None:
    assert normalize_text("杭州六小龍 ＤｅｅｐＳｅｅｋ\u3000交匯點") == "杭州六小龙 deepseek 交汇点"


def test_normalize_folds_taiwan_and_hong_kong_wording() -> None:
    assert normalize_text("為甚麼沒有人工智慧晶片") == "为什么没有人工智能芯片"
    assert normalize_text("機械人、衞生、綫上") == "机器人、卫生、线上"


def test_normalize_keeps_words_the_mainland_also_uses() -> None:
    # OpenCC's Taiwan phrase table would turn 複製 into 拷贝; a term 复制 must still match.
    assert normalize_text("盲目複製杭州模式") == "盲目复制杭州模式"


def test_normalize_is_idempotent() -> None:
    once = normalize_text("為甚麼南京發展不出「杭州六小龍」？ Six Little DRAGONS")
    assert normalize_text(once) == once


def test_content_hash_is_the_same_for_both_scripts() -> None:
    assert content_hash("", "南京为什么没有六小龙") == content_hash("", "南京為什麼沒有六小龍 ")


# -- segmentation ------------------------------------------------------------------
def test_segmenter_keeps_topic_terms_whole() -> None:
    words = Segmenter(["六小龙", "深度求索", "交汇点"]).words(normalize_text("交匯點：深度求索與杭州六小龍"))
    assert {"六小龙", "深度求索", "交汇点"} <= set(words)


def test_segmenter_terms_do_not_leak_into_other_segmenters_or_jieba() -> None:
    Segmenter(["六小龙"]).words("杭州六小龙")
    assert "六小龙" not in Segmenter([]).words("杭州六小龙")
    assert "六小龙" not in jieba.lcut("杭州六小龙")


def test_segmenter_splits_latin_words() -> None:
    assert Segmenter([]).words("deepseek-r1发布 six little dragons") == [
        "deepseek",
        "r1",
        "发布",
        "six",
        "little",
        "dragons",
    ]


# -- term matching -----------------------------------------------------------------
def test_latin_alias_matches_whole_words_only() -> None:
    ai = Term.compile(["AI"])
    assert ai.find(normalize_text("China's AI race")) == "AI"
    assert ai.find(normalize_text("a spokesman said")) is None


def test_latin_alias_allows_plural_hyphens_and_line_breaks() -> None:
    dragon = Term.compile(["little dragon"])
    assert dragon.find("hangzhou's little dragons") == "little dragon"
    assert dragon.find("little-\ndragon") == "little dragon"


def test_chinese_alias_matches_inside_longer_words() -> None:
    assert Term.compile(["南京"]).find("南京市委书记") == "南京"


def test_term_reports_the_alias_found() -> None:
    term = Term.compile(["深度求索", "DeepSeek"])
    assert term.label == "深度求索"
    assert term.find("why not deepseek?") == "DeepSeek"


# -- rules and scores ------------------------------------------------------------
def test_keyword_only_topic_matches_any_keyword_in_either_script() -> None:
    match = TopicMatcher(topic(keywords=["六小龙", "宇树"])).match("江蘇官媒追問", "為何南京沒有六小龍")
    assert match.relevant and match.matched == ("六小龙",)
    miss = TopicMatcher(topic(keywords=["六小龙"])).match("杭州西湖", "春节游客超千万")
    assert not miss.relevant and miss.score == 0.0


def test_keyword_only_topic_with_a_seed_summary_skips_similarity() -> None:
    seeded = topic(
        keywords=["六小龙"],
        seed={
            "title": "t",
            "publisher": "p",
            "published": "2025-02-11",
            "url": "https://example.com/",
            "summary": SEED,
        },
    )
    assert TopicMatcher(seeded, SEED).similarity is None


def test_keyword_aliases_use_the_bar() -> None:
    match = TopicMatcher(topic(keywords=["六小龙|six little dragons"])).match(
        "Why can't Nanjing", "produce six little dragons?"
    )
    assert match.relevant and match.matched == ("six little dragons",)


def test_any_groups_add_their_weights() -> None:
    matcher = TopicMatcher(dragons_topic())
    assert matcher.match("南京为什么没有DeepSeek", "").score == 1.0
    only_one = matcher.match("DeepSeek更新模型", "")
    assert only_one.score == 0.5 and only_one.relevant  # the default threshold is 0.5


def test_threshold_decides_relevance() -> None:
    matcher = TopicMatcher(dragons_topic(threshold=0.75))
    assert not matcher.match("DeepSeek更新模型", "").relevant
    assert matcher.match("Why can't Suzhou have its own DeepSeek?", "").relevant


def test_all_group_needs_every_term() -> None:
    matcher = TopicMatcher(topic(groups=[{"name": "pair", "mode": "all", "terms": ["南京", "杭州"]}]))
    assert matcher.match("南京与杭州", "").matched == ("南京", "杭州")
    half = matcher.match("南京地铁", "")
    assert not half.relevant and half.matched == ()


def test_none_group_vetoes_even_a_keyword_hit() -> None:
    matcher = TopicMatcher(dragons_topic(keywords=["宇树"]))
    vetoed = matcher.match("宇树新品发布会", "南京站")
    assert not vetoed.relevant and vetoed.score == 0.0
    assert "not:发布会" in vetoed.matched


def test_none_group_with_a_weight_is_a_penalty() -> None:
    groups = [
        {"name": "city", "terms": ["南京"]},
        {"name": "launch", "mode": "none", "weight": 0.4, "terms": ["发布会"]},
    ]
    matcher = TopicMatcher(topic(groups=groups))
    assert matcher.match("南京发布会", "").score == pytest.approx(0.6)


def test_rule_score_is_capped_at_one() -> None:
    groups = [{"name": f"g{i}", "weight": 0.8, "terms": [word]} for i, word in enumerate(["南京", "杭州"])]
    assert TopicMatcher(topic(groups=groups)).match("南京杭州", "").score == 1.0


# -- seed similarity -------------------------------------------------------------
def test_similarity_ranks_coverage_above_unrelated_news() -> None:
    matcher = TopicMatcher(dragons_topic(similarity_weight=0.3, seed=_seed()), SEED)
    assert matcher.similarity is not None
    on_topic = matcher.similarity.score(
        normalize_text("江苏党报追问南京：为何留不住年轻人才？营商环境和创新氛围差在哪里")
    )
    unrelated = matcher.similarity.score(normalize_text("西湖景区春节接待游客超千万人次，灵隐寺人流如织"))
    assert 0.0 <= unrelated < on_topic < 1.0


def test_similarity_alone_cannot_exceed_its_weight() -> None:
    matcher = TopicMatcher(dragons_topic(similarity_weight=0.3, seed=_seed()), SEED)
    match = matcher.match("江苏党报质问：营商环境与创新氛围", "年轻人才为何留不住？")
    assert match.matched[-1].startswith("similarity=")
    assert 0.0 < match.score <= 0.3 and not match.relevant


def test_similarity_bridges_languages_through_aliases() -> None:
    matcher = TopicMatcher(dragons_topic(similarity_weight=0.3, seed=_seed()), SEED)
    assert matcher.similarity is not None
    english = matcher.similarity.score(normalize_text("Why can't Nanjing produce six little dragons?"))
    assert english > matcher.similarity.score(normalize_text("West Lake draws record crowds"))


def _seed() -> dict[str, Any]:
    return {
        "title": "t",
        "publisher": "p",
        "published": "2025-02-11",
        "url": "https://example.com/",
        "summary": SEED,
    }


def test_a_lazy_matcher_loads_nothing_until_it_matches_and_then_matches_alike() -> None:
    from crawler.topics.matcher import LazyTopicMatcher, TopicMatcher

    topic = TopicConfig(name="six", keywords=["六小龙"])
    lazy = LazyTopicMatcher(topic, "杭州六小龙的故事")
    assert lazy.name == "six" and lazy._built is None  # a daemon that hands matching to workers stops here
    eager = TopicMatcher(topic, "杭州六小龙的故事")
    assert lazy.match("南京", "南京为何没有六小龙") == eager.match("南京", "南京为何没有六小龙")
    assert lazy.threshold == eager.threshold
