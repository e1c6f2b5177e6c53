"""The benchmark's metrics on hand-made examples small enough to check by hand.

AEB metric: \\w+ tokens, 4-gram shingles as a multiset, per-page tp/fp/fn
normalised to sum to 1, precision averaged over pages with output, recall over
pages with ground truth, F1 from the two averages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench import extract as bench_extract
from bench.aeb_metric import (
    PageScore,
    aeb_tokens,
    bootstrap_f1_std,
    evaluate,
    han_tokens,
    score_page,
    shingles,
    summarise,
)
from bench.corpora import DateTruth, html_to_text, load_all, parse_day
from bench.meta_metric import author_matches, date_matches, segment_counts, title_matches

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- tokens and shingles -------------------------------------------------------------------------


def test_aeb_tokens_are_word_runs_so_a_chinese_sentence_is_one_token() -> None:
    assert aeb_tokens("Hello, world! 2025") == ["Hello", "world", "2025"]
    assert aeb_tokens("南京为何发展不出六小龙？") == ["南京为何发展不出六小龙"]


def test_han_tokens_make_every_chinese_character_a_token() -> None:
    assert han_tokens("南京 AI产业2025年") == ["南", "京", "AI", "产", "业", "2025", "年"]


def test_shingles_are_counted_as_a_multiset() -> None:
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b c d a b c d")[("a", "b", "c", "d")] == 2


def test_short_text_gives_one_short_shingle_and_empty_text_none() -> None:
    assert shingles("a b") == {("a", "b"): 1}
    assert shingles("") == {}


# --- one page ------------------------------------------------------------------------------------


def test_identical_text_is_perfect_and_exact() -> None:
    score = score_page("one two three four five", "one two three four five")
    assert (score.tp, score.fp, score.fn) == (1.0, 0.0, 0.0)
    assert score.precision == score.recall == 1.0
    assert score.exact


def test_counts_are_normalised_to_sum_to_one() -> None:
    # truth shingles: abcd bcde; prediction: abcd bcdx -> tp 1, fp 1, fn 1.
    score = score_page("a b c d e", "a b c d x")
    assert (score.tp, score.fp, score.fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(0.5)
    assert not score.exact


def test_repeating_the_article_costs_precision_not_recall() -> None:
    score = score_page("a b c d", "a b c d a b c d")
    # prediction: abcd x2, bcda, cdab, dabc -> tp 1, fp 4.
    assert score.recall == 1.0
    assert score.precision == pytest.approx(1 / 5)


def test_empty_prediction_is_left_out_of_precision() -> None:
    score = score_page("a b c d e", "")
    assert score.precision is None
    assert score.recall == 0.0


def test_empty_prediction_of_empty_truth_is_perfect() -> None:
    score = score_page("", "")
    assert score.precision == score.recall == 1.0


def test_punctuation_and_spacing_do_not_matter_but_words_do() -> None:
    assert score_page("Hello, world - again and again", "Hello world again and again").exact
    assert not score_page("Hello world again and again", "hello world again and again").exact


# --- a corpus ------------------------------------------------------------------------------------


def test_f1_comes_from_the_averages_not_from_averaged_page_f1() -> None:
    pages = [PageScore(1.0, 0.0, 0.0, True), PageScore(0.5, 0.5, 0.0, False)]
    # Page 2: precision 0.5, recall 1.0. Mean P 0.75, mean R 1.0 -> F1 6/7 (per-page F1 mean: 5/6).
    scores = summarise(pages)
    assert scores.precision == pytest.approx(0.75)
    assert scores.recall == pytest.approx(1.0)
    assert scores.f1 == pytest.approx(6 / 7)
    assert scores.accuracy == pytest.approx(0.5)


def test_pages_without_output_lower_recall_only() -> None:
    scores = evaluate([("a b c d e", "a b c d e"), ("f g h i j", "")])
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(0.5)
    assert scores.f1 == pytest.approx(2 / 3)


def test_character_level_variant_sees_partial_chinese_overlap() -> None:
    truth, prediction = "南京发展人工智能产业。", "南京发展人工智能产业。相关新闻：杭州六小龙"
    assert evaluate([(truth, prediction)]).precision == 0.0  # one \w+ token each: no shingle in common
    assert 0.3 < evaluate([(truth, prediction)], han_tokens).precision < 1.0


def test_bootstrap_spread_is_zero_when_every_page_scores_the_same() -> None:
    assert bootstrap_f1_std([PageScore(1.0, 0.0, 0.0, True)] * 5, rounds=50) == 0.0
    assert bootstrap_f1_std([PageScore(1.0, 0.0, 0.0, True), PageScore(0.0, 0.5, 0.5, False)], rounds=200) > 0


# --- metadata rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "truth", "ok"),
    [
        ("宇航员在太空中喝酒会怎么样？", "宇航员在太空中喝酒会怎么样？ _探索者 _光明网", True),
        (
            "Obama admits US gun laws are his ‘biggest frustration’",
            "Obama admits US gun laws are his 'biggest frustration'",
            True,
        ),
        (
            "LWN.net Weekly Edition for March 26, 2015",
            "LWN.net Weekly Edition for March 26, 2015 [LWN.net]",
            True,
        ),
        # A blog platform's "post @ blog :: platform ::" <title>.
        ("秋日賞楓 (2)", "秋日賞楓 (2) @ 山居小記_阿明 :: 痞客邦 PIXNET ::", True),
        ("Meet me", "Meet me@the station", False),  # "@" is a separator only with a space before it
        (
            "宇航员",
            "宇航员在太空中喝酒会怎么样？",
            False,
        ),  # a prefix without a separator is a different title
        ("", "标题", False),
        (None, "标题", False),
    ],
)
def test_title_match_tolerates_a_site_suffix_only(ours: str | None, truth: str, ok: bool) -> None:
    assert title_matches(ours, truth) is ok


@pytest.mark.parametrize(
    ("ours", "truth", "ok"),
    [
        ("Nathan Willis", "By Nathan Willis\n March 25, 2015", True),
        ("崔宁宁", "青网校园崔宁宁", True),
        ("王晓明、李华", "王晓明 李华", True),
        ("Sébastien Farcis", "Par Sébastien Farcis", True),
        ("Laurie Oakes", "JOE HILDEBRAND", False),
        ("王", "王晓明", False),  # one character is not a name
        (None, "王晓明", False),
    ],
)
def test_author_match_tolerates_byline_decoration(ours: str | None, truth: str, ok: bool) -> None:
    assert author_matches(ours, truth) is ok


def test_date_match_is_by_day_in_the_publishers_time_zone() -> None:
    # 2019-09-05 17:30 UTC is already the 6th in Shanghai.
    late = datetime.fromisoformat("2019-09-05T17:30:00+00:00")
    assert date_matches(late, DateTruth(2019, 9, 6), SHANGHAI)
    assert not date_matches(late, DateTruth(2019, 9, 5), SHANGHAI)
    assert date_matches(late, DateTruth(None, 9, 6), SHANGHAI)  # annotation without a year
    assert not date_matches(None, DateTruth(2019, 9, 6), SHANGHAI)


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2019-09-05 11:10", DateTruth(2019, 9, 5)),
        ("2019年09月07日 08:05:32", DateTruth(2019, 9, 7)),
        ("2019-9-5 9:38:01", DateTruth(2019, 9, 5)),
        ("09月07日", DateTruth(None, 9, 7)),
        ("", None),
    ],
)
def test_annotated_days_are_parsed(value: str, day: DateTruth | None) -> None:
    assert parse_day(value) == day


def test_segment_counts_follow_trafilaturas_evaluation() -> None:
    output = "First   paragraph here.\nSecond paragraph."
    assert segment_counts(output, ("First paragraph", "missing"), ("Second paragraph", "footer")) == (
        1,
        1,
        1,
        1,
    )


def test_expected_html_becomes_text_with_blocks_on_their_own_lines() -> None:
    html = "<div><p>One <b>bold</b> word.</p><p>Two<br>lines</p><script>x()</script></div>"
    assert html_to_text(html) == "One bold word.\nTwo\nlines"


# --- running without the corpora ---------------------------------------------------------------


def test_missing_corpora_are_skipped_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpora, missing = load_all(tmp_path / "nowhere")
    assert corpora == []
    assert len(missing) == 5
    assert bench_extract.main(["--root", str(tmp_path / "nowhere"), "--corpus", "AEB"]) == 0
    out = capsys.readouterr().out
    assert "skipped article-extraction-benchmark" in out
    assert "no corpus to measure" in out
