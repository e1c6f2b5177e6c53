"""Classify throughput: how many articles per second one `TopicMatcher` scores.

    python -m bench.classify_speed [--seconds 3] [--no-seed]

Uses the evaluation topic (`tests/data/relevance/topic.toml`) and its labelled items:
once as they are (a title and a lead paragraph, ~125 characters) and once joined ten
at a time (~1,000 characters, a short news page).
Building the matcher (jieba's dictionary, the IDF table, the seed vector) is timed
separately: it happens once per crawl, not once per article.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from bench.eval_relevance import DATA, load_items
from bench.evaluation_topic import load_evaluation_config
from crawler.topics.matcher import TopicMatcher, build_matcher, read_seed_text
from storage.errors import ConfigError


def _rate(matcher: TopicMatcher, articles: Sequence[tuple[str, str]], seconds: float) -> tuple[float, float]:
    """(articles per second, characters per second) over at least `seconds`."""
    done = chars = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for title, text in articles:
            matcher.match(title, text)
            chars += len(title) + len(text)
        done += len(articles)
    return done / elapsed, chars / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time each measurement at least this long")
    parser.add_argument("--no-seed", action="store_true", help="rules only (no seed similarity)")
    args = parser.parse_args(argv)

    config = load_evaluation_config(DATA / "topic.toml")
    topic = config.topics[0]
    note = "rules + seed similarity"
    if args.no_seed:
        topic, note = topic.model_copy(update={"seed": None, "similarity_weight": None}), "rules only"
    else:
        try:
            read_seed_text(topic, config.folder)
        except ConfigError as exc:
            print(f"note: {exc}; using the seed summary", file=sys.stderr)
            assert topic.seed is not None  # read_seed_text raised about its text file
            topic = topic.model_copy(update={"seed": topic.seed.model_copy(update={"text_file": None})})
            note = "rules + similarity to the seed summary"

    started = time.perf_counter()
    matcher = build_matcher(topic, config.folder)
    built = time.perf_counter() - started

    items = [(i.title, i.text) for i in load_items(DATA / "items.jsonl")]
    long_articles = [
        (items[k][0], "\n".join(text for _, text in items[k : k + 10])) for k in range(0, len(items) - 9, 10)
    ]
    matcher.match(*items[0])  # the first call builds the topic's jieba copy when similarity is on

    print(f"classify throughput ({note}), one process, one thread")
    print(f"  matcher built in {built:.2f}s (once per crawl)")
    for name, articles in (("title + lead", items), ("ten items joined", long_articles)):
        average = sum(len(t) + len(x) for t, x in articles) / len(articles)
        per_second, chars = _rate(matcher, articles, args.seconds)
        print(
            f"  {name:<28} avg {average:6.0f} chars: {per_second:8.1f} articles/s ({chars / 1000:.0f}k chars/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
