"""Near-duplicate detection without a database: shingles, signatures, comparison.

The fixtures in tests/data/storylines/ (listed, with what they must yield, in
manifest.toml) are texts written for these tests, not real articles.
"""

from __future__ import annotations

import itertools
import tomllib

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.storylines import (
    DEFAULT_PARAMS,
    MINHASH_SCHEME,
    MINHASH_SEED,
    Fingerprint,
    StorylineParams,
    article_body,
    band_keys,
    choose_match,
    compare,
    compare_exactly,
    fingerprint,
    shingles,
    tokenize,
)
from storage.storylines import Candidate
from tests.conftest import TEST_DATA

DATA = TEST_DATA / "storylines"


def load_manifest() -> list[dict]:
    return tomllib.loads((DATA / "manifest.toml").read_text(encoding="utf-8"))["article"]


def read_fixture(name: str) -> tuple[str, str]:
    """A fixture file is its title, a blank line, then the body."""
    title, _, body = (DATA / name).read_text(encoding="utf-8").partition("\n\n")
    return title.strip(), body.strip()


def test_tokens_are_cjk_characters_and_latin_words_without_punctuation() -> None:
    assert tokenize("DeepSeek發佈「R1」模型, Ｕｎｉｔｒｅｅ H1!") == [
        "deepseek",
        "发",
        "布",
        "r1",
        "模",
        "型",
        "unitree",
        "h1",
    ]


def _datasketch_signature(text: str, params: StorylineParams = DEFAULT_PARAMS) -> tuple[np.ndarray, int]:
    """The stored format's definition: datasketch's MinHash of the shingles, built token by token."""
    tokens = tokenize(text)
    size = params.shingle_tokens
    items = {"\x1f".join(tokens[i : i + size]).encode("utf-8") for i in range(max(1, len(tokens) - size + 1))}
    items.discard(b"")
    minhash = MinHash(num_perm=params.num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME)
    if items:
        minhash.update_batch(list(items))
    return minhash.hashvalues.astype(np.uint32), len(items)


def _assert_signature_is_datasketchs(text: str, params: StorylineParams = DEFAULT_PARAMS) -> None:
    expected, count = _datasketch_signature(text, params)
    print_ = fingerprint("", text, params)
    assert print_.shingle_count == count
    assert print_.hashvalues.dtype == np.uint32
    assert np.array_equal(print_.hashvalues, expected)
    assert print_.items == frozenset(shingles(text, params.shingle_tokens))


# Texts mixing the token kinds: CJK characters (some outside the BMP), Latin words with
# accents, digits, punctuation and spaces, full-width forms and traditional characters.
_TEXT = st.text(alphabet=st.sampled_from(list("六小龙龍杭州南京與。，、 ab cdéß 12\n-–ＤＳ𠀋𪚥ひらカナ한글")), max_size=400)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_a_signature_is_datasketchs_minhash_of_the_shingles(text: str) -> None:
    # Signatures are stored and compared with those of earlier versions: the fast path
    # must give datasketch's values exactly, for every text.
    _assert_signature_is_datasketchs(text)


def test_a_long_text_signature_is_datasketchs_minhash() -> None:
    # Longer than one chunk of the signature's computation, with repeated shingles.
    text = "".join(f"南京第{n % 997}次追问杭州六小龙 DeepSeek round {n % 31}。" for n in range(3000))
    _assert_signature_is_datasketchs(text)
    _assert_signature_is_datasketchs(text, StorylineParams(shingle_tokens=3))


def test_every_fixture_signature_is_datasketchs_minhash() -> None:
    for name in sorted(path.name for path in DATA.glob("*.txt")):
        _assert_signature_is_datasketchs(read_fixture(name)[1])


def test_traditional_and_fullwidth_text_shingles_like_simplified() -> None:
    assert shingles("杭州「六小龍」與南京，ＤｅｅｐＳｅｅｋ") == shingles("杭州“六小龙”与南京, DeepSeek")


