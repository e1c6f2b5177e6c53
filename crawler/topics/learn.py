"""Training a topic's relevance model from labelled examples (`make train`); needs scikit-learn.

Examples are JSON Lines with `title`, `text` or `excerpt`, `label` (bool), optional `lang`
and `split` (`train`, `dev` or `test`; a row without one counts as `train`). Rows of the
`test` split are never read: `load_examples` skips them and `fit`/`tune` refuse them
(`FrozenSplitError`), so a frozen test split stays unseen by anything that chooses a
parameter.

What is learned (see `crawler/topics/model.py` for how it is applied):

1. character 1-3-grams of the normalised text and the words and word pairs of its Latin
   parts, TF-IDF with sublinear tf; the n-grams seen
   in at least `min_df` examples, the `max_ngrams` with the highest chi² against the label
   kept (a small file, and fewer spurious n-grams from 300 examples);
2. the topic's rule features (group hits, keyword hit, rule score, none-group factor);
3. an L2 logistic regression over both, classes weighted to balance.

`tune` picks the regularisation C and the decision thresholds together, by mean
per-language F1 of out-of-fold probabilities over train + dev (five folds, stratified by
language and label, an item and its reprints always in the same fold; dev alone is 110 rows,
too few to choose on), reports the dev F1 of a model fitted on train alone, and fits the
final model on train + dev. There is one threshold per script group (`zh`, `en`; see
`script_group`), chosen jointly on the same out-of-fold probabilities (`choose_thresholds`),
and a single threshold for pages of a group the examples did not have. The feature settings (character 1-3-grams, 8,000 n-grams kept,
`min_df` 2, no title marking) were chosen the same way: see bench/data/relevance/README.md. There is no
randomness, so `make train` rebuilds the same file from the same data.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from crawler.normalize import normalize_text
from crawler.topics.config import TopicConfig
from crawler.topics.model import (
    EXCERPT_CHARS,
    SCRIPT_GROUPS,
    RuleFeatures,
    TopicModel,
    model_text,
    script_group,
    text_features,
    topic_fingerprint,
)
from crawler.topics.rules import Rules
from storage.errors import ConfigError

SEED = 13
C_GRID = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
THRESHOLD_GRID = tuple(round(0.2 + 0.025 * i, 3) for i in range(25))  # 0.2 .. 0.8
FOLDS = 5


class FrozenSplitError(ConfigError):
    """Raised when rows of the frozen test split reach training or tuning."""


@dataclass(frozen=True)
class Example:
    id: str
    title: str
    text: str
    lang: str
    label: bool
    split: str
    group: str = ""  # the canonical URL (`same_as` or the item's own): reprints share one


def load_examples(path: Path | str, splits: Sequence[str] = ("train", "dev")) -> list[Example]:
    """The rows of `splits` from a JSON Lines file; `test` rows are skipped without being parsed further.

    Asking for the test split raises FrozenSplitError: only the evaluation reads it.
    """
    if "test" in splits:
        raise FrozenSplitError("the test split is for evaluation only; training and tuning never read it")
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"examples {str(path)!r}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = json.loads(line)
        split = row.get("split") or "train"
        if split not in splits:
            continue
        examples.append(
            Example(
                id=str(row.get("id", f"{path.stem}:{number}")),
                title=row.get("title") or "",
                text=row.get("text") or row.get("excerpt") or "",
                lang=row.get("lang") or "",
                label=bool(row["label"]),
                split=split,
                group=str(row.get("same_as") or row.get("url") or row.get("id") or number),
            )
        )
    return examples


def _refuse_test(examples: Iterable[Example]) -> list[Example]:
    examples = list(examples)
    if any(e.split == "test" for e in examples):
        raise FrozenSplitError("refusing to train or tune on rows of the test split")
    return examples


def _prepare(rules: Rules, examples: Sequence[Example]) -> tuple[list[str], list[RuleFeatures]]:
    texts, features = [], []
    for e in examples:
        normalized = normalize_text(f"{e.title}\n{e.text[:EXCERPT_CHARS]}")
        texts.append(model_text(normalized))
        features.append(RuleFeatures.of(rules, normalized))
    return texts, features


def fit(
    topic: TopicConfig,
    examples: Sequence[Example],
    c: float = 2.0,
    threshold: float = 0.5,
    min_df: int = 2,
    max_ngrams: int = 8000,
    info: dict[str, Any] | None = None,
) -> TopicModel:
    """A model for `topic` fitted on `examples` (none of which may be from the test split)."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import chi2
    from sklearn.linear_model import LogisticRegression

    examples = _refuse_test(examples)
    labels = np.array([1 if e.label else 0 for e in examples])
    if len(set(labels)) < 2:
        raise ConfigError(f"topic {topic.name!r}: examples need both relevant and irrelevant rows")
    rules = Rules.compile(topic)
    texts, features = _prepare(rules, examples)

    first = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, min_df=min_df, norm=None)
    counts = first.fit_transform(texts)
    scores, _ = chi2(counts, labels)
    scores = np.nan_to_num(scores)
    names = first.get_feature_names_out()
    keep = np.argsort(-scores, kind="stable")[:max_ngrams]
    vocabulary = sorted(names[i] for i in keep)
    # Refit on the kept n-grams alone so that the unit-length scaling at inference (over
    # the n-grams the model knows) is the one the weights were learned with.
    vectorizer = TfidfVectorizer(
        analyzer=text_features, sublinear_tf=True, vocabulary=vocabulary, norm="l2"
    ).fit(texts)
    rule_names = sorted(features[0].values)
    rule_matrix = csr_matrix([[f.values.get(k, 0.0) for k in rule_names] for f in features])
    matrix = hstack([vectorizer.transform(texts), rule_matrix]).tocsr()
    classifier = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=SEED
    ).fit(matrix, labels)
    weights = classifier.coef_[0]
    vocab_size = len(vectorizer.vocabulary_)
    ngrams = {
        gram: (float(vectorizer.idf_[index]), float(weights[index]))
        for gram, index in vectorizer.vocabulary_.items()
    }
    return TopicModel(
        topic=topic.name,
        ngrams=ngrams,
        rule_weights={name: float(weights[vocab_size + i]) for i, name in enumerate(rule_names)},
        intercept=float(classifier.intercept_[0]),
        threshold=threshold,
        fingerprint=topic_fingerprint(topic),
        info={"C": c, "min_df": min_df, "max_ngrams": max_ngrams, "examples": len(examples), **(info or {})},
    )


