"""Extraction quality benchmark: mediawatch's extractor against raw trafilatura on the public corpora.

    python -m bench.extract [--root DIR] [--corpus NAME ...] [--details]

Reads the corpora in ``../shared/corpus`` (relative to the repository; each
is skipped with a message when missing) and prints, per corpus:

1. body text with the Article Extraction Benchmark's metric (F1, precision,
   recall, accuracy; ``bench.aeb_metric``), for mediawatch, raw trafilatura
   (page bytes in, default options) and trafilatura given the text decoded by
   ``crawler.extract.decode``; the published AEB figures beside ours;
2. our character-level variant of that metric on Chinese pages (each Han
   character one token), per corpus and pooled over all Chinese pages;
3. trafilatura's own "with"/"without" segment metric where a corpus has those;
4. pages per second of mediawatch and raw trafilatura, timed page by page in
   the same run, interleaved so both see the same machine load;
5. title, publication day (publisher's time zone) and author accuracy on every
   page whose annotation has them (``bench.meta_metric``);
6. our own Chinese pages (``bench/data/extraction-zh``), always measured since
   they live in the repository, per frozen split (dev for tuning, test for the
   README) with both metrics, against raw trafilatura and readability-lxml (on
   our decoded text) in the same run, and how many outputs hold U+FFFD.
   Ablations and ``--details`` read the dev split only.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trafilatura

from bench.aeb_metric import (
    PageScore,
    Scores,
    aeb_tokens,
    bootstrap_f1_std,
    han_tokens,
    score_page,
    summarise,
)
from bench.corpora import (
    CORPUS_ROOT,
    EXTRACTION_ZH,
    Corpus,
    Page,
    html_to_text,
    load_aeb_reference_outputs,
    load_all,
    load_extraction_zh,
)
from bench.meta_metric import author_matches, date_matches, segment_counts, title_matches
from crawler.extract.article import extract_article, extract_with_overrides
from crawler.extract.bodytext import BodyOptions
from crawler.extract.decode import decode_page
from storage.errors import MediawatchError

# Published AEB results (README of the benchmark, and rs_trafilatura's): F1, P, R, accuracy.
PUBLISHED_AEB: tuple[tuple[str, float, float | None, float | None, float | None], ...] = (
    ("Zyte AutoExtract (2019)", 0.970, 0.984, 0.956, 0.470),
    ("rs_trafilatura", 0.970, None, None, None),
    ("trafilatura 2.0.0", 0.958, 0.938, 0.978, 0.293),
    ("newspaper4k 0.9.3.1", 0.949, 0.964, 0.934, 0.326),
    ("readability-lxml 0.8.4.1", 0.922, 0.913, 0.931, 0.315),
)
OURS = "mediawatch"
RAW = "trafilatura (bytes, defaults)"
DECODED = "trafilatura (our decoding)"
READABILITY = "readability-lxml (our decoding)"


@dataclass
class Output:
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Run:
    """Every extractor's output on every page of one corpus."""

    corpus: Corpus
    outputs: dict[str, list[Output]] = field(default_factory=dict)


def run_ours(page: Page) -> Output:
    started = time.perf_counter()
    try:
        article = extract_article(page.body, page.url, page.content_type, local_tz=page.tz)
    except MediawatchError as exc:
        return Output(seconds=time.perf_counter() - started, error=str(exc))
    elapsed = time.perf_counter() - started
    return Output(article.text, article.title, article.author, article.published, elapsed)


def ours_with(options: BodyOptions) -> Callable[[Page], Output]:
    """mediawatch with some steps of the text extraction turned off."""

    def run(page: Page) -> Output:
        started = time.perf_counter()
        try:
            article = extract_with_overrides(
                page.body, page.url, page.content_type, local_tz=page.tz, body_options=options
            ).article
        except MediawatchError as exc:
            return Output(seconds=time.perf_counter() - started, error=str(exc))
        return Output(article.text, seconds=time.perf_counter() - started)

    return run


