"""CPU per article of the crawl's storing step (`crawler.writer.write_batch`), on SQLite.

The inputs are what page workers hand the writer (matches, search terms and storyline
fingerprints computed in advance, as in a crawl), built from the shared corpus's
headlines and summaries before the clock starts; batches of 50, as `[crawler]
store_batch` defaults to. Run it with the code before and after a change, in turn: the
machine's speed moves between runs more than a change of a few per cent.

    python -m bench.writer [--articles 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.scale import CORPUS_ROOT, corpus_snippets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.writer", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args(argv)
    if not CORPUS_ROOT.is_dir():
        print(f"skipped: no corpus at {CORPUS_ROOT}")
        return 0
    from crawler.normalize import content_hash
    from crawler.search_terms import SearchAnalyzer
    from crawler.storylines import StorylineIndex, fingerprint
    from crawler.writer import PendingArticle, write_batch
    from storage.db import create_engine
    from storage.migrate import ensure_schema
    from storage.models import Article
    from storage.repository import Repository
    from storage.search import document_text
    from storage.types import TopicMatch

    snippets = corpus_snippets()
    analyzer = SearchAnalyzer()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/writer.db")
        ensure_schema(engine)
        repository = Repository(engine, analyzer=analyzer)
        index = StorylineIndex.from_engine(engine)
        items = []
        for n in range(args.articles):
            title, summary = snippets[n % len(snippets)]
            title, text = f"[{n}] {title}", (summary + " ") * 8
            row = Article(url=f"http://127.0.0.2/a/{n}.html", source_name="bench", title=title, text=text,
                          fetched_at=datetime.now(UTC), content_hash=content_hash(title, text), outlet="127.0.0.2")
            items.append(PendingArticle(
                row, [TopicMatch("t", 0.1, False, ("x",))], fingerprint=fingerprint(title, text, index.params),
                search_terms=tuple(analyzer.index_terms(document_text(title, text))), clear_urls=(row.url,),
            ))
        started = time.process_time()
        for first in range(0, len(items), 50):
            write_batch(repository, index, items[first : first + 50])
        cpu = time.process_time() - started
        engine.dispose()
    print(f"write_batch: {1000 * cpu / len(items):.2f} ms of CPU an article ({len(items)} articles, batches of 50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