def predict(model: TopicModel, topic: TopicConfig, examples: Sequence[Example]) -> list[float]:
    """Probabilities for `examples`, computed the way the matcher computes them."""
    rules = Rules.compile(topic)
    return [model.judge(rules, e.title, e.text) for e in examples]


def f1(predicted: Sequence[bool], labels: Sequence[bool]) -> float:
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if y and not p)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def example_group(example: Example) -> str:
    """The script group of an example, computed as the model computes it for a page."""
    return script_group(normalize_text(f"{example.title}\n{example.text[:EXCERPT_CHARS]}"))


def mean_language_f1(
    probabilities: Sequence[float],
    examples: Sequence[Example],
    threshold: float,
    thresholds: Mapping[str, float] | None = None,
    groups: Sequence[str] | None = None,
) -> float:
    """F1 per language, averaged: a model must work in every script, not just the biggest.

    With `thresholds` each example is decided by its script group's threshold (`threshold`
    for a group not in it), as the matcher decides a page.
    """
    if thresholds and groups is None:
        groups = [example_group(e) for e in examples]
    langs = sorted({e.lang for e in examples})
    scores = []
    for lang in langs:
        rows = [
            (p, e.label, thresholds.get(groups[i], threshold) if thresholds and groups else threshold)
            for i, (p, e) in enumerate(zip(probabilities, examples, strict=True))
            if e.lang == lang
        ]
        scores.append(f1([p >= t for p, _, t in rows], [y for _, y, _ in rows]))
    return sum(scores) / len(scores)


