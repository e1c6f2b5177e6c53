"""Storylines: one story reprinted across outlets, grouped by near-duplicate detection.

How a newly stored article finds its storyline (`StorylineIndex.assign`):

1. **Exact duplicate**: an article with the same `content_hash` already has a
   storyline, so this one joins it.
2. **Near duplicate**: the article's text is normalised (`normalize_text` folds
   traditional to simplified, width and case), cut into tokens (one token per CJK
   character, one per Latin word or number; punctuation and spaces dropped) and
   shingled into runs of `shingle_tokens` tokens. A MinHash signature of those
   shingles is cut into LSH bands; the band keys look up candidates in the
   database, and each candidate's stored signature is compared. The best
   candidate whose Jaccard similarity, or containment (a reprint wrapped in
   boilerplate: "本文转载自…", navigation text), clears its threshold wins; a
   candidate whose estimate falls just short is compared exactly on its text.
3. Otherwise the article starts a new storyline.

Everything up to the database is pure and lives at the top of this module
(`fingerprint`, `band_keys`, `compare`, `choose_match`); `StorylineIndex` runs the
three steps inside one `storage.storylines` transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Literal

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crawler.normalize import normalize_text
from storage.clock import Clock, utc_now
from storage.storylines import Candidate, StorylineStore

logger = logging.getLogger(__name__)

# The MinHash family is part of the stored format: changing the seed, the scheme or
# num_perm makes stored signatures and band keys incomparable with new ones.
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"  # datasketch >= 2.0: 32-bit values, stored as 4 bytes each


@dataclass(frozen=True)
class StorylineParams:
    """The tuning of near-duplicate detection (measured on tests/data/storylines).

    On the fixtures, reprints score Jaccard 0.56-0.88 against each other (0.45 with
    containment 0.99 for a flash inside a portal page), while different stories
    sharing the topic's keywords stay under 0.1. Between unrelated real articles
    (the shared corpus) 5-token shingles give a median Jaccard of 0 and a 99th
    percentile of 0.001. LSH keeps a candidate with probability
    1 - (1 - J**rows)**bands: with 42 bands of 3 rows, 0.94 at J=0.4, 0.996 at 0.5,
    but 0.005 at 0.05, so unrelated articles almost never cost a comparison.
    """

    shingle_tokens: int = 5
    num_perm: int = 128
    bands: int = 42
    rows: int = 3
    jaccard_match: float = 0.5
    containment_match: float = 0.8
    min_containment_shingles: int = 60  # a line of boilerplate must not "contain" a story
    min_size_ratio: float = 0.4  # a column quoting a short report whole is a new piece
    max_candidates: int = 50  # signatures compared per article, most shared bands first
    borderline_margin: float = 0.15  # ~3 standard errors of a 128-permutation estimate near 0.5
    exact_checks: int = 3  # borderline candidates whose text is read and compared exactly
    bucket_cap: int = 100  # most recent articles read per band key (bounds boilerplate-made hot keys)

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"{self.bands} bands of {self.rows} rows need more than {self.num_perm} permutations"
            )


DEFAULT_PARAMS = StorylineParams()

# One token per CJK character (kana, hangul, ideographs incl. extensions), one per run
# of other letters or digits. `\W` and `_` exclude punctuation, spaces and symbols.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokenize(text: str) -> list[str]:
    """Normalised tokens of `text`: CJK characters one by one, other words whole."""
    return _TOKEN.findall(normalize_text(text))


def shingles(text: str, size: int = DEFAULT_PARAMS.shingle_tokens) -> set[bytes]:
    """The set of runs of `size` consecutive tokens, joined by U+001F (a shorter text is one shingle)."""
    tokens = tokenize(text)
    if not tokens:
        return set()
    joined = "\x1f".join(tokens)
    data = joined.encode("utf-8")
    if len(tokens) <= size:
        return {data}
    # Each shingle is a slice of the joined text's bytes, from a token's first byte to the end
    # of the `size`-th token from it: the text is encoded once, not once per shingle.
    widths = [len(token) + 1 for token in tokens] if joined.isascii() else [len(token.encode()) + 1 for token in tokens]
    starts = [0, *accumulate(widths)]
    return {data[start : end - 1] for start, end in zip(starts, starts[size:], strict=False)}


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """A MinHash signature (uint32 values) and the size of the shingle set it summarises.

    `items`, the shingles themselves, is kept only for the article being assigned
    (for the exact check of borderline candidates); it is never stored.
    """

    hashvalues: np.ndarray
    shingle_count: int
    items: frozenset[bytes] | None = None

    def to_bytes(self) -> bytes:
        return self.hashvalues.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, shingle_count: int) -> Fingerprint:
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32), shingle_count)


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> np.ndarray:
    """datasketch's affine32 permutations for MINHASH_SEED: odd multipliers a, offsets b (h -> a*h + b mod 2^32).

    Drawn here as `MinHash._init_permutations` draws them (numpy's legacy RandomState, whose
    stream numpy keeps fixed), not by building a MinHash: importing datasketch imports its LSH
    classes and with them scipy and aiohttp, half a second of every process's start-up.
    A test compares the two draws.
    """
    generator = np.random.RandomState(MINHASH_SEED)
    multipliers = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    offsets = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.array([multipliers, offsets])


def fingerprint(title: str, text: str, params: StorylineParams = DEFAULT_PARAMS) -> Fingerprint:
    """The signature of an article's body (its title only when it has no body).

    The title is left out on purpose: a reprint under a new headline is the same piece.
    """
    items = shingles(article_body(title, text), params.shingle_tokens)
    return Fingerprint(minhash_signature(items, params.num_perm), len(items), frozenset(items))


# MurmurHash3's 32-bit finalizer, which datasketch's affine32 scheme applies to each hash.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_CHUNK = 4096  # shingles a step: the step's matrix is _CHUNK x num_perm values


def minhash_signature(items: Iterable[bytes], num_perm: int = DEFAULT_PARAMS.num_perm) -> np.ndarray:
    """datasketch's MinHash of `items` (seed MINHASH_SEED, scheme affine32, its default SHA-1 hash), as uint32.

    The same values as `MinHash(...).update_batch(items)`, computed in a few numpy steps:
    datasketch hashes each item in a Python call of its own (SHA-1, then `struct.unpack`),
    about 40% of a fingerprint's time. Tests compare the two on generated and real texts.
    """
    multipliers, offsets = _permutations(num_perm)
    signature = np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    sha1 = hashlib.sha1
    batch = list(items)
    for start in range(0, len(batch), _CHUNK):
        # datasketch's sha1_hash32: the digest's first 4 bytes, little-endian.
        digests = b"".join([sha1(item).digest()[:4] for item in batch[start : start + _CHUNK]])
        hashed = np.frombuffer(digests, dtype="<u4").astype(np.uint32)
        shift1, mult1, shift2, mult2, shift3 = _FMIX32
        hashed = hashed ^ (hashed >> shift1)
        hashed = hashed * mult1
        hashed = hashed ^ (hashed >> shift2)
        hashed = hashed * mult2
        hashed = hashed ^ (hashed >> shift3)
        # The affine permutations h -> a*h + b mod 2^32 (uint32 arithmetic wraps), then the minimum of each.
        signature = np.minimum(signature, (hashed[:, None] * multipliers + offsets).min(axis=0))
    return signature


def article_body(title: str, text: str) -> str:
    """What is compared: the text, or the title when there is no text."""
    return text if text and text.strip() else (title or "")


def band_keys(print_: Fingerprint, params: StorylineParams = DEFAULT_PARAMS) -> list[int]:
    """One signed 64-bit key per LSH band (none for an empty text, which would share every bucket)."""
    if print_.shingle_count == 0:
        return []
    values = print_.hashvalues.astype("<u4")
    keys = []
    for band in range(params.bands):
        chunk = values[band * params.rows : (band + 1) * params.rows].tobytes()
        digest = hashlib.blake2b(band.to_bytes(2, "big") + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True)
class Similarity:
    """How alike two fingerprints are, and whether that makes them one story."""

    jaccard: float
    containment: float  # estimated share of the smaller text found in the larger
    is_match: bool

    @property
    def score(self) -> float:
        return max(self.jaccard, self.containment) if self.is_match else self.jaccard


def compare(a: Fingerprint, b: Fingerprint, params: StorylineParams = DEFAULT_PARAMS) -> Similarity:
    """Estimated Jaccard similarity and containment of two articles' shingle sets.

    Containment comes from the Jaccard estimate and the two set sizes:
    |A∩B| = J(|A|+|B|)/(1+J). It lets a reprint inside a page twice its length match.
    """
    if min(a.shingle_count, b.shingle_count) == 0:
        return Similarity(0.0, 0.0, False)
    jaccard = float(np.count_nonzero(a.hashvalues == b.hashvalues)) / len(a.hashvalues)
    return _judge(jaccard, a.shingle_count, b.shingle_count, params)


def compare_exactly(
    a: frozenset[bytes], b: frozenset[bytes], params: StorylineParams = DEFAULT_PARAMS
) -> Similarity:
    """The same verdict as `compare`, from the shingle sets themselves."""
    if not a or not b:
        return Similarity(0.0, 0.0, False)
    return _judge(len(a & b) / len(a | b), len(a), len(b), params)


def _judge(jaccard: float, size_a: int, size_b: int, params: StorylineParams) -> Similarity:
    small, large = sorted((size_a, size_b))
    containment = min(1.0, jaccard * (small + large) / (1 + jaccard) / small)
    by_jaccard = jaccard >= params.jaccard_match
    by_containment = (
        containment >= params.containment_match
        and small >= params.min_containment_shingles
        and small / large >= params.min_size_ratio
    )
    return Similarity(round(jaccard, 4), round(containment, 4), by_jaccard or by_containment)


def _is_borderline(similarity: Similarity, size_a: int, size_b: int, params: StorylineParams) -> bool:
    """Whether an estimate fell short of a threshold by less than the estimator's error."""
    small, large = sorted((size_a, size_b))
    containment_applies = small >= params.min_containment_shingles and small / large >= params.min_size_ratio
    return similarity.jaccard >= params.jaccard_match - params.borderline_margin or (
        containment_applies and similarity.containment >= params.containment_match - params.borderline_margin
    )