# Each row turns one step off (crawler.extract.bodytext explains the steps).
ABLATIONS: tuple[tuple[str, BodyOptions], ...] = (
    ("as shipped", BodyOptions()),
    ("precision mode only, no second opinion", BodyOptions(second_opinion_below=0)),
    ("both trafilatura modes on every page", BodyOptions(second_opinion_below=10**9)),
    ("trafilatura default mode only", BodyOptions(precise=False)),
    ("no density fallback", BodyOptions(density_fallback=False)),
    ("no split-body joining", BodyOptions(join_chunks=False)),
    ("no boilerplate line rules", BodyOptions(clean=False)),
    ("no comment/post/link-list rules", BodyOptions(sections=False)),
)


def print_ablations(corpora: Sequence[Corpus]) -> None:
    """Body F1 and time per page with one step of the text extraction turned off at a time."""
    pages = [
        page
        for corpus in corpora
        for page in corpus.pages
        if page.text is not None and page.split != "test"  # a frozen test split is never tuned on
    ]
    if not pages:
        return
    print("\n== Ablations: mediawatch with one step turned off (body text only; no test-split page) ==")
    print(f"  {'variant':<40} {'AEB F1':>7} {'zh char F1':>10} {'other F1':>8} {'ms/page':>8}")
    for label, options in ABLATIONS:
        run = ours_with(options)
        outputs = [run(page) for page in pages]
        groups: dict[str, list[PageScore]] = {"AEB": [], "zh": [], "other": []}
        for page, output in zip(pages, outputs, strict=True):
            if page.corpus == "AEB":
                groups["AEB"].append(score_page(page.text or "", output.text))
            elif page.is_chinese:
                groups["zh"].append(score_page(page.text or "", output.text, han_tokens))
            else:
                groups["other"].append(score_page(page.text or "", output.text))
        f1 = {key: summarise(scores).f1 if scores else None for key, scores in groups.items()}
        ms = 1000 * sum(o.seconds for o in outputs) / len(outputs)
        print(f"  {label:<40} {_fmt(f1['AEB']):>7} {_fmt(f1['zh']):>10} {_fmt(f1['other']):>8} {ms:>8.1f}")


def run_raw_trafilatura(page: Page) -> Output:
    started = time.perf_counter()
    text = trafilatura.extract(page.body) or ""
    return Output(text, seconds=time.perf_counter() - started)


def run_decoded_trafilatura(page: Page) -> Output:
    started = time.perf_counter()
    document = trafilatura.bare_extraction(decode_page(page.body).text, with_metadata=True)
    elapsed = time.perf_counter() - started
    if document is None:
        return Output(seconds=elapsed)
    found = document if isinstance(document, dict) else document.as_dict()
    published = None
    if found.get("date"):
        try:
            published = datetime.fromisoformat(found["date"]).replace(tzinfo=page.tz)
        except ValueError:
            published = None
    return Output(found.get("text") or "", found.get("title"), found.get("author"), published, elapsed)


def run_readability(page: Page) -> Output:
    from readability import Document

    started = time.perf_counter()
    try:
        summary = Document(decode_page(page.body, page.content_type).text).summary(html_partial=True)
    except Exception as exc:  # a third-party extractor's failure is one page's result
        return Output(seconds=time.perf_counter() - started, error=str(exc))
    return Output(html_to_text(summary), seconds=time.perf_counter() - started)


EXTRACTORS: dict[str, Callable[[Page], Output]] = {
    OURS: run_ours,
    RAW: run_raw_trafilatura,
    DECODED: run_decoded_trafilatura,
}


def _readability_installed() -> bool:
    try:
        import readability  # noqa: F401
    except ImportError:
        return False
    return True


def run_corpus(corpus: Corpus, extractors: dict[str, Callable[[Page], Output]]) -> Run:
    run = Run(corpus, {name: [] for name in extractors})
    for page in corpus.pages:
        # Interleaved page by page: a burst of machine load hits every extractor alike.
        for name, extractor in extractors.items():
            run.outputs[name].append(extractor(page))
    return run


# --- scoring -------------------------------------------------------------------------------------


