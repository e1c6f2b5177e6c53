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

`build_matchers(config)` reads the seed files (the only I/O here); `match_topics` is the
older call signature, kept for callers that only have `TopicConfig`s.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from crawler.rules import Rules
from crawler.segment import Segmenter
from crawler.similarity import Featurizer, SeedSimilarity
from crawler.textnorm import normalize_text
from scheduler.config import Config, TopicConfig
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

    def __init__(self, topic: TopicConfig, seed_text: str | None = None) -> None:
        self.topic = topic
        self.name = topic.name
        self.threshold = topic.threshold
        self.rules = Rules.compile(topic)
        seed_text = (seed_text or "").strip()
        self.similarity_weight = default_similarity_weight(topic) if seed_text else 0.0
        self.similarity: SeedSimilarity | None = None
        if self.similarity_weight > 0:
            featurizer = Featurizer(Segmenter(self.rules.dictionary_words()), self._term_counts)
            self.similarity = SeedSimilarity(normalize_text(seed_text), featurizer)

    def _term_counts(self, text: str) -> dict[str, int]:
        return {term.label: term.count(text) for term in self.rules.terms}

    def match(self, title: str, text: str) -> TopicMatch:
        normalized = normalize_text(f"{title}\n{text}")
        outcome = self.rules.evaluate(normalized)
        reasons = list(outcome.reasons)
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


def read_seed_text(topic: TopicConfig, config: Config | None = None) -> str | None:
    """The seed's text: `text_file` (relative to the config file's folder), else `summary`.

    Raises ConfigError when `text_file` is set but cannot be read.
    """
    seed = topic.seed
    if seed is None:
        return None
    if seed.text_file:
        path = (
            config.resolve_path(seed.text_file) if config is not None else Path(seed.text_file).expanduser()
        )
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ConfigError(
                f"topic {topic.name!r}: seed text_file {str(path)!r}: cannot read: {reason}"
            ) from exc
    return seed.summary or None


def build_matcher(topic: TopicConfig, config: Config | None = None) -> TopicMatcher:
    return TopicMatcher(topic, read_seed_text(topic, config))


def build_matchers(config: Config, topics: Sequence[TopicConfig] | None = None) -> list[TopicMatcher]:
    """Matchers for `topics` (default: all), seed files resolved against the config's folder."""
    return [build_matcher(topic, config) for topic in (config.topics if topics is None else topics)]


# -- the older call signature ------------------------------------------------------
_CACHE_SIZE = 32
_cache: OrderedDict[int, tuple[TopicConfig, TopicMatcher]] = OrderedDict()
_cache_lock = threading.Lock()


def _cached_matcher(topic: TopicConfig) -> TopicMatcher:
    # Keyed by identity (a TopicConfig holds lists, so it is not hashable); the entry
    # keeps the topic alive, so its id cannot be reused while cached.
    with _cache_lock:
        entry = _cache.get(id(topic))
        if entry is not None and entry[0] is topic:
            _cache.move_to_end(id(topic))
            return entry[1]
    try:
        matcher = build_matcher(topic)
    except ConfigError as exc:
        # Without the Config, a relative text_file is resolved against the working
        # directory; fall back to the summary rather than failing every article.
        logger.warning("topic=%s seed text unavailable, using the summary: %s", topic.name, exc)
        matcher = TopicMatcher(topic, topic.seed.summary if topic.seed else None)
    with _cache_lock:
        _cache[id(topic)] = (topic, matcher)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return matcher


def match_topics(title: str, text: str, topics: Sequence[TopicConfig]) -> list[TopicMatch]:
    """One `TopicMatch` per topic, relevant or not, with the reasons.

    Prefer `build_matchers(config)` once per crawl and `matcher.match(...)` per article:
    it resolves seed files against the config's folder.
    """
    return [_cached_matcher(topic).match(title, text) for topic in topics]
