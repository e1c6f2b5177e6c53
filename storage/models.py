"""SQLModel tables: the shared vocabulary of mediawatch.

Every timestamp is stored in UTC and comes back timezone-aware (see
`storage.columns.UTCDateTime`, imported here too because the migrations name it
`storage.models.UTCDateTime`), whichever backend is in use. Queries live in `storage/` only (`repository`, `ledger`, `storylines`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Source(SQLModel, table=True):
    """Runtime state of a configured source; the configuration stays the source of truth."""

    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    consecutive_failures: int = 0
    healthy: bool = True
    unhealthy_reason: str | None = None
    last_run_at: datetime | None = _ts(default=None)
    last_success_at: datetime | None = _ts(default=None)
    last_new_at: datetime | None = _ts(default=None)
    next_run_at: datetime | None = _ts(default=None)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = _ts(default=None)


class Article(SQLModel, table=True):
    """One article, stored once per canonical URL."""

    __tablename__ = "article"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, index=True)
    source_name: str = Field(index=True)
    title: str
    author: str | None = None
    published_at: datetime | None = _ts(default=None, index=True)
    fetched_at: datetime = _ts(index=True)
    language: str | None = Field(default=None, index=True)  # indexed: the console lists the languages stored
    encoding: str | None = None
    text: str = Field(sa_type=sa.Text)
    content_hash: str = Field(index=True)
    storyline_id: int | None = Field(default=None, index=True)
    removed_at: datetime | None = _ts(default=None, index=True)  # when a recheck found it gone (404/410/front page)
    edited_at: datetime | None = _ts(default=None, index=True)  # when a recheck last found a substantive change
    last_checked_at: datetime | None = _ts(default=None)
    etag: str | None = None  # validators for the recheck's conditional GET
    last_modified: str | None = None
    # How it was found: "listed" (a configured source), "search", "rsshub" or "cited" (a link in another article).
    discovered_via: str = Field(default="listed", index=True)
    outlet: str | None = Field(default=None, index=True)  # the publisher's host, without "www."
    new_outlet: bool = False  # the first article from an outlet that no source lists and none stored before
    cited_by_id: int | None = Field(default=None, foreign_key="article.id")  # the article whose link led here
    feed_title: str | None = None  # what the feed, listing or sitemap called it (kept beside the page's headline)
    title_source: str | None = None  # "page" | "feed": where `title` came from, so a recheck compares like with like
    date_source: str | None = None  # "page" | "feed" | "feed-day" | "sitemap" | "sitemap-day" | "fetched" (a date in the future): where `published_at` came from
    # No article text could be extracted (paywall, video, gallery, script-rendered page):
    # stored from the feed's title and summary, and tried again on the recheck schedule.
    text_missing: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ArticleTopic(SQLModel, table=True):
    """Why an article matched (or did not match) one topic."""

    __tablename__ = "article_topic"
    __table_args__ = (sa.UniqueConstraint("article_id", "topic", name="uq_article_topic"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    topic: str = Field(index=True)
    score: float
    relevant: bool
    matched: str = Field(default="[]", sa_type=sa.Text)  # JSON list of matched terms


class CrawlRun(SQLModel, table=True):
    """One crawl of one source: when, how it ended, and what it found."""

    __tablename__ = "crawl_run"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(index=True)
    trigger: str  # "manual" | "scheduled" | "demo"
    started_at: datetime = _ts(index=True)
    finished_at: datetime | None = _ts(default=None)
    status: str = "running"  # running | ok | partial | not_modified | failed | interrupted | skipped
    found: int = 0
    new: int = 0
    duplicate: int = 0
    failed: int = 0
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    refused: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # links not followed (not http(s), policy)


class Digest(SQLModel, table=True):
    """One digest of one topic, from building to delivery."""

    __tablename__ = "digest"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(index=True)
    created_at: datetime = _ts()
    period_start: datetime | None = _ts(default=None)
    period_end: datetime = _ts()
    status: str = "pending"  # pending | sent | failed | empty
    sent_at: datetime | None = _ts(default=None)
    article_count: int = 0
    message_id: str | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)


class DigestItem(SQLModel, table=True):
    """The digest ledger: each article enters at most one digest per topic."""

    __tablename__ = "digest_item"
    __table_args__ = (sa.UniqueConstraint("topic", "article_id", name="uq_digest_item_topic_article"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    topic: str
    article_id: int = Field(foreign_key="article.id", index=True)


class DigestDelivery(SQLModel, table=True):
    """One channel's delivery of one digest ("email", or a named Apprise channel).

    A row is created before the first attempt and updated right after the channel
    answers: `sent` when the server accepted it, `failed` when it refused, `unconfirmed`
    when the connection was lost after the message went out (it may have arrived).
    `payload` keeps exactly what was sent, so a later retry repeats it byte for byte
    (for email: the same Message-ID).
    """

    __tablename__ = "digest_delivery"
    __table_args__ = (sa.UniqueConstraint("digest_id", "channel", name="uq_digest_delivery_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    topic: str = Field(index=True)
    channel: str
    status: str = "pending"  # pending | sent | failed | unconfirmed
    attempts: int = 0
    payload: str = Field(default="", sa_type=sa.Text)
    sent_at: datetime | None = _ts(default=None)
    error: str | None = Field(default=None, sa_type=sa.Text)


class ArticleVersion(SQLModel, table=True):
    """An earlier version of an article, kept when a recheck finds it substantively edited."""

    __tablename__ = "article_version"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    captured_at: datetime = _ts()  # when this version was replaced
    title: str
    text: str = Field(sa_type=sa.Text)
    content_hash: str


class JobState(SQLModel, table=True):
    """When a scheduled job last ran and is next due, so a restart resumes the timetable."""

    __tablename__ = "job_state"

    job_id: str = Field(primary_key=True)
    last_run_at: datetime | None = _ts(default=None)
    next_run_at: datetime | None = _ts(default=None)
    last_status: str | None = None


class DaemonState(SQLModel, table=True):
    """The running daemon's heartbeat (one row per daemon name)."""

    __tablename__ = "daemon_state"

    name: str = Field(primary_key=True)
    pid: int
    host: str
    started_at: datetime = _ts()
    heartbeat_at: datetime = _ts()