def body_scores(run: Run, name: str, tokenize=aeb_tokens, *, chinese_only: bool = False) -> list[PageScore]:
    return [
        score_page(page.text, output.text, tokenize)
        for page, output in zip(run.corpus.pages, run.outputs[name], strict=True)
        if page.text is not None and (page.is_chinese or not chinese_only)
    ]


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _row(label: str, scores: Scores, extra: str = "") -> str:
    return (
        f"  {label:<34} {_fmt(scores.f1)} {_fmt(scores.precision)} {_fmt(scores.recall)} "
        f"{_fmt(scores.accuracy)} {scores.pages:>5}{extra}"
    )


_HEADER = f"  {'extractor':<34} {'F1':>5} {'prec':>5} {'rec':>5} {'acc':>5} {'pages':>5}"


def print_body_tables(runs: Sequence[Run]) -> None:
    print("\n== Body text, AEB metric (\\w+ tokens, 4-gram shingles) ==")
    for run in runs:
        if _has_split(run.corpus) or not any(page.text is not None for page in run.corpus.pages):
            continue
        print(f"\n{run.corpus.name}: {run.corpus.note}")
        print(_HEADER)
        for name in run.outputs:
            pages = body_scores(run, name)
            extra = f"  ±{bootstrap_f1_std(pages):.3f}" if run.corpus.name == "AEB" else ""
            print(_row(name, summarise(pages), extra))
        if run.corpus.name == "AEB":
            print("  published (AEB README; same metric):")
            for label, f1, p, r, acc in PUBLISHED_AEB:
                print(f"  {'  ' + label:<34} {_fmt(f1)} {_fmt(p)} {_fmt(r)} {_fmt(acc)}   181")


def print_reference_check(root: Path) -> None:
    """Rescore the published output files kept in the corpus: the metric must give the published figures."""
    path = root / "article-extraction-benchmark"
    if not path.is_dir():
        return
    from bench.corpora import load_aeb

    corpus = load_aeb(path)
    print("\n  metric check, published output files rescored here (expect the published figures):")
    for name, predicted in load_aeb_reference_outputs(path).items():
        scores = summarise([score_page(p.text or "", predicted.get(p.name, "")) for p in corpus.pages])
        print(_row("  " + name, scores))


def print_chinese_tables(runs: Sequence[Run]) -> None:
    print(
        "\n== Chinese pages, character-level variant (ours: each Han character one token, 4-gram shingles) =="
    )
    print(_HEADER)
    pooled: dict[str, list[PageScore]] = {}
    for run in runs:
        if _has_split(run.corpus) or not any(page.is_chinese and page.text is not None for page in run.corpus.pages):
            continue
        for name in run.outputs:
            pages = body_scores(run, name, han_tokens, chinese_only=True)
            pooled.setdefault(name, []).extend(pages)
            print(_row(f"{run.corpus.name}: {name}", summarise(pages)))
    for name, pages in pooled.items():
        print(_row(f"ALL CHINESE: {name}", summarise(pages)))


def _has_split(corpus: Corpus) -> bool:
    return any(page.split for page in corpus.pages)


def print_split_tables(runs: Sequence[Run]) -> None:
    """Our Chinese pages per frozen split: AEB token metric, character variant, pages with U+FFFD."""
    for run in runs:
        if not _has_split(run.corpus):
            continue
        print(f"\n== {run.corpus.name}: {run.corpus.note} ==")
        print(
            f"  {'split':<6} {'extractor':<34} {'tokF1':>5} {'charF1':>6} {'cP':>5} {'cR':>5} {'pages':>5} {'U+FFFD':>6}"
        )
        groups = [(split, "all", split) for split in ("dev", "test")]
        if any(page.batch for page in run.corpus.pages):
            groups += [("test", batch or "a", f"test {batch or 'a'}") for batch in sorted({p.batch or "" for p in run.corpus.pages})]
        for split, batch, label in groups:
            for name, outputs in run.outputs.items():
                pairs = [
                    (page, output)
                    for page, output in zip(run.corpus.pages, outputs, strict=True)
                    if page.split == split and page.text is not None and batch in ("all", page.batch or "a")
                ]
                token = summarise([score_page(page.text or "", out.text) for page, out in pairs])
                char = summarise([score_page(page.text or "", out.text, han_tokens) for page, out in pairs])
                broken = sum("\ufffd" in out.text for _, out in pairs)
                print(
                    f"  {label:<6} {name:<34} {_fmt(token.f1)} {_fmt(char.f1):>6} {_fmt(char.precision)} "
                    f"{_fmt(char.recall)} {len(pairs):>5} {broken:>6}"
                )