def test_text_shorter_than_a_shingle_is_one_shingle_and_empty_text_none() -> None:
    assert shingles("六小龙") == {"六\x1f小\x1f龙".encode()}
    assert shingles(" ，。 ") == set()


def test_title_is_used_only_when_there_is_no_body() -> None:
    body = read_fixture("nanjing-policy-original.txt")[1]
    with_title = fingerprint("完全不同的标题", body)
    other_title = fingerprint("另一个标题", body)
    assert (with_title.hashvalues == other_title.hashvalues).all()
    assert fingerprint("只有标题的快讯", "").shingle_count > 0


def test_signature_round_trips_through_bytes() -> None:
    print_ = fingerprint("", read_fixture("en-nanjing-original.txt")[1])
    data = print_.to_bytes()
    assert len(data) == 4 * DEFAULT_PARAMS.num_perm
    restored = type(print_).from_bytes(data, print_.shingle_count)
    assert compare(print_, restored).jaccard == 1.0


def test_empty_text_has_no_band_keys_so_it_never_shares_a_bucket() -> None:
    assert band_keys(fingerprint("", "")) == []
    assert len(set(band_keys(fingerprint("", "南京发布人工智能措施")))) == DEFAULT_PARAMS.bands


def test_fixture_pairs_match_when_and_only_when_they_belong_to_one_storyline() -> None:
    articles = load_manifest()
    prints = {a["file"]: fingerprint(*read_fixture(a["file"])) for a in articles}
    wrong = []
    for a, b in itertools.combinations(articles, 2):
        estimated = compare(prints[a["file"]], prints[b["file"]])
        exact = compare_exactly(
            prints[a["file"]].items or frozenset(), prints[b["file"]].items or frozenset()
        )
        for similarity in (estimated, exact):
            if similarity.is_match != (a["storyline"] == b["storyline"]):
                wrong.append((a["file"], b["file"], similarity))
    assert wrong == []


def test_reprints_share_an_lsh_band_with_the_original() -> None:
    original = set(band_keys(fingerprint(*read_fixture("nanjing-policy-original.txt"))))
    for name in (
        "nanjing-policy-new-headline.txt",
        "nanjing-policy-traditional.txt",
        "nanjing-policy-boilerplate.txt",
    ):
        assert original & set(band_keys(fingerprint(*read_fixture(name)))), name


def test_boilerplate_wrapped_flash_matches_by_containment_not_jaccard() -> None:
    flash = fingerprint(*read_fixture("nanjing-flash.txt"))
    portal = fingerprint(*read_fixture("nanjing-flash-portal.txt"))
    similarity = compare(flash, portal)
    assert similarity.jaccard < DEFAULT_PARAMS.jaccard_match
    assert similarity.containment >= DEFAULT_PARAMS.containment_match
    assert similarity.is_match


def test_column_quoting_a_short_flash_whole_is_not_a_reprint() -> None:
    similarity = compare(
        fingerprint(*read_fixture("nanjing-flash.txt")),
        fingerprint(*read_fixture("flash-quoted-in-column.txt")),
    )
    assert similarity.containment >= DEFAULT_PARAMS.containment_match  # the quote is all there...
    assert not similarity.is_match  # ...but the flash is under 40% of the column


def test_different_stories_sharing_keywords_stay_far_below_the_thresholds() -> None:
    stories = [
        "nanjing-policy-original.txt",
        "hangzhou-firms-job-fair.txt",
        "nanjing-hangzhou-commentary.txt",
    ]
    prints = [fingerprint(*read_fixture(name)) for name in stories]
    for a, b in itertools.combinations(prints, 2):
        similarity = compare(a, b)
        assert similarity.jaccard < 0.1 and similarity.containment < 0.3


