"""`make bench`: run every benchmark in turn and print its figures.

Each benchmark is also runnable alone (`python -m bench.<name> --help`).
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS: tuple[tuple[str, str, list[str]], ...] = (
    ("scale", "speed and scale: the issue-16 figures as ratios, PASS or SHORT", []),
    ("classify_speed", "topic matching throughput", []),
    # 100k takes about 25 minutes to seed on 2 cores: `python -m bench.storylines` for the full run.
    ("storylines", "storyline insert cost at 1k and 10k stored articles", ["--sizes", "1000", "10000", "--skip-rebuild"]),
    ("extract", "extraction quality and speed on ../shared/corpus", ["--no-ablation"]),
    ("eval_relevance", "topic matching precision/recall/F1", []),
    ("web", "web console: coverage list and search over 100k articles, over HTTP", []),
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
    if failures:
        print(f"\n{failures} benchmark(s) could not finish (see above)")
    return 0  # a measurement, not a test: SHORT figures and broken benchmarks are reported, not failed


if __name__ == "__main__":
    sys.exit(main())
