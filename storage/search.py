"""The full-text search index over titles and bodies, on SQLite and PostgreSQL.

Storage does not segment text: an `Analyzer` handed in by the composition root turns
a title and body into index terms (normalised, traditional folded to simplified,
jieba-segmented words and Latin words) and a query into the terms it must contain.
The same analyzer builds both sides, so 六小龍 in a query finds 六小龙 in a body.

- SQLite: an FTS5 table `article_fts` whose rowid is the article id and whose one
  column holds the terms separated by spaces (the unicode61 tokenizer then splits on
  exactly those spaces: a Han run is one token to it).
- PostgreSQL: a table `article_search (article_id, terms text[])` with a GIN index; a
  query is array containment (`terms @> ARRAY[...]`). No text-search parser is
  involved, so the result does not depend on the server's locale.

Both tables are created by migration 0003 with SQL of their own (they are not
SQLModel tables), and `SEARCH_TABLE_PREFIXES` keeps Alembic's autogenerate from
proposing to drop them. Articles stored by a process without an analyzer, or before
the index existed, are indexed later by `backfill`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

# Tables (and FTS5 shadow tables) that belong to the search index, not to the models.
SEARCH_TABLE_PREFIXES = ("article_fts", "article_search")
# A query is answered from at most this many terms: a pasted paragraph should not build a huge statement.
MAX_QUERY_TERMS = 16

_fts = sa.table("article_fts", sa.column("rowid", sa.Integer), sa.column("terms", sa.Text))


@cache
def _pg() -> sa.TableClause:
    """PostgreSQL's index table, built on first use: importing the dialect is about 0.1 s of a SQLite process's start-up."""
    from sqlalchemy.dialects import postgresql

    return sa.table("article_search", sa.column("article_id", sa.Integer), sa.column("terms", postgresql.ARRAY(sa.Text)))


_article = sa.table("article", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("text", sa.Text))


def include_in_autogenerate(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's `include_object`: leave the search index's tables (made by hand-written SQL) alone."""
    return not (type_ == "table" and reflected and (name or "").startswith(SEARCH_TABLE_PREFIXES))


class Analyzer(Protocol):
    """Turns text into search terms; the same rules on both sides of a search."""

    def index_terms(self, text: str) -> list[str]:
        """Every term a document should be found by."""
        ...

    def query_terms(self, text: str) -> list[str]:
        """The terms a document must contain to match the query."""
        ...


def document_text(title: str, text: str) -> str:
    return f"{title}\n{text}"


def unique_terms(terms: Sequence[str]) -> list[str]:
    """Distinct, non-empty terms in first-seen order (the index needs no counts: results are by date)."""
    return [t for t in dict.fromkeys(terms) if t and not t.isspace()]


# The statements `write_terms` runs for every stored article, built once with placeholders:
# building them anew for each article cost more of the writer thread's CPU than running them.
_fts_delete = sa.delete(_fts).where(_fts.c.rowid == sa.bindparam("article_id"))
_fts_insert = sa.insert(_fts)


@cache
def _pg_upsert() -> Any:
    from sqlalchemy.dialects import postgresql

    insert = postgresql.insert(_pg())
    return insert.on_conflict_do_update(index_elements=["article_id"], set_={"terms": insert.excluded.terms})


def write_terms(connection: sa.Connection, article_id: int, terms: Sequence[str]) -> None:
    """Replace the article's index entry, inside the caller's transaction."""
    wanted = unique_terms(terms)
    if connection.dialect.name == "sqlite":
        connection.execute(_fts_delete, {"article_id": article_id})
        connection.execute(_fts_insert, {"rowid": article_id, "terms": " ".join(wanted)})
    elif connection.dialect.name == "postgresql":
        connection.execute(_pg_upsert(), {"article_id": article_id, "terms": wanted})
    else:  # pragma: no cover - only the two supported backends exist
        raise NotImplementedError(f"no search index for {connection.dialect.name}")


# A word after one of these (at its start) is left out of the results: the ASCII hyphen-minus,
# and the full-width minus a Chinese keyboard types. A minus inside or after a word is its own.
EXCLUDE_MARKS = "-－"


@dataclass(frozen=True)
class SearchQuery:
    """What a typed query asks for: the terms an article must contain, and the words it must not."""

    terms: tuple[str, ...]
    # Each entry is one excluded word's terms: an article containing all of them is left out
    # (a Chinese word may segment into several terms, as it does in the index).
    excluded: tuple[tuple[str, ...], ...] = ()

    @property
    def has_no_word(self) -> bool:
        """Nothing to search for: blank, only punctuation, or a minus with no word after it."""
        return not self.terms and not self.excluded


