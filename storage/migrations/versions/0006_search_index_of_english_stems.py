"""search index of English stems

The search index now holds the Snowball English stem of each Latin word
(`crawler.search_terms`), and a query is stemmed the same way. Entries written
before hold whole words, which a stemmed query would miss ("dragons" is indexed,
"dragon" asked), so they are dropped here and `SearchIndex.backfill` writes them
again: the web console runs it when it starts, `mediawatch articles -q` and
`export` before they search. No schema change.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

from alembic import op


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM article_fts" if op.get_bind().dialect.name == "sqlite" else "DELETE FROM article_search")


def downgrade() -> None:
    # The older analyzer's backfill rewrites the entries after a downgrade in the same way.
    op.execute("DELETE FROM article_fts" if op.get_bind().dialect.name == "sqlite" else "DELETE FROM article_search")
