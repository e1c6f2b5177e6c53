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
