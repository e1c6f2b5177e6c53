"""`make bench`: run every benchmark in turn and print its figures.

Each benchmark is also runnable alone (`python -m bench.<name> --help`).
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = (
    ("classify_speed", "topic matching throughput", []),
    ("storylines", "storyline insert cost at 1k and 100k stored articles", []),
    ("extract", "extraction quality and speed on ../shared/corpus", []),
    ("eval_relevance", "topic matching precision/recall/F1", []),
)


def main() -> int:
    failures = 0
    for name, what, argv in BENCHMARKS:
        print(f"\n=== bench.{name}: {what} ===", flush=True)
        started = time.monotonic()
        try:
            result = importlib.import_module(f"bench.{name}").main(argv)
        except SystemExit as exc:  # argparse and skips exit this way
            result = exc.code
        except Exception as exc:  # one benchmark's failure should not hide the others' figures
            print(f"bench.{name} failed: {exc!r}", file=sys.stderr)
            failures += 1
            continue
        if isinstance(result, int) and result != 0:
            failures += 1
        print(f"--- bench.{name} took {time.monotonic() - started:.0f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
