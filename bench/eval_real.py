"""Topic matching on real coverage: the frozen test split of `bench/data/relevance/real.jsonl` (`make eval`).

    python -m bench.eval_real [--topic-config FILE] [--split test|dev] [--errors] [--check]

For each script (zh-Hans, zh-Hant, en) it prints precision, recall and F1 of the topic's
rules and seed similarity alone, of rules + the learned model on the text alone (as
`mediawatch classify` judges an item given without its date), and of the same with the
page's date (`published`, as a crawl judges a page whose date it found: the topic's `since`
rules out pages from before the story), then how often an item and its conversion by
OpenCC `s2t` and `s2hk` get the same decision from the matcher.
This is the only code that reads the test split; training and tuning refuse it.
Target: F1 >= 0.93 in every script with the model and dates, and identical decisions after
conversion; `--check` exits 1 when either is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import opencc

from bench.evaluation_topic import load_evaluation_config
from crawler.topics.dates import latest_day
from crawler.topics.matcher import TopicMatcher, read_model, read_seed_text
from storage.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "relevance" / "real.jsonl"
TOPIC_CONFIG = ROOT / "tests" / "data" / "relevance" / "topic.toml"
SCRIPTS = ("zh-Hans", "zh-Hant", "en")
CONVERSIONS = ("s2t", "s2hk")
TARGET_F1 = 0.93


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, label: bool) -> None:
        if predicted and label:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0


def load_rows(path: Path, split: str) -> list[dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [r for r in rows if r["split"] == split]


def tally(
    matcher: TopicMatcher, rows: Sequence[dict], *, dated: bool = False
) -> tuple[dict[str, Tally], list[tuple[dict, float, tuple]]]:
    tallies = {s: Tally() for s in (*SCRIPTS, "all")}
    errors = []
    for row in rows:
        match = matcher.match(row["title"], row["excerpt"], latest_day(row.get("published")) if dated else None)
        for key in (row["lang"], "all"):
            tallies[key].add(match.relevant, row["label"])
        if match.relevant != row["label"]:
            errors.append((row, match.score, match.matched))
    return tallies, errors


def agreement(matcher: TopicMatcher, rows: Sequence[dict], conversion: str) -> tuple[int, int, list[dict]]:
    """(same decisions, Chinese items, the items whose decision changed) under an OpenCC conversion."""
    converter = opencc.OpenCC(conversion)
    same, total, changed = 0, 0, []
    for row in rows:
        if row["lang"] == "en":
            continue
        total += 1
        published = latest_day(row.get("published"))
        original = matcher.match(row["title"], row["excerpt"], published).relevant
        converted = matcher.match(converter.convert(row["title"]), converter.convert(row["excerpt"]), published).relevant
        if original == converted:
            same += 1
        else:
            changed.append(row)
    return same, total, changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic-config", type=Path, default=TOPIC_CONFIG)
    parser.add_argument("--topic", help="topic name (default: the first)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--errors", action="store_true", help="list misclassified items with their reasons")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    config = load_evaluation_config(args.topic_config)
    topic = config.topic(args.topic)
    base_dir = args.topic_config.parent
    try:
        seed_text = read_seed_text(topic, base_dir)
        seed_note = "seed text file" if topic.seed and topic.seed.text_file else "seed summary"
    except ConfigError as exc:
        print(f"note: {exc}; using the seed summary", file=sys.stderr)
        seed_text, seed_note = (
            (topic.seed.summary if topic.seed else None),
            "seed summary (text file missing)",
        )
    model = read_model(topic, base_dir)
    if model is None:
        print(f"topic {topic.name!r} has no learned model: run make train", file=sys.stderr)
        return 1
    rules_only = TopicMatcher(topic, seed_text)
    learned = TopicMatcher(topic, seed_text, model)
    rows = load_rows(args.data, args.split)
    print(
        f"topic {topic.name!r}, {args.split} split of {args.data.name}: {len(rows)} items "
        f"({seed_note}; model {model.source}, thresholds {dict(model.thresholds) or model.threshold})"
    )
    print(f"  {'script':<8} {'n':>4} {'on':>4}  {'rules P/R/F1':>20}  {'rules+model P/R/F1':>20}"
          f"  {'+ dates P/R/F1':>20}")
    results = {"rules": tally(rules_only, rows), "model": tally(learned, rows),
               "dated": tally(learned, rows, dated=True)}
    for script in (*SCRIPTS, "all"):
        r = results["rules"][0][script]
        print(f"  {script:<8} {r.n:>4} {r.tp + r.fn:>4}  " + "  ".join(
            f"{t.precision:>6.3f}/{t.recall:.3f}/{t.f1:.3f}" for t in (results[n][0][script] for n in results)))
    ok = all(results["dated"][0][s].f1 >= TARGET_F1 for s in SCRIPTS)
    for conversion in CONVERSIONS:
        same, total, changed = agreement(learned, rows, conversion)
        ok = ok and same == total
        print(
            f"  same decision after OpenCC {conversion}: {same}/{total}"
            + "".join(f"  [{c['id']}]" for c in changed)
        )
    print(f"  target F1 >= {TARGET_F1} in every script and identical decisions: {'met' if ok else 'NOT met'}")
    if args.errors:
        for name in results:
            for row, score, matched in results[name][1]:
                kind = "FN" if row["label"] else "FP"
                print(f"    {name} {kind} {row['id']} [{row['lang']}] {score:.3f} {row['title'][:60]}")
                print(f"       {', '.join(matched) or '-'}   ({row['reason']})")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
