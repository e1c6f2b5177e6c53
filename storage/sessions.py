"""Web console sessions kept in the database, as Miniflux keeps its own.

The session cookie is signed, and also names a row here: signing out deletes the row,
so a copy of the cookie taken before stops working, and a restart with the same
`MEDIAWATCH_WEB_SECRET_KEY` keeps everyone signed in. The row holds a hash of the
token, never the token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.clock import Clock, utc_now
from storage.models import WebSession

_table = WebSession.__table__  # type: ignore[attr-defined]


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def open(self, user: str, lifetime: timedelta) -> str:
        """A new session for `user`; returns the token its cookie carries. Expired sessions are dropped here."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(sa.delete(_table).where(_table.c.expires_at <= now))
            connection.execute(sa.insert(_table).values(id=_key(token), user=user, created_at=now,
                                                        expires_at=now + lifetime))
        return token

    def user(self, token: str) -> str | None:
        """The user of the live session `token` names, else None (signed out, expired, or never opened)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(_table.c.user).where(_table.c.id == _key(token), _table.c.expires_at > self.clock())
            ).first()
        return None if row is None else str(row.user)

    def close(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(_table).where(_table.c.id == _key(token)))
