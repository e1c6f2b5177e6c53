"""Benchmark: storyline assignment cost per stored article at 1k and 100k stored articles.

    python -m bench.storylines                         # SQLite in a temporary folder, 1k then 100k
    python -m bench.storylines --sizes 1000 20000      # smaller run
    python -m bench.storylines --database-url postgresql+psycopg://postgres@127.0.0.1:5432/empty_db

The database is filled with synthetic Chinese articles (random text from a Zipf-weighted
vocabulary with the topic's keywords sprinkled in, and a fixed footer per outlet; nothing
real), each indexed as its own storyline by a bulk loader. Then, at each size, `--probes`
articles go through the real path (`Repository.add_article` then `StorylineIndex.assign`):
half are reprints of a stored article (boilerplate around it, some sentences rewritten,
every third one in traditional script), half are new stories. It prints the time per
insert, how many candidates LSH handed to verification, whether each reprint joined its
original's storyline, and, for comparison, what rebuilding an in-memory datasketch
`MinHashLSH` from the stored signatures would cost at start-up.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import opencc
import sqlalchemy as sa
from datasketch import MinHash, MinHashLSH

from crawler.normalize import content_hash
from crawler.storylines import (
    DEFAULT_PARAMS,
    MINHASH_SCHEME,
    MINHASH_SEED,
    StorylineIndex,
    band_keys,
    fingerprint,
)
from storage.db import create_engine, describe
from storage.migrate import ensure_schema
from storage.models import Article, Storyline, StorylineBand, StorylineSignature
from storage.repository import Repository

BASE_TIME = datetime(2025, 2, 12, tzinfo=UTC)
OUTLETS = 50
_COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定"
    "行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些"
    "然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公"
    "无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将"
    "组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金"
)
_KEYWORDS = ("六小龙", "杭州", "南京", "DeepSeek", "深度求索", "宇树科技", "人工智能", "大模型")
_BOILERPLATE_HEAD = (
    "首页 | 新闻 | 财经 | 科技 | 视频\n当前位置：首页 > 科技 > 正文\n本文转载自{outlet}，版权归原作者所有。\n"
)
_BOILERPLATE_TAIL = (
    "\n责任编辑：{editor}\n相关阅读：\n· {related}\n扫一扫关注我们的公众号\n版权所有 © 2025 {outlet}"
)


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], list[float]]:
    """12,000 made-up words and their cumulative Zipf weights (for `random.choices(cum_weights=...)`)."""
    rng = random.Random(20250212)
    words = [
        "".join(rng.choice(_COMMON) for _ in range(rng.choice((1, 2, 2, 2, 3, 4)))) for _ in range(12_000)
    ]
    return words, list(itertools.accumulate(1 / (rank + 10) for rank in range(len(words))))


def synthetic_article(number: int) -> tuple[str, list[str]]:
    """Title and sentences of synthetic article `number` (the same every time)."""
    words, weights = _vocabulary()
    rng = random.Random(number)
    sentences = []
    for _ in range(rng.randint(30, 55)):
        picked = rng.choices(words, cum_weights=weights, k=rng.randint(6, 14))
        if rng.random() < 0.3:
            picked.insert(rng.randrange(len(picked)), rng.choice(_KEYWORDS))
        sentences.append("".join(picked) + rng.choice("，。。"))
    title = "".join(rng.choices(words, cum_weights=weights, k=6))
    return title, sentences


def reprint(number: int, variant: int) -> tuple[str, str]:
    """A reprint of synthetic article `number`: new headline, boilerplate, a few sentences rewritten."""
    title, sentences = synthetic_article(number)
    rng = random.Random(number * 7919 + variant)
    words, weights = _vocabulary()
    edited = [
        "".join(rng.choices(words, cum_weights=weights, k=8)) + "。" if rng.random() < 0.05 else sentence
        for sentence in sentences
    ]
    body = "".join(edited)
    if variant % 3 == 0:
        body = _s2t().convert(body)
    outlet, editor = f"资讯网{variant}", "".join(rng.choices(words, cum_weights=weights, k=2))
    related = "".join(rng.choices(words, cum_weights=weights, k=7))
    text = (
        _BOILERPLATE_HEAD.format(outlet=outlet)
        + body
        + _BOILERPLATE_TAIL.format(outlet=outlet, editor=editor, related=related)
    )
    return "转载：" + title, text


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2hk")


@dataclass(frozen=True)
class Prepared:
    number: int
    title: str
    text: str
    content_hash: str
    signature: bytes
    shingle_count: int
    band_keys: list[int]


@lru_cache(maxsize=64)
def outlet_footer(outlet: int) -> str:
    """The fixed lines an outlet's extractor leaves under every article (about a tenth of one)."""
    words, weights = _vocabulary()
    rng = random.Random(-outlet)
    return (
        f"\n（来源：资讯网{outlet} 责任编辑：{''.join(rng.choices(words, cum_weights=weights, k=2))}）"
        + "".join(rng.choices(words, cum_weights=weights, k=30))
    )


