"""Topic matching by keywords: the simplest rule a topic can have.

A topic is matched when any keyword appears in the normalised title or text, so a
keyword written in simplified script also matches traditional-script coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.textnorm import normalize_text
from scheduler.config import TopicConfig
from storage.types import TopicMatch


def match_topics(title: str, text: str, topics: Sequence[TopicConfig]) -> list[TopicMatch]:
    """One `TopicMatch` per topic, relevant or not, with the keywords found."""
    haystack = normalize_text(f"{title}\n{text}")
    results = []
    for topic in topics:
        matched = tuple(k for k in topic.keywords if normalize_text(k) in haystack)
        # Until weighted rules exist, each distinct keyword found adds confidence.
        score = min(1.0, len(matched) / 3) if matched else 0.0
        results.append(TopicMatch(topic=topic.name, score=round(score, 3), relevant=bool(matched), matched=matched))
    return results
