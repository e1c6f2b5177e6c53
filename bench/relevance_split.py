"""The frozen train/dev/test split of the real relevance data (`bench/data/relevance/real.jsonl`).

An item's split is decided by a hash of its URL alone — never by its label, its text or
anything a tuning run could see — so it is fixed the moment the item is collected:

    bucket = int(sha256(url).hexdigest()[:8], 16) % 100
    train: bucket < 60, dev: bucket < 75, test: the rest

A reprint of the same article on another site carries `same_as` (the URL of the copy it
reprints); the split is then taken from that URL, so a reprint and its original, or a
page and its conversion into the other script, never straddle train and test.

    python -m bench.relevance_split --check    exit 1 when a stored split disagrees
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "relevance" / "real.jsonl"
SPLITS = ("train", "dev", "test")
TRAIN_BELOW = 60
DEV_BELOW = 75


def bucket(url: str) -> int:
    """0-99, from the first 32 bits of the URL's SHA-256."""
    return int(hashlib.sha256(url.encode("utf-8")).hexdigest()[:8], 16) % 100


def split_for(url: str) -> str:
    """'train', 'dev' or 'test' for an item whose canonical URL is `url`."""
    b = bucket(url)
    if b < TRAIN_BELOW:
        return "train"
    if b < DEV_BELOW:
        return "dev"
    return "test"


def canonical_url(row: Mapping[str, object]) -> str:
    """The URL that decides the split: `same_as` for a reprint, else the item's own URL."""
    return str(row.get("same_as") or row["url"])


def check(path: Path = DATA) -> list[str]:
    """Items whose stored `split` differs from the hash; empty when the file is consistent."""
    problems = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            expected = split_for(canonical_url(row))
            if row.get("split") != expected:
                problems.append(f"{row['id']}: stored {row.get('split')!r}, hash says {expected!r}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--check", action="store_true", help="exit 1 when a stored split disagrees")
    args = parser.parse_args(argv)
    rows = [json.loads(x) for x in args.data.read_text(encoding="utf-8").splitlines() if x.strip()]
    counts = Counter((r["split"], r["lang"], bool(r["label"])) for r in rows)
    for split in SPLITS:
        parts = ", ".join(
            f"{lang} {counts[(split, lang, True)]}+/{counts[(split, lang, False)]}-"
            for lang in ("zh-Hans", "zh-Hant", "en")
        )
        print(f"{split:<5} {sum(v for k, v in counts.items() if k[0] == split):>4}  {parts}")
    problems = check(args.data)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
