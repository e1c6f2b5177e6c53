"""jieba's dictionary is loaded once per process and shared, without leaking terms between topics."""

from __future__ import annotations

from crawler.topics.segment import Segmenter


def test_segmenters_with_the_same_terms_share_one_dictionary_copy() -> None:
    # A rebuilt matcher must not add another 20 MB copy of jieba's prefix dictionary.
    first, again = Segmenter(["六小龙"]), Segmenter(["六小龙"])
    assert first.words("杭州六小龙") == again.words("杭州六小龙") == ["杭州", "六小龙"]
    assert first._jieba() is again._jieba()


def test_terms_stay_with_their_own_segmenter() -> None:
    plain, dragons = Segmenter(), Segmenter(["六小龙"])
    assert dragons.words("杭州六小龙") == ["杭州", "六小龙"]
    assert "六小龙" not in plain.words("杭州六小龙")
    assert plain._jieba() is not dragons._jieba()


def test_a_text_without_han_characters_splits_into_its_latin_words_as_run_by_run() -> None:
    segmenter = Segmenter(["六小龙"])
    latin = "deepseek's r1, unitree’s h1 and 6 little-dragons in 2025: hangzhou vs. nanjing"
    assert segmenter.words(latin) == segmenter.search_words(latin) == [
        "deepseek", "s", "r1", "unitree", "s", "h1", "and", "6", "little", "dragons", "in", "2025", "hangzhou", "vs",
        "nanjing"]
    mixed = "deepseek 与杭州六小龙 in 2025"
    assert segmenter.words(mixed)[0] == "deepseek" and "六小龙" in segmenter.words(mixed)