def print_segment_tables(runs: Sequence[Run]) -> None:
    runs = [run for run in runs if any(page.with_segments for page in run.corpus.pages)]
    if not runs:
        return
    print("\n== trafilatura's segment metric ('with' found = TP, 'without' found = FP; micro) ==")
    print(f"  {'extractor':<34} {'F1':>5} {'prec':>5} {'rec':>5} {'acc':>5} {'pages':>5}")
    for run in runs:
        for name, outputs in run.outputs.items():
            tp = fn = fp = tn = 0
            for page, output in zip(run.corpus.pages, outputs, strict=True):
                a, b, c, d = segment_counts(output.text, page.with_segments, page.without_segments)
                tp, fn, fp, tn = tp + a, fn + b, fp + c, tn + d
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            accuracy = (tp + tn) / (tp + fn + fp + tn) if tp + fn + fp + tn else 0.0
            scores = Scores(f1, precision, recall, accuracy, len(outputs))
            print(_row(f"{run.corpus.name}: {name}", scores))


def print_speed(runs: Sequence[Run]) -> None:
    print("\n== Speed (pages per second, one process, timed page by page in this run) ==")
    print(f"  {'corpus':<16} {'pages':>5} {OURS:>12} {'raw trafilatura':>16} {'ratio':>6}")
    totals = {OURS: 0.0, RAW: 0.0}
    count = 0
    for run in runs:
        n = len(run.corpus.pages)
        count += n
        seconds = {name: sum(o.seconds for o in run.outputs[name]) for name in totals}
        for name in totals:
            totals[name] += seconds[name]
        print(
            f"  {run.corpus.name:<16} {n:>5} {n / seconds[OURS]:>12.1f} {n / seconds[RAW]:>16.1f} "
            f"{seconds[RAW] / seconds[OURS]:>6.2f}"
        )
    print(
        f"  {'all':<16} {count:>5} {count / totals[OURS]:>12.1f} {count / totals[RAW]:>16.1f} "
        f"{totals[RAW] / totals[OURS]:>6.2f}   (target: ratio ≥ 0.50)"
    )


