"""Precision, recall and F1 of topic matching on hand-labelled items (`make eval`).

    python -m bench.eval_relevance [--items FILE ...] [--topic-config FILE] [--no-seed] [--errors] [--check]

Items are JSON Lines with `title`, `text`, `lang` (zh-Hans, zh-Hant or en), `label`
(bool) and `note`; the topic comes from `tests/data/relevance/topic.toml`, whose seed
text is read from ../shared beside the project (without it, or with `--no-seed`, the
seed summary is used). Figures are printed overall and per script for each set:
`items.jsonl` (development, written before any rule) and the `heldout*.jsonl` sets,
each written after a tuning round (their history is in tests/data/relevance/README.md).
Target: F1 >= 0.95, and recall on zh-Hant and en within 0.05 of zh-Hans; `--check`
exits 1 when the development set misses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.evaluation_topic import load_evaluation_config
from crawler.topics.matcher import TopicMatcher, build_matcher, read_seed_text
from storage.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "relevance"
SCRIPTS = ("zh-Hans", "zh-Hant", "en")
TARGET_F1 = 0.95
TARGET_RECALL_GAP = 0.05


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    text: str
    lang: str
    label: bool
    note: str


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
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_items(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            items.append(
                Item(
                    row.get("id", f"{path.stem}:{number}"),
                    row["title"],
                    row["text"],
                    row["lang"],
                    bool(row["label"]),
                    row.get("note", ""),
                )
            )
    return items


def evaluate(
    matcher: TopicMatcher, items: Iterable[Item]
) -> tuple[dict[str, Tally], list[tuple[Item, float, tuple[str, ...]]]]:
    """Tallies per script (and "all"), and the misclassified items with their score and reasons."""
    tallies = {key: Tally() for key in ("all", *SCRIPTS)}
    errors = []
    for item in items:
        match = matcher.match(item.title, item.text)
        tallies["all"].add(match.relevant, item.label)
        tallies.setdefault(item.lang, Tally()).add(match.relevant, item.label)
        if match.relevant != item.label:
            errors.append((item, match.score, match.matched))
    return tallies, errors


def report(name: str, tallies: dict[str, Tally]) -> bool:
    """Print one set's table; True when it meets the target."""
    print(f"\n{name}")
    print(f"  {'script':<8} {'n':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8} {'F1':>6}")
    for key, t in tallies.items():
        if t.n:
            print(
                f"  {key:<8} {t.n:>4} {t.tp:>4} {t.fp:>4} {t.fn:>4} {t.precision:>10.3f} {t.recall:>8.3f} {t.f1:>6.3f}"
            )
    base = tallies["zh-Hans"].recall
    gaps = {s: base - tallies[s].recall for s in ("zh-Hant", "en") if tallies[s].tp + tallies[s].fn}
    ok = tallies["all"].f1 >= TARGET_F1 and all(g <= TARGET_RECALL_GAP for g in gaps.values())
    gap_text = ", ".join(f"{s} {g:+.3f}" for s, g in gaps.items())
    print(
        f"  recall gap to zh-Hans: {gap_text}; target F1 >= {TARGET_F1}, gap <= {TARGET_RECALL_GAP}: "
        f"{'met' if ok else 'NOT met'}"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--items", type=Path, nargs="*", help="JSON Lines files (default: items.jsonl, heldout*.jsonl)"
    )
    parser.add_argument("--topic-config", type=Path, default=DATA / "topic.toml")
    parser.add_argument("--topic", help="topic name (default: the first)")
    parser.add_argument("--no-seed", action="store_true", help="ignore the seed text file; use the summary")
    parser.add_argument("--errors", action="store_true", help="list misclassified items with their reasons")
    parser.add_argument("--check", action="store_true", help="exit 1 when the first set misses the target")
    args = parser.parse_args(argv)

    config = load_evaluation_config(args.topic_config)
    topic = config.topic(args.topic)
    seed_note = "seed text file"
    if args.no_seed or topic.seed is None or not topic.seed.text_file:
        seed_note = "seed summary" if topic.seed and topic.seed.summary else "no seed"
        topic = topic.model_copy(
            update={"seed": topic.seed.model_copy(update={"text_file": None}) if topic.seed else None}
        )
    else:
        try:
            read_seed_text(topic, config.folder)
        except ConfigError as exc:
            print(f"note: {exc}; using the seed summary", file=sys.stderr)
            seed_note = "seed summary (text file missing)"
            topic = topic.model_copy(update={"seed": topic.seed.model_copy(update={"text_file": None})})

    started = time.perf_counter()
    matcher = build_matcher(topic, config.folder)
    built = time.perf_counter() - started
    print(
        f"topic {topic.name!r} from {args.topic_config} ({seed_note}; threshold {matcher.threshold}, "
        f"similarity weight {matcher.similarity_weight}); matcher built in {built:.2f}s"
    )

    paths = args.items or [DATA / "items.jsonl", *sorted(DATA.glob("heldout*.jsonl"))]
    results = []
    for path in paths:
        tallies, errors = evaluate(matcher, load_items(path))
        results.append(report(f"{path.name}", tallies))
        if args.errors:
            for item, score, matched in errors:
                kind = "FN" if item.label else "FP"
                print(f"    {kind} {item.id} [{item.lang}] score={score:.3f} {item.title}")
                print(f"       {', '.join(matched) or '-'}   ({item.note})")
    return 1 if args.check and results and not results[0] else 0


if __name__ == "__main__":
    sys.exit(main())
