"""Deciding whether an article is on a topic: term rules plus similarity to the seed.

A `TopicMatcher` is built once per topic (rules compiled, seed segmented and weighted)
and then scores any number of articles:

    rules       = sum of the weights of matched any/all groups, capped at 1
                  (a keyword hit counts as 1)
    combined    = 1 - (1 - rules) * (1 - similarity_weight * similarity)
    score       = combined * product over matched none groups of (1 - weight)
    relevant    = score >= threshold

so strong rules alone can make an article relevant, similarity alone can reach at most
`similarity_weight`, and a none group with the default weight 1 is a veto. A keyword hit
lifts the combined score to at least the threshold (keywords keep their old meaning:
"any keyword → on topic").

A topic with a learned model (`crawler/topics/model.py`, trained by `make train` from
the topic's labelled examples) decides by the model instead: its probability, computed
from the character n-grams and rule features of the title and the text's opening (what
the model was trained on), becomes the score, the model's own threshold for the page's
script group (Chinese or English) decides, and the reasons gain "model=0.83" after the rule
hits. The similarity to the seed decides nothing then, so it is computed (and listed
before the model's reason) only for the pages taken, where the digest's "similar to the
original report" reads it: for the pages not taken, most of a crawl, it was most of the
matching time. A veto and a keyword hit keep their meaning. A topic without a model is
scored by rules and similarity alone.

A topic with `since` (the day its story began) takes no page published before that day,
whatever its text says: coverage of a story cannot predate it, and old pages that share
its words (city rivalries, earlier "why Hangzhou?" pieces) were the commonest false alarm
in the English labelled data. Such a page scores 0 with the reason "published 2017-03,
before 2025-02-01"; a page without a date is judged on its text alone.

`build_matchers(topics, base_dir)` reads the seed files (the only I/O here).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from crawler.normalize import normalize_text
from crawler.topics.config import TopicConfig
from crawler.topics.model import TopicModel, load_model, load_packaged_model, topic_fingerprint
from crawler.topics.rules import Rules
from crawler.topics.segment import Segmenter
from crawler.topics.similarity import Featurizer, SeedSimilarity
from storage.errors import ConfigError
from storage.types import TopicMatch

logger = logging.getLogger(__name__)

DEFAULT_SIMILARITY_WEIGHT = 0.3


def default_similarity_weight(topic: TopicConfig) -> float:
    """`similarity_weight`, or its default: 0.3 for a topic with rule groups, 0 for keywords only.

    A keyword-only topic keeps its old, cheap behaviour (no jieba, no seed vector):
    similarity could not change its decisions anyway, since a keyword hit decides.
    """
    if topic.similarity_weight is not None:
        return topic.similarity_weight
    return DEFAULT_SIMILARITY_WEIGHT if topic.groups else 0.0


class TopicMatcher:
    """One topic's compiled rules and seed vector; `match` is pure and thread-safe."""

    def __init__(
        self, topic: TopicConfig, seed_text: str | None = None, model: TopicModel | None = None
    ) -> None:
        self.topic = topic
        self.name = topic.name
        self.model = model
        self.threshold = model.threshold if model is not None else topic.threshold
        self.rules = Rules.compile(topic)
        seed_text = (seed_text or "").strip()
        self.similarity_weight = default_similarity_weight(topic) if seed_text else 0.0
        self.similarity: SeedSimilarity | None = None
        if self.similarity_weight > 0:
            featurizer = Featurizer(Segmenter(self.rules.dictionary_words()), self._term_counts)
            self.similarity = SeedSimilarity(normalize_text(seed_text), featurizer)

    def _term_counts(self, text: str) -> dict[str, int]:
        return {term.label: term.count(text) for term in self.rules.terms}

    def match(self, title: str, text: str, published: date | None = None) -> TopicMatch:
        """Whether `title` and `text` are on the topic, and why; `published`: the page's date, if known."""
        since = self.topic.since
        if since is not None and published is not None and _day(published) < since:
            return TopicMatch(topic=self.name, score=0.0, relevant=False,
                              matched=(f"published {_day(published).isoformat()}, before {since.isoformat()}",))
        normalized = normalize_text(f"{title}\n{text}")
        outcome = self.rules.evaluate(normalized)
        reasons = list(outcome.reasons)
        if self.model is not None:
            probability, threshold = self.model.decide(self.rules, title, text)
            relevant = (probability >= threshold or outcome.keyword_hit) and outcome.keep > 0
            if relevant and self.similarity is not None:
                # Only a reason here (the model decides), read by the digest's "similar to the
                # original report"; for the pages not taken, most of a crawl, it was 2-3 ms of
                # segmentation a page that no one read.
                reasons.append(f"similarity={self.similarity.score(normalized):.2f}")
            reasons.append(f"model={probability:.2f}")
            return TopicMatch(topic=self.name, score=round(probability, 3), relevant=relevant, matched=tuple(reasons))
        similarity = 0.0
        if self.similarity is not None:
            similarity = self.similarity.score(normalized)
            reasons.append(f"similarity={similarity:.2f}")
        combined = 1.0 - (1.0 - outcome.score) * (1.0 - self.similarity_weight * similarity)
        if outcome.keyword_hit:
            combined = max(combined, self.threshold)
        score = round(combined * outcome.keep, 3)
        relevant = score >= self.threshold and outcome.keep > 0  # a veto holds even at threshold 0
        return TopicMatch(topic=self.name, score=score, relevant=relevant, matched=tuple(reasons))