def choose_thresholds(
    probabilities: Sequence[float], examples: Sequence[Example]
) -> tuple[float, dict[str, float], float]:
    """(single threshold, one threshold per script group, mean per-language F1 with the latter).

    Every pair of grid thresholds is tried on the given (out-of-fold) probabilities; ties go to
    the pair nearest 0.5. The single threshold is chosen the same way, for a group the
    examples lack. Test rows are refused.
    """
    examples = _refuse_test(examples)
    single = max(
        THRESHOLD_GRID,
        key=lambda t: (round(mean_language_f1(probabilities, examples, t), 6), -abs(t - 0.5)),
    )
    groups = [example_group(e) for e in examples]
    present = [g for g in SCRIPT_GROUPS if g in groups]
    best: tuple[tuple[float, float], dict[str, float]] | None = None
    for combination in product(THRESHOLD_GRID, repeat=len(present)):
        candidate = dict(zip(present, combination, strict=True))
        key = (
            round(mean_language_f1(probabilities, examples, single, candidate, groups), 6),
            -sum(abs(t - 0.5) for t in combination),
        )
        if best is None or key > best[0]:
            best = (key, candidate)
    assert best is not None
    return single, best[1], best[0][0]


def _folds(examples: Sequence[Example], k: int, seed: int = 0) -> list[list[int]]:
    """Whole groups (an item and its reprints) per fold, stratified by the group's (language,
    label) and dealt round-robin in a fixed order: no randomness, and no reprint is scored by a
    model that was trained on its copy. A `seed` above 0 deals each stratum's groups in a
    shuffled order instead, so a design can be compared over several fold constructions
    (`bench.relevance_cv --fold-seed`)."""
    groups: dict[str, list[int]] = {}
    for index, e in enumerate(examples):
        groups.setdefault(e.group or e.id, []).append(index)
    buckets: dict[tuple[str, bool], list[str]] = {}
    for key, members in groups.items():
        first = examples[min(members, key=lambda i: examples[i].id)]
        buckets.setdefault((first.lang, first.label), []).append(key)
    folds: list[list[int]] = [[] for _ in range(k)]
    position = 0
    shuffler = random.Random(seed) if seed else None
    for stratum in sorted(buckets):
        if shuffler is None:
            keys = sorted(buckets[stratum], key=lambda g: min(examples[i].id for i in groups[g]))
        else:
            keys = sorted(buckets[stratum])
            shuffler.shuffle(keys)
        for key in keys:
            folds[position % k].extend(groups[key])
            position += 1
    return folds


def out_of_fold(topic: TopicConfig, examples: Sequence[Example], c: float) -> list[float]:
    """Each example's probability from a model fitted on the other folds."""
    examples = _refuse_test(examples)
    probabilities = [0.0] * len(examples)
    for fold in _folds(examples, FOLDS):
        held = set(fold)
        model = fit(topic, [e for i, e in enumerate(examples) if i not in held], c=c)
        for i, p in zip(fold, predict(model, topic, [examples[i] for i in fold]), strict=True):
            probabilities[i] = p
    return probabilities


def tune(
    topic: TopicConfig,
    train: Sequence[Example],
    dev: Sequence[Example],
    c_grid: Sequence[float] = C_GRID,
) -> tuple[TopicModel, dict[str, Any]]:
    """Choose C and the thresholds out-of-fold on train + dev, and fit the final model on both."""
    train, dev = _refuse_test(train), _refuse_test(dev)
    both = list(train) + list(dev)
    chosen: dict[float, tuple[float, dict[str, float], float]] = {}
    for c in c_grid:
        chosen[c] = choose_thresholds(out_of_fold(topic, both, c), both)
    # Ties go to the smaller C (the stronger regularisation).
    best_c = max(c_grid, key=lambda c: (round(chosen[c][2], 6), -c))
    single, thresholds, score = chosen[best_c]
    dev_probabilities = predict(fit(topic, train, c=best_c), topic, dev)
    report = {
        "C": best_c,
        "threshold": single,
        "thresholds": thresholds,
        "oof_mean_language_f1": round(score, 4),
        "oof_f1_by_C": {str(c): round(chosen[c][2], 4) for c in c_grid},
        "dev_mean_language_f1_train_only": round(
            mean_language_f1(dev_probabilities, dev, single, thresholds), 4
        ),
        "train_rows": len(train),
        "dev_rows": len(dev),
    }
    final = fit(topic, both, c=best_c, threshold=single, info={"trained_on": "train+dev", **report})
    final = dataclasses.replace(final, thresholds=thresholds)
    return final, report
