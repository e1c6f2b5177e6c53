"""Web console sessions in the database: a token opens one, signing out or its age ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from storage.models import WebSession
from storage.sessions import SessionStore


def test_a_session_lives_until_it_is_closed_or_expires(engine: sa.Engine) -> None:
    now = [datetime(2025, 2, 12, 8, tzinfo=UTC)]
    store = SessionStore(engine, clock=lambda: now[0])
    first = store.open("admin", timedelta(hours=12))
    second = store.open("admin", timedelta(hours=1))
    assert first != second and store.user(first) == "admin" and store.user(second) == "admin"
    assert store.user("forged") is None and store.user("") is None

    store.close(first)
    assert store.user(first) is None and store.user(second) == "admin"

    now[0] += timedelta(hours=1)
    assert store.user(second) is None  # expired
    store.open("admin", timedelta(hours=12))  # and removed at the next sign-in
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(WebSession.__table__)).scalar() == 1
        stored_ids = connection.execute(sa.select(WebSession.__table__.c.id)).scalars().all()
    assert all(token not in stored_ids for token in (first, second))  # the table holds hashes, not tokens