class Storyline(SQLModel, table=True):
    """One story across outlets: the articles whose `storyline_id` is this id.

    `first_*` describe the member reported first (earliest `published_at`, else
    `fetched_at`; the earlier stored on a tie), kept up to date as members join.
    """

    __tablename__ = "storyline"

    id: int | None = Field(default=None, primary_key=True)
    first_article_id: int = Field(foreign_key="article.id")
    first_source_name: str
    first_reported_at: datetime = _ts()
    created_at: datetime = _ts()
    last_joined_at: datetime = _ts(index=True)
    article_count: int = 1


class StorylineSignature(SQLModel, table=True):
    """An article's MinHash signature (uint32 little-endian values) and its shingle count."""

    __tablename__ = "storyline_signature"

    article_id: int = Field(primary_key=True, foreign_key="article.id")
    shingle_count: int
    signature: bytes = Field(sa_type=sa.LargeBinary)


class StorylineBand(SQLModel, table=True):
    """The LSH index: one row per (band key, article); articles sharing a key are candidates."""

    __tablename__ = "storyline_band"
    __table_args__ = {"sqlite_with_rowid": False}  # on SQLite the primary key is the table: no rowid copy

    band_key: int = Field(primary_key=True, sa_type=sa.BigInteger)
    article_id: int = Field(primary_key=True, foreign_key="article.id")


class ArticleAlias(SQLModel, table=True):
    """Another URL of a stored article (one that redirected to it): seen again, it is a duplicate."""

    __tablename__ = "article_alias"

    url: str = Field(primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    created_at: datetime = _ts()


class UrlFailure(SQLModel, table=True):
    """An article URL that failed: how often, why, when to try again, and whether we gave up.

    Article failures are counted here, per URL, not against the source's health.
    """

    __tablename__ = "url_failure"

    url: str = Field(primary_key=True)
    source_name: str = Field(index=True)
    failures: int = 0
    first_failed_at: datetime = _ts()
    last_failed_at: datetime = _ts()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = _ts(default=None, index=True)
    gave_up_at: datetime | None = _ts(default=None)


class HostState(SQLModel, table=True):
    """A host that asked us to wait (429/503 with Retry-After): nothing is fetched from it before `not_before`."""

    __tablename__ = "host_state"

    host: str = Field(primary_key=True)
    not_before: datetime | None = _ts(default=None)
    reason: str | None = None
    updated_at: datetime = _ts()


class CrawlRequest(SQLModel, table=True):
    """A "crawl now" asked for from the web console, waiting for the running daemon to pick it up."""

    __tablename__ = "crawl_request"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(index=True)
    requested_at: datetime = _ts()
    requested_by: str | None = None
    claimed_at: datetime | None = _ts(default=None, index=True)
    claimed_by: str | None = None


class WebSession(SQLModel, table=True):
    """A web console sign-in: its cookie names it, and signing out deletes it, so a copy of the cookie dies too.

    `id` is the SHA-256 of the token the cookie carries: the table alone lets no one in.
    """

    __tablename__ = "web_session"

    id: str = Field(primary_key=True)
    user: str
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)
