"""Grouped cross-validation of relevance-model designs on train + dev (never test).

    python -m bench.relevance_cv [CONFIG ...]      (default: every configuration below)

How the design of the topic model (`crawler/topics/learn.py`) was chosen: each
configuration is trained and scored on five folds of train + dev (`learn._folds`: an item
and its reprints in one fold, stratified by language and label), for each C in `C_GRID`.
The score is the mean of the per-language F1 (zh-Hans, zh-Hant, en) of the out-of-fold
probabilities, each script group (`zh`, `en`; `model.script_group`) with its own threshold
chosen on those probabilities; the single-threshold mean is printed beside it. The best C
per configuration is reported. `load_examples` refuses the test split, so nothing here
reads it. Configurations (the n-grams are always character 1-3-grams plus Latin words and
word pairs of the normalised title and opening, TF-IDF, 8,000 kept by chi², `min_df` 2):

    shared         one pool of n-grams for both scripts (the design before issue 13's third round)
    split          every n-gram tagged with the page's script group (shipped until stop 31)
    augment        both: the shared n-grams and the tagged copies
    script         shared n-grams plus a 0/1 "English page" feature
    words3000      shared, but Latin words chosen apart from characters (8,000 + 3,000)
    group-weights  shared, classes balanced within each script group instead of overall
    words3         shared, plus Latin word triples
    split+rules    split, plus the rule features and the script feature repeated for English pages
    split+group-weights  split, classes balanced within each script group (English has fewer positives)
    split+words3   split, plus Latin word triples (longer English phrases: "why can't", "little dragons")
    split+en-words  split, but an English page gives only words and word pairs (what `model.text_features` does since stop 31)
    split+en-words3 the same, plus Latin word triples

`--fold-seed N` (N > 0) shuffles the order in which whole groups are dealt into the folds
within each (language, label) stratum, so a design can be compared over several fold
constructions, not just `learn._folds`' fixed one.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.evaluation_topic import load_evaluation_config
from crawler.topics.learn import THRESHOLD_GRID, _folds, _prepare, example_group, f1, load_examples
from crawler.topics.model import _LATIN_WORD, char_ngrams, script_group
from crawler.topics.rules import Rules

ROOT = Path(__file__).resolve().parent.parent
TOPIC_CONFIG = ROOT / "tests" / "data" / "relevance" / "topic.toml"
C_GRID = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
CONFIGS: dict[str, dict[str, Any]] = {
    "shared": {},
    "split": {"split": True},
    "augment": {"augment": True},
    "script": {"script": True},
    "words3000": {"word_budget": 3000},
    "group-weights": {"group_weights": True},
    "words3": {"word_triples": True},
    "split+rules": {"split": True, "rule_copy": True, "script": True},
    "split+group-weights": {"split": True, "group_weights": True},
    "split+words3": {"split": True, "word_triples": True},
    "split+en-words": {"split": True, "english_words_only": True},
    "split+en-words3": {"split": True, "english_words_only": True, "word_triples": True},
}


def analyzer(options: Mapping[str, Any]) -> Callable[[str], list[str]]:
    def features(text: str) -> list[str]:
        words = _LATIN_WORD.findall(text)
        grams = char_ngrams(text) + [f"w:{w}" for w in words] + [f"w:{a} {b}" for a, b in pairwise(words)]
        if options.get("word_triples"):
            grams += [f"w:{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)]
        group = script_group(text)
        if options.get("english_words_only") and group == "en":
            grams = [g for g in grams if g.startswith("w:")]
        if options.get("augment"):
            return grams + [f"{group}|{g}" for g in grams]
        if options.get("split"):
            return [f"{group}|{g}" for g in grams]
        return grams

    return features


def main(argv: Sequence[str] | None = None) -> int:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.feature_selection import chi2
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", choices=[[], *CONFIGS], default=[])
    parser.add_argument("--fold-seed", type=int, default=0, help="shuffle the fold deal (0: learn._folds as is)")
    args = parser.parse_args(argv)
    topic = load_evaluation_config(TOPIC_CONFIG).topics[0]
    assert topic.examples
    examples = load_examples((TOPIC_CONFIG.parent / topic.examples).resolve(), ("train", "dev"))
    texts, rule_features = _prepare(Rules.compile(topic), examples)
    groups = [example_group(e) for e in examples]
    labels = np.array([1 if e.label else 0 for e in examples])
    rule_names = sorted(rule_features[0].values)
    folds = _folds(examples, 5, args.fold_seed)

    def rules_matrix(rows: Sequence[int], options: Mapping[str, Any]) -> Any:
        matrix = []
        for i in rows:
            english = 1.0 if groups[i] == "en" else 0.0
            values = [rule_features[i].values.get(k, 0.0) for k in rule_names]
            if options.get("script"):
                values.append(english)
            if options.get("rule_copy"):
                values += [english * rule_features[i].values.get(k, 0.0) for k in rule_names]
            matrix.append(values)
        return csr_matrix(matrix)

    def fit_predict(train: Sequence[int], held: Sequence[int], options: Mapping[str, Any], c: float) -> Any:
        features = analyzer(options)
        train_texts = [texts[i] for i in train]
        first = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, norm=None)
        scores = np.nan_to_num(chi2(first.fit_transform(train_texts), labels[train])[0])
        names = first.get_feature_names_out()
        order = np.argsort(-scores, kind="stable")
        if options.get("word_budget"):
            is_word = np.array(["w:" in n for n in names])
            keep = [i for i in order if not is_word[i]][:8000] + [i for i in order if is_word[i]][: options["word_budget"]]
        else:
            keep = list(order[:8000])
        vectorizer = TfidfVectorizer(
            analyzer=features, sublinear_tf=True, vocabulary=sorted(names[i] for i in keep), norm="l2"
        ).fit(train_texts)
        x_train = hstack([vectorizer.transform(train_texts), rules_matrix(train, options)]).tocsr()
        x_held = hstack([vectorizer.transform([texts[i] for i in held]), rules_matrix(held, options)]).tocsr()
        weights = None
        class_weight: str | None = "balanced"
        if options.get("group_weights"):
            class_weight, weights = None, np.ones(len(train))
            for g in ("zh", "en"):
                for y in (0, 1):
                    members = [k for k, i in enumerate(train) if groups[i] == g and labels[i] == y]
                    if members:
                        weights[members] = len(train) / (4 * len(members))
        model = LogisticRegression(C=c, class_weight=class_weight, solver="liblinear", max_iter=1000, random_state=13)
        model.fit(x_train, labels[train], sample_weight=weights)
        return model.predict_proba(x_held)[:, 1]

    def language_f1(p: Any, lang: str, t: float) -> float:
        rows = [i for i, e in enumerate(examples) if e.lang == lang]
        return f1([p[i] >= t for i in rows], [bool(labels[i]) for i in rows])

    def thresholded(p: Any) -> dict[str, float]:
        def zh(t: float) -> float:
            return (language_f1(p, "zh-Hans", t) + language_f1(p, "zh-Hant", t)) / 2

        def mean(t: float) -> float:
            return (2 * zh(t) + language_f1(p, "en", t)) / 3

        t_zh = max(THRESHOLD_GRID, key=lambda t: (round(zh(t), 6), -abs(t - 0.5)))
        t_en = max(THRESHOLD_GRID, key=lambda t: (round(language_f1(p, "en", t), 6), -abs(t - 0.5)))
        single = max(THRESHOLD_GRID, key=lambda t: (round(mean(t), 6), -abs(t - 0.5)))
        result = {
            "zh-Hans": language_f1(p, "zh-Hans", t_zh),
            "zh-Hant": language_f1(p, "zh-Hant", t_zh),
            "en": language_f1(p, "en", t_en),
            "t_zh": t_zh,
            "t_en": t_en,
            "single": mean(single),
        }
        result["mean"] = (result["zh-Hans"] + result["zh-Hant"] + result["en"]) / 3
        return result

    print(f"{len(examples)} train + dev rows, 5 grouped folds; per-script thresholds chosen out-of-fold")
    print(f"  {'config':<14} {'C':>5}  {'zh-Hans':>7} {'zh-Hant':>7} {'en':>6} {'mean':>6}  {'1-thr mean':>10}  t_zh/t_en")
    for name in args.configs or list(CONFIGS):
        options, best = CONFIGS[name], None
        started = time.perf_counter()
        for c in C_GRID:
            p = np.zeros(len(examples))
            for fold in folds:
                held = set(fold)
                p[fold] = fit_predict([i for i in range(len(examples)) if i not in held], fold, options, c)
            result = thresholded(p)
            if best is None or round(result["mean"], 6) > round(best[1]["mean"], 6):
                best = (c, result)
        assert best is not None
        c, r = best
        print(
            f"  {name:<14} {c:>5g}  {r['zh-Hans']:>7.3f} {r['zh-Hant']:>7.3f} {r['en']:>6.3f} {r['mean']:>6.3f}"
            f"  {r['single']:>10.3f}  {r['t_zh']}/{r['t_en']}  ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
