"""A topic's learned relevance model: logistic regression read from a JSON file, in plain Python.

The model sees what the rules see — the title and text after `normalize_text` (so a
traditional-script page and its simplified original give the same features) — in two
kinds of features:

- character n-grams (1 to 3 characters) of a Chinese page's text and the words and word pairs
  of its Latin-script parts; only the words and word pairs of an English page (three
  characters say little about English); each tagged with the
  page's script group (below) so Chinese and English pages learn their own weights, TF-IDF:
  (1 + ln tf) × idf, the vector scaled to unit length over the n-grams the model knows;
- the topic's rule features: one per rule group (1 when the group matched), the keyword
  hit, the rule score and the none-group factor (`RuleFeatures` below).

    probability = 1 / (1 + exp(-(intercept + w·ngrams + v·rules)))

The model was trained on titles and page openings (the evaluation data holds excerpts of
at most 300 characters), so it reads the title and the first `excerpt_chars` characters of
the text, for the n-grams and the rule features alike: a long article is judged by its
opening, as a reader skimming a crawl would.

Each page is put in a script group, `zh` or `en`, from the characters of its normalised
title and opening (`script_group`): the group decides which decision threshold applies, so
English pages, whose probabilities run differently, get a threshold of their own. A
traditional-script page and its simplified original are in the same group (the test is made
on the normalised text), so they are still decided alike.

The file is JSON (no pickle is ever loaded): the n-gram vocabulary with idf and weight,
the rule-feature weights, the intercept and the decision thresholds (one per script group,
and a single one for a file that has none), chosen out-of-fold on train + dev. `crawler/topics/learn.py` writes it (`make train`); nothing here needs
scikit-learn, and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

from crawler.normalize import normalize_text
from crawler.topics.config import TopicConfig
from crawler.topics.rules import RuleOutcome, Rules
from storage.errors import ConfigError

FORMAT = "mediawatch-topic-model"
VERSION = 1
NGRAM_RANGE = (1, 3)
ANALYZER = "script-group|zh:char1-3+latin-words1-2|en:latin-words1-2"  # what `text_features` computes; stored in the file
EXCERPT_CHARS = 300  # the longest opening in the training data
PACKAGED = "crawler.topics.models"  # <topic name>.json shipped inside the package

_SPACES = re.compile(r"\s+")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9'’\-]*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[a-z]")
SCRIPT_GROUPS = ("zh", "en")
CJK_SHARE = 0.3  # a page whose letters are at least this share CJK characters is `zh`


def script_group(normalized: str) -> str:
    """`zh` when CJK characters are at least `CJK_SHARE` of the CJK and Latin letters, else `en`.

    Read from normalised text (`normalize_text` lower-cases Latin and folds traditional to
    simplified), so a page and its OpenCC conversion always fall in the same group.
    """
    cjk = len(_CJK.findall(normalized))
    latin = len(_LATIN_LETTER.findall(normalized))
    return "zh" if cjk and cjk >= CJK_SHARE * (cjk + latin) else "en"


def model_text(normalized: str) -> str:
    """The text the n-grams are taken from: normalised text with runs of whitespace as one space."""
    return _SPACES.sub(" ", normalized).strip()


def char_ngrams(text: str, low: int = NGRAM_RANGE[0], high: int = NGRAM_RANGE[1]) -> list[str]:
    """Every substring of `low` to `high` characters, in order (repeats kept)."""
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def text_features(text: str) -> list[str]:
    """The n-grams of `text` (already `model_text`): characters 1-3, and Latin words and word pairs
    as "w:...", each prefixed with the text's script group ("zh|杭州", "en|w:hangzhou").

    The prefix keeps the weights learned from Chinese pages and from English ones apart (an
    English page's "dragons" and a Chinese page's embedded "deepseek" need not mean the same);
    cross-validation preferred it to shared n-grams (bench/data/relevance/README.md).
    """
    group, grams = _untagged_features(text)
    return [f"{group}|{g}" for g in grams]


def _untagged_features(text: str) -> tuple[str, list[str]]:
    """(script group, the n-grams of `text_features` before they are tagged with it).

    An English page gives only its words and word pairs: its character n-grams ("han",
    "ngz") carry little and crowd English words out of the kept n-grams. Out of fold on train +
    dev, over four fold constructions, dropping them lifted English F1 by +0.003 to +0.023 and
    the mean over the three scripts by +0.007 on average (`python -m bench.relevance_cv
    --fold-seed N split split+en-words`).
    """
    group = script_group(text)
    words = _LATIN_WORD.findall(text)
    grams = char_ngrams(text) if group == "zh" else []
    grams.extend(f"w:{w}" for w in words)
    grams.extend(f"w:{a} {b}" for a, b in pairwise(words))
    return group, grams


@dataclass(frozen=True)
class RuleFeatures:
    """The rule-side inputs of the model, named so a file can say which it was trained on."""

    values: Mapping[str, float]

    @classmethod
    def of(cls, rules: Rules, normalized: str, outcome: RuleOutcome | None = None) -> RuleFeatures:
        """The features of normalised text; pass `outcome` when the rules have already been evaluated."""
        outcome = outcome if outcome is not None else rules.evaluate(normalized)
        values: dict[str, float] = {
            "rules:score": outcome.score,
            "rules:keep": outcome.keep,
            "rules:keyword": 1.0 if outcome.keyword_hit else 0.0,
        }
        for group in rules.groups:
            values[f"group:{group.name}"] = 1.0 if group.name in outcome.groups else 0.0
        return cls(values)


def topic_fingerprint(topic: TopicConfig) -> str:
    """A short hash of the topic's keywords and groups: a model is trained against these rules."""
    body = json.dumps(
        {
            "keywords": topic.keywords,
            "groups": [[g.name, g.mode, g.weight, g.terms] for g in topic.groups],
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class TopicModel:
    """A trained model; `probability` is pure and thread-safe."""

    topic: str
    ngrams: Mapping[str, tuple[float, float]]  # n-gram -> (idf, weight)
    rule_weights: Mapping[str, float]
    intercept: float
    threshold: float
    fingerprint: str
    info: Mapping[str, Any]
    source: str = ""
    excerpt_chars: int = EXCERPT_CHARS
    thresholds: Mapping[str, float] = field(default_factory=dict)  # script group -> threshold
    # `ngrams` split by script group, untagged: a page's n-grams are looked up without building
    # a tagged copy of each (a thousand strings a page, half of the model's cost).
    _by_group: Mapping[str, Mapping[str, tuple[float, float]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_group: dict[str, dict[str, tuple[float, float]]] = {}
        for tagged, values in self.ngrams.items():
            group, _, gram = tagged.partition("|")
            by_group.setdefault(group, {})[gram] = values
        object.__setattr__(self, "_by_group", by_group)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> TopicModel:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ConfigError(f"{source or 'topic model'}: not a {FORMAT} version {VERSION} file")
        if data.get("analyzer") != ANALYZER:
            raise ConfigError(
                f"{source or 'topic model'}: trained with features {data.get('analyzer')!r}, not {ANALYZER!r}"
            )
        try:
            return cls(
                topic=str(data["topic"]),
                ngrams={g: (float(v[0]), float(v[1])) for g, v in data["ngrams"].items()},
                rule_weights={k: float(v) for k, v in data["rule_weights"].items()},
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                fingerprint=str(data.get("fingerprint", "")),
                info=dict(data.get("info", {})),
                source=source,
                excerpt_chars=int(data.get("excerpt_chars", EXCERPT_CHARS)),
                thresholds={str(k): float(v) for k, v in data.get("thresholds", {}).items()},
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{source or 'topic model'}: malformed model file ({exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "analyzer": ANALYZER,
            "topic": self.topic,
            "fingerprint": self.fingerprint,
            "threshold": self.threshold,
            "thresholds": dict(sorted(self.thresholds.items())),
            "excerpt_chars": self.excerpt_chars,
            "intercept": self.intercept,
            "rule_weights": dict(sorted(self.rule_weights.items())),
            "info": dict(self.info),
            "ngrams": {g: [round(idf, 6), round(w, 6)] for g, (idf, w) in sorted(self.ngrams.items())},
        }

    def ngram_vector(self, text: str) -> dict[str, float]:
        """The unit-length TF-IDF weights of the known n-grams in `text` (already `model_text`)."""
        group, vector, _ = self._untagged_vector(text)
        return {f"{group}|{g}": v for g, v in vector.items()}

    def _untagged_vector(self, text: str) -> tuple[str, dict[str, float], Mapping[str, tuple[float, float]]]:
        """(script group, `ngram_vector` with untagged keys, that group's n-grams: gram -> (idf, weight))."""
        group, grams = _untagged_features(text)
        known = self._by_group.get(group, {})
        counts = Counter(g for g in grams if g in known)
        raw = {g: (1.0 + math.log(tf)) * known[g][0] for g, tf in counts.items()}
        norm = math.sqrt(sum(v * v for v in raw.values()))
        return group, ({g: v / norm for g, v in raw.items()} if norm else {}), known

    def margin(self, normalized: str, features: RuleFeatures) -> float:
        text = model_text(normalized)
        total = self.intercept
        _, vector, known = self._untagged_vector(text)
        total += sum(v * known[g][1] for g, v in vector.items())
        total += sum(self.rule_weights.get(k, 0.0) * v for k, v in features.values.items())
        return total

    def probability(self, normalized: str, features: RuleFeatures) -> float:
        """P(on topic) for normalised title + text and its rule features."""
        z = self.margin(normalized, features)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def opening(self, title: str, text: str) -> str:
        """The normalised title and opening the model reads."""
        return normalize_text(f"{title}\n{text[: self.excerpt_chars]}")

    def threshold_for(self, normalized: str) -> float:
        """The decision threshold for a page (its `opening`): its script group's, else the single one."""
        return self.thresholds.get(script_group(normalized), self.threshold)

    def judge(self, rules: Rules, title: str, text: str) -> float:
        """P(on topic) for an article, read as the model was trained: title and opening."""
        normalized = self.opening(title, text)
        return self.probability(normalized, RuleFeatures.of(rules, normalized))

    def decide(self, rules: Rules, title: str, text: str) -> tuple[float, float]:
        """(P(on topic), the threshold that applies to this article)."""
        normalized = self.opening(title, text)
        probability = self.probability(normalized, RuleFeatures.of(rules, normalized))
        return probability, self.threshold_for(normalized)


def load_model(path: Path | str) -> TopicModel:
    """Read a model file; ConfigError when it cannot be read or is not a model."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"topic model {str(path)!r}: cannot read: {reason}") from exc
    return TopicModel.from_dict(data, source=str(path))


def packaged_model_name(topic_name: str) -> str:
    """The file name a model for `topic_name` has inside the package."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", topic_name).strip("-") + ".json"


def load_packaged_model(topic_name: str) -> TopicModel | None:
    """The model shipped in `crawler/topics/models/` for this topic name, or None."""
    resource = resources.files(PACKAGED).joinpath(packaged_model_name(topic_name))
    if not resource.is_file():
        return None
    data = json.loads(resource.read_text(encoding="utf-8"))
    return TopicModel.from_dict(data, source=f"{PACKAGED}/{packaged_model_name(topic_name)}")


def describe(model: TopicModel, top: int = 10) -> Iterable[str]:
    """Lines naming the heaviest features, for `mediawatch topics`-style output and reviews."""
    ranked = sorted(model.ngrams.items(), key=lambda kv: kv[1][1])
    yield "against: " + ", ".join(repr(g) for g, _ in ranked[:top])
    yield "for: " + ", ".join(repr(g) for g, _ in reversed(ranked[-top:]))
    rules = sorted(model.rule_weights.items(), key=lambda kv: -kv[1])
    yield "rules: " + ", ".join(f"{k}={v:+.2f}" for k, v in rules)