def prepare(number: int) -> Prepared:
    title, sentences = synthetic_article(number)
    text = "".join(sentences) + outlet_footer(number % OUTLETS)
    print_ = fingerprint(title, text)
    return Prepared(
        number,
        title,
        text,
        content_hash(title, text),
        print_.to_bytes(),
        print_.shingle_count,
        band_keys(print_),
    )


def prepared_range(start: int, stop: int, workers: int) -> Iterator[Prepared]:
    if workers <= 1:
        yield from map(prepare, range(start, stop))
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(prepare, range(start, stop), chunksize=200)


def bulk_fill(engine: sa.Engine, start: int, stop: int, workers: int, ids: dict[int, int]) -> None:
    """Seed articles `start`..`stop` as singleton storylines, straight into the tables.

    Seeding only: this skips matching (the synthetic articles are unrelated by
    construction) so that 100k articles load in a minute or two, not in an hour.
    """
    article, storyline = Article.__table__, Storyline.__table__  # type: ignore[attr-defined]
    signature, band = StorylineSignature.__table__, StorylineBand.__table__  # type: ignore[attr-defined]
    batch: list[Prepared] = []

    def flush() -> None:
        fetched = BASE_TIME + timedelta(days=1)
        with engine.begin() as connection:
            article_ids = (
                connection.execute(
                    article.insert().returning(article.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "url": f"https://seed.example/{p.number}",
                            "source_name": f"outlet-{p.number % OUTLETS}",
                            "title": p.title,
                            "text": p.text,
                            "content_hash": p.content_hash,
                            "fetched_at": fetched,
                            "published_at": BASE_TIME + timedelta(seconds=p.number),
                        }
                        for p in batch
                    ],
                )
                .scalars()
                .all()
            )
            storyline_ids = (
                connection.execute(
                    storyline.insert().returning(storyline.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "first_article_id": aid,
                            "first_source_name": f"outlet-{p.number % OUTLETS}",
                            "first_reported_at": BASE_TIME + timedelta(seconds=p.number),
                            "created_at": fetched,
                            "last_joined_at": fetched,
                            "article_count": 1,
                        }
                        for p, aid in zip(batch, article_ids, strict=True)
                    ],
                )
                .scalars()
                .all()
            )
            connection.execute(
                article.update()
                .where(article.c.id == sa.bindparam("aid"))
                .values(storyline_id=sa.bindparam("sid")),
                [{"aid": aid, "sid": sid} for aid, sid in zip(article_ids, storyline_ids, strict=True)],
            )
            connection.execute(
                signature.insert(),
                [
                    {"article_id": aid, "shingle_count": p.shingle_count, "signature": p.signature}
                    for p, aid in zip(batch, article_ids, strict=True)
                ],
            )
            connection.execute(
                band.insert(),
                [
                    {"band_key": key, "article_id": aid}
                    for p, aid in zip(batch, article_ids, strict=True)
                    for key in p.band_keys
                ],
            )
        for p, aid in zip(batch, article_ids, strict=True):
            ids[p.number] = aid
        batch.clear()

    for prepared in prepared_range(start, stop, workers):
        batch.append(prepared)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()


@dataclass
class ProbeFigures:
    add_ms: list[float]
    assign_ms: list[float]
    fingerprint_ms: list[float]
    candidates: list[int]
    reprints_found: int
    reprints: int
    false_matches: int
    new: int


