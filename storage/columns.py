"""Column types shared by the tables (`storage.models`) and by queries that run without the ORM.

Every timestamp is stored in UTC and comes back timezone-aware, whichever backend is
in use. This lives apart from the models so that a Core query (`storage.timetable`,
what `mediawatch status` reads) gets the same timestamps without importing SQLModel.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

# The largest id a row can have: SQLite's INTEGER and PostgreSQL's BIGINT are 64-bit signed.
# A bigger number names no row, and binding it fails (OverflowError on SQLite, a
# NumericValueOutOfRange on PostgreSQL), so callers check against this before querying.
MAX_ID = 2**63 - 1


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A DateTime that refuses naive values and always returns aware UTC ones.

    SQLite has no time zones: without this, an aware datetime written there comes
    back naive and comparisons with `clock()` raise.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: mediawatch stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
