"""Train the learned relevance model of each topic that has labelled examples (`make train`).

    python -m bench.train_relevance [--topic-config FILE] [--topic NAME] [--out FILE]

Reads the topic from `tests/data/relevance/topic.toml` (the topic mediawatch.example.toml
ships), its `examples` file (relative to the config file), and writes the model to
`crawler/topics/models/<topic>.json`, the file the matcher loads for a topic of that name.
Only the train and dev splits are read (`crawler/topics/learn.py`); the test split is left
to `make eval`. Needs scikit-learn: `pip install -e '.[train]'` (the make target does it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.evaluation_topic import load_evaluation_config
from crawler.topics.learn import load_examples, tune
from crawler.topics.model import describe, packaged_model_name

ROOT = Path(__file__).resolve().parent.parent
TOPIC_CONFIG = ROOT / "tests" / "data" / "relevance" / "topic.toml"
MODELS = ROOT / "crawler" / "topics" / "models"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic-config", type=Path, default=TOPIC_CONFIG)
    parser.add_argument("--topic", help="topic name (default: every topic with examples)")
    parser.add_argument("--out", type=Path, help="model file (default: crawler/topics/models/<topic>.json)")
    args = parser.parse_args(argv)

    config = load_evaluation_config(args.topic_config)
    topics = [config.topic(args.topic)] if args.topic else [t for t in config.topics if t.examples]
    if not topics:
        print(f"no topic in {args.topic_config} has `examples`; nothing to train", file=sys.stderr)
        return 1
    for topic in topics:
        if not topic.examples:
            print(f"topic {topic.name!r} has no `examples`", file=sys.stderr)
            return 1
        path = (args.topic_config.parent / topic.examples).resolve()
        train = load_examples(path, ("train",))
        dev = load_examples(path, ("dev",))
        started = time.perf_counter()
        model, report = tune(topic, train, dev)
        out = args.out or MODELS / packaged_model_name(topic.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        print(
            f"topic {topic.name!r}: {len(train)} train + {len(dev)} dev rows from {path.name}; "
            f"C={report['C']}, thresholds {report['thresholds']} (single {report['threshold']}), "
            f"out-of-fold mean F1 per language {report['oof_mean_language_f1']:.3f}, "
            f"dev F1 of a train-only model {report['dev_mean_language_f1_train_only']:.3f} "
            f"({time.perf_counter() - started:.1f}s)"
        )
        for line in describe(model):
            print(f"  {line}")
        print(
            f"  wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({out.stat().st_size // 1024} KiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