def choose_match(
    print_: Fingerprint,
    candidates: Iterable[Candidate],
    body_of: Callable[[int], str],
    params: StorylineParams = DEFAULT_PARAMS,
    own_text: str | None = None,
) -> tuple[Candidate, Similarity] | None:
    """The candidate `print_` duplicates, if any: the most similar match, earliest stored on a tie.

    Signatures decide clear cases. When none matches, the few candidates whose
    estimate fell just short are compared exactly on their text (`body_of(article_id)`),
    since an estimate from 128 permutations is off by ±0.04 near the threshold. That needs
    the article's own shingles: `print_.items`, or, for a signature sent without them (a page
    worker's), those of `own_text` (its `article_body`), cut again only for such a case.
    """
    scored = []
    for candidate in candidates:
        stored = Fingerprint.from_bytes(candidate.signature, candidate.shingle_count)
        scored.append((candidate, compare(print_, stored, params)))
    scored.sort(key=lambda pair: (-pair[1].score, pair[0].article_id))
    for candidate, similarity in scored:
        if similarity.is_match:
            return candidate, similarity
    if print_.items is None and own_text is None:
        return None
    borderline = [
        candidate
        for candidate, similarity in scored
        if _is_borderline(similarity, print_.shingle_count, candidate.shingle_count, params)
    ]
    own_items = print_.items
    for candidate in borderline[: params.exact_checks]:
        if own_items is None:
            own_items = frozenset(shingles(own_text or "", params.shingle_tokens))
        items = frozenset(shingles(body_of(candidate.article_id), params.shingle_tokens))
        similarity = compare_exactly(own_items, items, params)
        if similarity.is_match:
            return candidate, similarity
    return None