def parse_query(analyzer: Analyzer, text: str) -> SearchQuery:
    """Split a query into the words wanted and the words after a minus, each through the analyzer.

    Exclusion is cheap here: an excluded word is the same index lookup as a wanted one
    (`matching_ids`), negated.
    """
    wanted, unwanted = [], []
    for word in text.split():
        if len(word) > 1 and word[0] in EXCLUDE_MARKS:
            unwanted.append(word[1:])
        else:
            wanted.append(word)
    terms = analyzer.query_terms(" ".join(wanted)) if wanted else []
    excluded = (tuple(unique_terms(analyzer.query_terms(word))[:MAX_QUERY_TERMS]) for word in unwanted)
    return SearchQuery(tuple(unique_terms(terms)), tuple(dict.fromkeys(group for group in excluded if group)))


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 query requiring every term; each is quoted, so no term is read as an operator."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def join_matches(query: Any, article_id: Any, dialect: str, terms: Sequence[str]) -> tuple[Any, Any]:
    """`query` narrowed to articles containing every term, and the column to order it by (newest stored first).

    Joined rather than `id IN (subquery)`: SQLite then walks the FTS5 index in rowid
    order from the newest and stops at the page's end, instead of collecting every
    match (half the corpus for a common word) and sorting it.
    """
    wanted = unique_terms(terms)[:MAX_QUERY_TERMS]
    if not wanted:
        raise ValueError("a search needs at least one term")
    if dialect == "sqlite":
        joined = query.join(_fts, _fts.c.rowid == article_id).where(
            sa.literal_column("article_fts").op("MATCH")(fts5_query(wanted))
        )
        return joined, _fts.c.rowid
    if dialect == "postgresql":
        pg = _pg()
        return query.join(pg, pg.c.article_id == article_id).where(pg.c.terms.contains(wanted)), article_id
    raise NotImplementedError(f"no search index for {dialect}")  # pragma: no cover


def matching_ids(dialect: str, terms: Sequence[str]) -> sa.Select:
    """A subquery of the ids of articles containing every one of `terms` (give at least one)."""
    wanted = unique_terms(terms)[:MAX_QUERY_TERMS]
    if not wanted:
        raise ValueError("a search needs at least one term")
    if dialect == "sqlite":
        return sa.select(_fts.c.rowid).where(sa.literal_column("article_fts").op("MATCH")(fts5_query(wanted)))
    if dialect == "postgresql":
        pg = _pg()
        return sa.select(pg.c.article_id).where(pg.c.terms.contains(wanted))
    raise NotImplementedError(f"no search index for {dialect}")  # pragma: no cover


class SearchIndex:
    """Keeps the index in step with the articles table."""

    def __init__(self, engine: Engine, analyzer: Analyzer) -> None:
        self.engine = engine
        self.analyzer = analyzer

    def _unindexed(self, connection: sa.Connection, after: int, limit: int) -> list[sa.Row]:
        if connection.dialect.name == "sqlite":
            indexed = sa.select(_fts.c.rowid)
        else:
            indexed = sa.select(_pg().c.article_id)
        return list(connection.execute(
            sa.select(_article.c.id, _article.c.title, _article.c.text)
            .where(_article.c.id > after, _article.c.id.not_in(indexed))
            .order_by(_article.c.id)
            .limit(limit)
        ).all())

    def backfill(self, batch: int = 200, limit: int | None = None) -> int:
        """Index every article that has no entry yet, in short transactions; returns how many."""
        done, after = 0, 0
        while limit is None or done < limit:
            with self.engine.connect() as connection:
                rows = self._unindexed(connection, after, batch if limit is None else min(batch, limit - done))
            if not rows:
                break
            # Segment outside the write transaction: on SQLite it holds the database's write lock.
            entries = [(row.id, self.analyzer.index_terms(document_text(row.title, row.text))) for row in rows]
            with self.engine.begin() as connection:
                for article_id, terms in entries:
                    write_terms(connection, article_id, terms)
            done, after = done + len(rows), rows[-1].id
        if done:
            logger.info("search index: indexed %d article(s)", done)
        return done

    def reindex(self, article_id: int) -> None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(_article.c.title, _article.c.text).where(_article.c.id == article_id)
            ).first()
        if row is None:
            return
        terms = self.analyzer.index_terms(document_text(row.title, row.text))
        with self.engine.begin() as connection:
            write_terms(connection, article_id, terms)