def test_params_refuse_more_bands_than_permutations() -> None:
    with pytest.raises(ValueError, match="permutations"):
        StorylineParams(num_perm=64, bands=42, rows=3)


def _as_candidate(print_: Fingerprint, article_id: int, hashvalues: np.ndarray | None = None) -> Candidate:
    values = print_.hashvalues if hashvalues is None else hashvalues
    return Candidate(article_id, 100 + article_id, print_.shingle_count, Fingerprint(values, 0).to_bytes(), 1)


def test_candidate_just_under_the_threshold_is_decided_on_its_text() -> None:
    original_text = read_fixture("nanjing-policy-original.txt")[1]
    reprint = fingerprint(*read_fixture("nanjing-policy-new-headline.txt"))
    original = fingerprint("", original_text)
    # An unlucky estimate: spoil agreeing permutations until the estimate reads 0.42.
    spoiled = original.hashvalues.copy()
    agreeing = np.flatnonzero(spoiled == reprint.hashvalues)
    spoiled[agreeing[: len(agreeing) - 54]] ^= 1
    candidate = _as_candidate(original, 7, spoiled)
    assert compare(reprint, Fingerprint(spoiled, original.shingle_count)).jaccard == pytest.approx(
        0.42, abs=0.01
    )

    found = choose_match(reprint, [candidate], {7: original_text}.__getitem__)
    assert found is not None and found[0] is candidate
    assert found[1].jaccard == pytest.approx(0.75, abs=0.01)  # the exact figure, not the estimate
    other_story = read_fixture("hangzhou-firms-job-fair.txt")[1]
    assert choose_match(reprint, [candidate], {7: other_story}.__getitem__) is None


def test_clearly_different_candidates_never_cost_a_text_read() -> None:
    reprint = fingerprint(*read_fixture("nanjing-policy-new-headline.txt"))
    other = _as_candidate(fingerprint(*read_fixture("hangzhou-firms-job-fair.txt")), 8)
    reads: list[int] = []
    assert choose_match(reprint, [other], lambda article_id: reads.append(article_id) or "") is None
    assert reads == []


def test_a_signature_sent_without_its_shingles_is_still_decided_on_the_texts() -> None:
    # Page workers send the signature alone (the shingles weighed 25 KB a page over the pipe):
    # a borderline candidate is then compared with the article's own text, shingled again.
    original_text = read_fixture("nanjing-policy-original.txt")[1]
    title, text = read_fixture("nanjing-policy-new-headline.txt")
    full = fingerprint(title, text)
    bare = Fingerprint(full.hashvalues, full.shingle_count)
    original = fingerprint("", original_text)
    spoiled = original.hashvalues.copy()
    agreeing = np.flatnonzero(spoiled == full.hashvalues)
    spoiled[agreeing[: len(agreeing) - 54]] ^= 1
    candidate = _as_candidate(original, 7, spoiled)

    found = choose_match(bare, [candidate], {7: original_text}.__getitem__, own_text=article_body(title, text))
    assert found is not None and found[0] is candidate
    assert found[1].jaccard == pytest.approx(0.75, abs=0.01)


def test_fingerprinting_loads_neither_datasketch_nor_scipy() -> None:
    """datasketch's package imports its LSH classes, and they scipy and aiohttp: half a second
    of every crawl's, worker's and daemon's start-up, for two arrays drawn once."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import crawler.pool, crawler.runner\n"
        "from crawler.storylines import fingerprint\n"
        "fingerprint('t', '南京为什么没有杭州六小龙 ' * 20)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'datasketch', 'scipy', 'aiohttp'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("num_perm", [1, 64, DEFAULT_PARAMS.num_perm, 256])
def test_permutations_are_datasketchs_draw(num_perm: int) -> None:
    from crawler.storylines import _permutations

    expected = MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME).permutations
    assert _permutations(num_perm).dtype == expected.dtype == np.uint32
    assert np.array_equal(_permutations(num_perm), expected)