@dataclass(frozen=True)
class StorylineAssignment:
    """Where `assign` put an article and why."""

    storyline_id: int
    is_new: bool
    matched_article_id: int | None  # the stored article it was found to duplicate
    similarity: float  # 1.0 for an exact duplicate, 0.0 for a new storyline
    method: Literal["hash", "minhash", "new", "existing"]  # "existing": it had been assigned before


class StorylineIndex:
    """Assigns each stored article to a storyline; the database is the index.

    Nothing is held in memory between calls, so building one is free, a second
    process sees this one's articles at once, and the cost of `assign` depends on
    how many near duplicates an article has, not on how many articles are stored.
    """

    def __init__(self, store: StorylineStore, params: StorylineParams = DEFAULT_PARAMS) -> None:
        self.store = store
        self.params = params

    @classmethod
    def from_engine(
        cls, engine: Engine, clock: Clock = utc_now, params: StorylineParams = DEFAULT_PARAMS
    ) -> StorylineIndex:
        return cls(StorylineStore(engine, clock), params)

    def assign(
        self, article_id: int, *, title: str, text: str, content_hash: str, precomputed: Fingerprint | None = None,
        connection: sa.Connection | None = None,
    ) -> StorylineAssignment:
        """Put the stored article `article_id` into a storyline (idempotent).

        The signature is computed before the transaction; lookup and write then run
        in one transaction serialised across processes, so two near duplicates
        stored at the same moment by two processes still share a storyline.
        `connection`: assign inside that transaction (a batch of stored articles, see
        `Repository.article_batch`), not in one of its own.
        """
        # `precomputed`: the signature a crawl's worker process computed off the reactor thread.
        print_ = precomputed or fingerprint(title, text, self.params)
        keys = band_keys(print_, self.params)
        with self.store.assignment(article_id, connection) as tx:
            if tx.current_storyline_id is not None:
                return StorylineAssignment(tx.current_storyline_id, False, None, 0.0, "existing")
            duplicate = tx.find_exact_duplicate(content_hash)
            if duplicate is not None:
                # The first copy's signature already stands for this text: index nothing more.
                tx.join(duplicate.storyline_id)
                result = StorylineAssignment(duplicate.storyline_id, False, duplicate.article_id, 1.0, "hash")
            else:
                candidates = tx.find_candidates(keys, self.params.max_candidates, self.params.bucket_cap)
                found = choose_match(
                    print_, candidates, lambda stored: article_body(*tx.title_and_text(stored)), self.params,
                    own_text=article_body(title, text),
                )
                tx.index(print_.to_bytes(), print_.shingle_count, keys)
                if found is None:
                    result = StorylineAssignment(tx.create(), True, None, 0.0, "new")
                else:
                    candidate, similarity = found
                    tx.join(candidate.storyline_id)
                    result = StorylineAssignment(
                        candidate.storyline_id, False, candidate.article_id, similarity.score, "minhash"
                    )
        logger.log(
            logging.DEBUG if result.is_new else logging.INFO,
            "article=%s storyline=%s method=%s matched=%s similarity=%.2f",
            article_id,
            result.storyline_id,
            result.method,
            result.matched_article_id,
            result.similarity,
        )
        return result

    def assign_pending(self, limit: int | None = None) -> int:
        """Assign every stored article that has no storyline yet (after a crash, or an upgrade); returns how many."""
        done = 0
        for pending in self.store.pending_articles(limit):
            self.assign(
                pending.article_id, title=pending.title, text=pending.text, content_hash=pending.content_hash
            )
            done += 1
        return done
