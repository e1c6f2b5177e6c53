"""jieba's dictionary is loaded once per process and shared, without leaking terms between topics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crawler.normalize import normalize_text
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


# --- the engine: jieba-rs (rjieba), checked against jieba on real text ------------------------------

REPO = Path(__file__).resolve().parents[3]


def _real_chinese_texts() -> list[str]:
    """Openings of real published pages (the relevance data) and the extraction pages' checked texts."""
    rows = [json.loads(line) for line in (REPO / "bench/data/relevance/real.jsonl").read_text("utf-8").splitlines()]
    texts = [f"{row['title']}\n{row['excerpt']}" for row in rows if row["lang"] != "en"]
    texts += [path.read_text("utf-8") for path in sorted((REPO / "bench/data/extraction-zh/pages").glob("*.txt"))]
    return [normalize_text(text) for text in texts]


def test_words_and_search_words_are_jiebas_own_on_real_chinese_text() -> None:
    # The search index and the topic vectors were built from jieba's words: the faster engine
    # must cut every run the same way, with and without a topic's terms, or stored articles
    # would stop being found by the words a query is cut into.
    import jieba

    texts = _real_chinese_texts()
    assert len(texts) > 400
    terms = ["六小龙", "深度求索", "三问南京", "交汇点", "宇树科技"]
    reference = jieba.Tokenizer()
    reference.initialize()
    with_terms = jieba.Tokenizer()
    with_terms.initialize()
    for term in terms:
        with_terms.add_word(term)
    for segmenter, tokenizer in ((Segmenter(), reference), (Segmenter(terms), with_terms)):
        for text in texts:
            expected_words: list[str] = []
            expected_search: list[str] = []
            for kind, run in Segmenter.runs(text):
                expected_words += [run] if kind == "latin" else tokenizer.lcut(run, HMM=True)
                expected_search += [run] if kind == "latin" else tokenizer.lcut_for_search(run, HMM=True)
            assert segmenter.words(text) == expected_words, text[:80]
            assert segmenter.search_words(text) == expected_search, text[:80]


def test_segmenting_needs_no_python_jieba() -> None:
    # jieba's pure-Python segmenter cost a crawl 1.6 ms a page (its prefix dictionary, 60 MB a
    # process); only its IDF table (a data file, for seed similarity) is still read.
    script = (
        "import sys; sys.modules['jieba'] = None\n"
        "from crawler.topics.segment import Segmenter\n"
        "print(Segmenter(['六小龙']).search_words('南京市为什么没有杭州六小龙'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'六小龙'" in done.stdout and "'南京'" in done.stdout, done.stdout