def print_metadata(runs: Sequence[Run], names: Sequence[str], details: bool) -> None:
    if not any(p.title or p.author or p.published for run in runs for p in run.corpus.pages):
        return
    print("\n== Metadata accuracy (pages whose annotation has the field) ==")
    print(f"  {'corpus':<16} {'extractor':<30} {'title':>11} {'date (day)':>11} {'author':>11}")
    totals: dict[str, dict[str, list[int]]] = {}
    misses: list[str] = []
    for run in runs:
        pages = run.corpus.pages
        if not any(p.title or p.author or p.published for p in pages):
            continue
        for name in names:
            counts = {"title": [0, 0], "date": [0, 0], "author": [0, 0], "zh-date": [0, 0]}
            for page, output in zip(pages, run.outputs[name], strict=True):
                checks: list[tuple[str, bool, Any, Any]] = []
                if page.title:
                    checks.append(
                        ("title", title_matches(output.title, page.title), output.title, page.title)
                    )
                if page.published:
                    ok = date_matches(output.published, page.published, page.tz)
                    shown = output.published.astimezone(page.tz).date() if output.published else None
                    checks.append(("date", ok, shown, page.published))
                    if page.is_chinese:
                        counts["zh-date"][0] += ok
                        counts["zh-date"][1] += 1
                if page.author:
                    checks.append(
                        ("author", author_matches(output.author, page.author), output.author, page.author)
                    )
                for key, ok, got, want in checks:
                    counts[key][0] += ok
                    counts[key][1] += 1
                    if not ok and name == OURS:
                        misses.append(
                            f"  {run.corpus.name}/{page.name} {key}: got {got!r}, annotated {str(want)!r}"
                        )
            total = totals.setdefault(name, {k: [0, 0] for k in counts})
            for key, (good, all_) in counts.items():
                total[key][0] += good
                total[key][1] += all_
            print(
                f"  {run.corpus.name:<16} {name:<30} "
                + " ".join(_ratio(counts[k]) for k in ("title", "date", "author"))
            )
    for name, total in totals.items():
        print(f"  {'ALL':<16} {name:<30} " + " ".join(_ratio(total[k]) for k in ("title", "date", "author")))
    for name, total in totals.items():
        print(f"  Chinese pages, date to the day, {name}: {_ratio(total['zh-date']).strip()}")
    excluded = [
        f"  {run.corpus.name}/{p.name}: {why}" for run in runs for p in run.corpus.pages for why in p.excluded
    ]
    if excluded:
        print("  annotations not scored (wrong in the corpus itself):")
        print("\n".join(excluded))
    if details and misses:
        print("  mediawatch metadata misses:")
        print("\n".join(misses))


def _ratio(pair: list[int]) -> str:
    good, total = pair
    return f"{'-':>11}" if not total else f"{good:>3}/{total:<3}{good / total:>4.0%}"


def print_body_details(runs: Sequence[Run]) -> None:
    print("\n== mediawatch, pages below F1 0.9 (AEB metric; character-level for Chinese) ==")
    for run in runs:
        for page, output in zip(run.corpus.pages, run.outputs[OURS], strict=True):
            if page.text is None or page.split == "test":
                continue
            score = score_page(page.text, output.text, han_tokens if page.is_chinese else aeb_tokens)
            p, r = score.precision or 0.0, score.recall or 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            if f1 < 0.9:
                print(
                    f"  {run.corpus.name}/{page.name}: F1 {f1:.3f} P {p:.3f} R {r:.3f} {output.error or ''}"
                )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=CORPUS_ROOT, help="the corpus folder (default: ../shared/corpus)"
    )
    parser.add_argument("--corpus", action="append", help="only this corpus (AEB, GNE, ...); repeatable")
    parser.add_argument(
        "--details", action="store_true", help="list the pages and fields mediawatch gets wrong"
    )
    parser.add_argument("--no-ablation", action="store_true", help="skip the ablation table (saves a minute)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    corpora, missing = load_all(args.root)
    for message in missing:
        print(message)
    if EXTRACTION_ZH.is_dir():
        corpora.insert(0, load_extraction_zh(EXTRACTION_ZH))
    if args.corpus:
        wanted = {name.lower() for name in args.corpus}
        corpora = [c for c in corpora if c.name.lower() in wanted]
    if not corpora:
        print(f"no corpus to measure under {args.root}")
        return 0
    # Load trafilatura's and OpenCC's lazy tables before any page is timed.
    for extractor in EXTRACTORS.values():
        extractor(corpora[0].pages[0])
    runs = [run_corpus(corpus, EXTRACTORS) for corpus in corpora]
    if _readability_installed():
        # Only on our Chinese pages: readability-lxml's AEB figure is published above.
        for run in runs:
            if _has_split(run.corpus):
                run.outputs[READABILITY] = [run_readability(page) for page in run.corpus.pages]
    else:
        print("readability-lxml not installed: its column is left out")

    print_body_tables(runs)
    if any(run.corpus.name == "AEB" for run in runs):
        print_reference_check(args.root)
    print_split_tables(runs)
    print_chinese_tables(runs)
    print_segment_tables(runs)
    print_speed(runs)
    print_metadata(runs, (OURS, DECODED), args.details)
    if not args.no_ablation:
        print_ablations(corpora)
    if args.details:
        print_body_details(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