def probe(
    engine: sa.Engine, index: StorylineIndex, stored: int, count: int, ids: dict[int, int], round_: int
) -> ProbeFigures:
    """Store `count` articles the way the pipeline does: half reprints, half new stories."""
    repository = Repository(engine)
    rng = random.Random(round_)
    originals = rng.sample(range(stored), count // 2)
    figures = ProbeFigures([], [], [], [], 0, 0, 0, 0)
    work: list[tuple[str, str, int | None]] = [
        (*reprint(n, round_ * 1000 + i), n) for i, n in enumerate(originals)
    ]
    for i in range(count - len(originals)):
        title, sentences = synthetic_article(10_000_000 + round_ * 100_000 + i)
        work.append((title, "".join(sentences) + outlet_footer(i % OUTLETS), None))
    rng.shuffle(work)
    for i, (title, text, original) in enumerate(work):
        row = Article(
            url=f"https://probe.example/{round_}/{i}",
            source_name="probe",
            title=title,
            text=text,
            fetched_at=BASE_TIME + timedelta(days=2),
            content_hash=content_hash(title, text),
        )
        started = time.perf_counter()
        article_id = repository.add_article(row, [])
        added = time.perf_counter()
        assert article_id is not None
        assignment = index.assign(article_id, title=title, text=text, content_hash=row.content_hash)
        done = time.perf_counter()
        figures.add_ms.append((added - started) * 1000)
        figures.assign_ms.append((done - added) * 1000)
        started = time.perf_counter()
        print_ = fingerprint(title, text)
        figures.fingerprint_ms.append((time.perf_counter() - started) * 1000)
        with index.store.assignment(article_id) as tx:  # read-only here: the article is already assigned
            figures.candidates.append(
                len(
                    tx.find_candidates(
                        band_keys(print_), DEFAULT_PARAMS.max_candidates, DEFAULT_PARAMS.bucket_cap
                    )
                )
            )
        if original is None:
            figures.new += 1
            figures.false_matches += not assignment.is_new
        else:
            figures.reprints += 1
            figures.reprints_found += assignment.storyline_id == index.store.storyline_of(ids[original])
    return figures


def rebuild_in_memory(engine: sa.Engine) -> tuple[float, float, float]:
    """The alternative design: seconds to read all signatures, seconds to build a MinHashLSH, MiB of RSS."""
    signature = StorylineSignature.__table__  # type: ignore[attr-defined]
    rss_before = _rss_mib()
    started = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(signature.c.article_id, signature.c.signature)).all()
    loaded = time.perf_counter()
    permutations = MinHash(
        num_perm=DEFAULT_PARAMS.num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME
    ).permutations
    lsh = MinHashLSH(num_perm=DEFAULT_PARAMS.num_perm, params=(DEFAULT_PARAMS.bands, DEFAULT_PARAMS.rows))
    with lsh.insertion_session() as session:
        for article_id, data in rows:
            values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
            session.insert(
                article_id,
                MinHash(
                    seed=MINHASH_SEED, hashvalues=values, permutations=permutations, scheme=MINHASH_SCHEME
                ),
                check_duplication=False,
            )
    built = time.perf_counter()
    rss = _rss_mib() - rss_before
    del lsh, rows
    return loaded - started, built - loaded, rss


def _rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _database_size(engine: sa.Engine) -> str:
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return f"{total / 2**20:.0f} MiB (file)"
    with engine.connect() as connection:
        sizes = {
            table: connection.execute(sa.text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar()
            for table in ("article", "storyline", "storyline_signature", "storyline_band")
        }
    return ", ".join(f"{table} {(size or 0) / 2**20:.0f} MiB" for table, size in sizes.items())


def _ms(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):6.2f} ms  mean {statistics.mean(ordered):6.2f} ms  p95 {p95:6.2f} ms"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000, 100_000],
        help="stored-article counts to measure at, ascending (default: 1000 100000)",
    )
    parser.add_argument(
        "--probes", type=int, default=200, help="articles inserted through the real path per size"
    )
    parser.add_argument(
        "--database-url", help="an EMPTY database to use (default: SQLite in a temporary folder)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes computing signatures"
    )
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="do not measure the in-memory alternative"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(args.database_url or f"sqlite:///{folder}/bench.db")
        ensure_schema(engine)
        if Repository(engine).count_articles():
            parser.error("the database is not empty")
        params = DEFAULT_PARAMS
        print(f"storylines benchmark on {describe(engine)}")
        print(
            f"params: {params.shingle_tokens}-token shingles, num_perm={params.num_perm}, "
            f"{params.bands} bands x {params.rows} rows, Jaccard >= {params.jaccard_match} or containment >= "
            f"{params.containment_match}; {args.workers} worker(s) for seeding"
        )
        ids: dict[int, int] = {}
        seeded = 0
        for round_, size in enumerate(sorted(args.sizes)):
            started = time.perf_counter()
            bulk_fill(engine, seeded, size, args.workers, ids)
            seeded = size
            with engine.begin() as connection:
                # A live database has statistics (autovacuum, or SQLite's optimize); a bulk load has none yet.
                connection.exec_driver_sql("ANALYZE")
            fill_s = time.perf_counter() - started
            stored = Repository(engine).count_articles()
            started = time.perf_counter()
            index = StorylineIndex.from_engine(engine)
            startup_ms = (time.perf_counter() - started) * 1000
            figures = probe(engine, index, size, args.probes, ids, round_)
            print(f"\n== {stored:,} articles stored (seeded in {fill_s:.1f} s; {_database_size(engine)})")
            print(f"  StorylineIndex start-up          {startup_ms:8.3f} ms (nothing is loaded)")
            print(f"  add_article                      {_ms(figures.add_ms)}")
            print(f"  assign (signature + transaction) {_ms(figures.assign_ms)}")
            print(f"    of which signature (CPU)       {_ms(figures.fingerprint_ms)}")
            print(
                f"  candidates verified per insert   mean {statistics.mean(figures.candidates):.2f}, "
                f"max {max(figures.candidates)}"
            )
            print(
                f"  reprints in original's storyline {figures.reprints_found}/{figures.reprints}; "
                f"new stories wrongly matched {figures.false_matches}/{figures.new}"
            )
            if not args.skip_rebuild:
                load_s, build_s, rss = rebuild_in_memory(engine)
                print(
                    f"  alternative: in-memory MinHashLSH rebuilt at start: read signatures {load_s:.2f} s, "
                    f"build {build_s:.2f} s, +{rss:.0f} MiB RSS"
                )
        engine.dispose()


if __name__ == "__main__":
    main()