class LazyTopicMatcher(TopicMatcher):
    """A topic's matcher whose rules, jieba dictionary and seed vector are built on first use.

    For a process that hands matching to worker processes (`crawler.pool`) and only needs
    each topic's name: it then never loads jieba's dictionary and the IDF table (about
    100 MB). The seed file is read at once, so a missing file is still a configuration error
    at start-up.
    """

    def __init__(self, topic: TopicConfig, seed_text: str | None = None) -> None:  # the real matcher is built in _real(), not here
        self.topic = topic
        self.name = topic.name
        self._seed_text = seed_text
        self._built: TopicMatcher | None = None
        self._lock = threading.Lock()

    def _real(self) -> TopicMatcher:
        with self._lock:
            if self._built is None:
                self._built = TopicMatcher(self.topic, self._seed_text)
            return self._built

    def match(self, title: str, text: str, published: date | None = None) -> TopicMatch:
        return self._real().match(title, text, published)

    def __getattr__(self, attribute: str) -> Any:
        # Called only for what __init__ did not set (rules, threshold, similarity…).
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self._real(), attribute)


def _day(published: date) -> date:
    return published.date() if isinstance(published, datetime) else published


def read_seed_text(topic: TopicConfig, base_dir: Path | None = None) -> str | None:
    """The seed's text: `text_file` (relative to `base_dir`, the config file's folder), else `summary`.

    Raises ConfigError when `text_file` is set but cannot be read.
    """
    seed = topic.seed
    if seed is None:
        return None
    if seed.text_file:
        path = Path(seed.text_file).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ConfigError(
                f"topic {topic.name!r}: seed text_file {str(path)!r}: cannot read: {reason}"
            ) from exc
    return seed.summary or None


def read_model(topic: TopicConfig, base_dir: Path | None = None) -> TopicModel | None:
    """The topic's learned model, or None (then rules and similarity decide).

    `model` names a file (relative to `base_dir`); without it, the model shipped in the
    package under the topic's name is used only if it was trained on this topic's rules:
    another topic that happens to share the name keeps rules and similarity. None too
    when `learned = false`. Raises ConfigError when `model` is set but unreadable.
    """
    if not topic.learned:
        return None
    fingerprint = topic_fingerprint(topic)
    if topic.model:
        path = Path(topic.model).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        model = load_model(path)
        if model.fingerprint and model.fingerprint != fingerprint:
            # Named explicitly, so it is used: the n-grams still apply, only the rule
            # features may have shifted meaning.
            logger.warning(
                "topic=%s model %s was trained on other rules; retrain it (make train)", topic.name, path
            )
        return model
    packaged = load_packaged_model(topic.name)
    if packaged is not None and packaged.fingerprint == fingerprint:
        return packaged
    if packaged is not None:
        logger.info(
            "topic=%s: the shipped model was trained on other rules; using rules and similarity", topic.name
        )
    elif topic.examples:
        logger.warning("topic=%s has examples but no trained model; run make train", topic.name)
    return None


def build_matcher(topic: TopicConfig, base_dir: Path | None = None) -> TopicMatcher:
    """A matcher for `topic`, its seed file and model read relative to `base_dir`."""
    return TopicMatcher(topic, read_seed_text(topic, base_dir), read_model(topic, base_dir))


def build_matchers(
    topics: Sequence[TopicConfig], base_dir: Path | None = None, *, lazy: bool = False
) -> dict[str, TopicMatcher]:
    """One matcher per topic, by name; build them once and reuse them for every article.

    `lazy`: build each on first use (`LazyTopicMatcher`), for processes that rarely match.
    """
    if lazy:
        return {topic.name: LazyTopicMatcher(topic, read_seed_text(topic, base_dir)) for topic in topics}
    return {topic.name: build_matcher(topic, base_dir) for topic in topics}
