"""Storage on real SQLite and PostgreSQL: migrations, idempotent inserts, aware timestamps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from storage.db import create_engine
from storage.errors import SchemaOutOfDateError
from storage.migrate import current_revision, ensure_schema, head_revision, upgrade
from storage.models import Article
from storage.repository import Repository
from storage.search import include_in_autogenerate
from storage.types import TopicMatch


def _article(url: str, **overrides: object) -> Article:
    values: dict[str, object] = {
        "url": url,
        "source_name": "s",
        "title": "南京为何养不出六小龙",
        "text": "正文",
        "content_hash": "h",
        "fetched_at": datetime(2025, 2, 9, 2, 0, tzinfo=UTC),
        "published_at": datetime(2025, 2, 9, 10, 0, tzinfo=timezone(timedelta(hours=8))),
    }
    values.update(overrides)
    return Article(**values)  # type: ignore[arg-type]


def test_empty_database_is_upgraded_to_head(database_url: str) -> None:
    engine = create_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"article", "crawl_run", "digest", "digest_item", "source"} <= set(sa.inspect(engine).get_table_names())


def test_models_and_migrations_agree(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        # The search index's tables are made by hand-written SQL in 0003, not from the models.
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_out_of_date_schema_is_refused_with_the_command_to_run(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('0000')")
    with pytest.raises(SchemaOutOfDateError, match="mediawatch db upgrade"):
        ensure_schema(engine)


def test_same_url_is_stored_once(repository: Repository) -> None:
    first = repository.add_article(_article("https://example.org/a"), [TopicMatch("t", 1.0, True, ("六小龙",))])
    second = repository.add_article(_article("https://example.org/a", title="other"), [])
    assert first is not None and second is None
    assert repository.count_articles() == 1


def test_concurrent_inserts_of_one_url_store_one_row(repository: Repository) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(8)

    def insert() -> None:
        barrier.wait()
        results.append(repository.add_article(_article("https://example.org/race"), []))

    threads = [threading.Thread(target=insert) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
    assert repository.count_articles() == 1


def test_timestamps_come_back_timezone_aware_in_utc(repository: Repository) -> None:
    repository.add_article(_article("https://example.org/tz"), [TopicMatch("t", 0.5, True, ("a",))])
    [stored] = repository.list_articles(topic="t")
    assert stored.article.published_at == datetime(2025, 2, 9, 2, 0, tzinfo=UTC)
    assert stored.article.published_at.tzinfo is not None
    assert stored.matches[0].matched == ("a",)


def test_naive_timestamps_are_refused(repository: Repository) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        repository.add_article(_article("https://example.org/naive", fetched_at=datetime(2025, 2, 9)), [])


def test_articles_filter_by_topic_relevance(repository: Repository) -> None:
    repository.add_article(_article("https://example.org/on"), [TopicMatch("t", 0.9, True, ("六小龙",))])
    repository.add_article(_article("https://example.org/off"), [TopicMatch("t", 0.0, False, ())])
    assert [a.article.url for a in repository.list_articles(topic="t")] == ["https://example.org/on"]
    assert len(repository.list_articles(relevant_only=False)) == 2


def test_crawl_run_outcome_updates_source_state(repository: Repository) -> None:
    repository.sync_sources([("s", "feed", "https://example.org/feed")])
    run_id = repository.start_run("s", "manual")
    repository.finish_run(run_id, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=500, error="HTTP 500")
    state = repository.get_source("s")
    assert state is not None and state.consecutive_failures == 1
    assert repository.last_runs()["s"].error == "HTTP 500"


def test_a_run_left_running_by_a_dead_process_is_closed_with_what_it_stored(engine: sa.Engine) -> None:
    started = datetime(2025, 2, 9, 2, 0, tzinfo=UTC)
    repository = Repository(engine, clock=lambda: started)
    repository.sync_sources([("s", "feed", "https://example.org/feed")])
    repository.add_article(_article("https://example.org/before", fetched_at=started - timedelta(hours=1)), [])
    repository.start_run("s", "worker:A")  # the worker stored two batches, then was killed
    for n in range(3):
        repository.add_article(_article(f"https://example.org/{n}", fetched_at=started + timedelta(minutes=n)), [])
    repository.add_article(_article("https://example.org/other", source_name="t", fetched_at=started), [])
    assert repository.interrupt_stale_runs(["s"]) == 1
    run = repository.last_runs()["s"]
    assert (run.status, run.found, run.new) == ("interrupted", 3, 3)


def test_a_source_whose_url_changed_forgets_the_old_urls_http_validators(repository: Repository) -> None:
    repository.sync_sources([("jiangnan", "feed", "https://jiangnan.example/rss.xml")])
    repository.save_http_validators("jiangnan", '"abc"', "Mon, 10 Feb 2025 08:30:00 GMT")

    repository.sync_sources([("jiangnan", "feed", "https://jiangnan.example/rss.xml")])
    kept = repository.get_source("jiangnan")
    assert kept is not None and (kept.etag, kept.last_modified) == ('"abc"', "Mon, 10 Feb 2025 08:30:00 GMT")

    # The configuration now points the source elsewhere: an ETag of the old feed means nothing there.
    repository.sync_sources([("jiangnan", "feed", "https://jiangnan.example/feeds/all.xml")])
    moved = repository.get_source("jiangnan")
    assert moved is not None and moved.url == "https://jiangnan.example/feeds/all.xml"
    assert (moved.etag, moved.last_modified) == (None, None)


def test_a_schema_some_migrations_behind_says_how_many_not_just_revision_ids(database_url: str) -> None:
    # Revision ids are not in chain order (0001 → 0005 → 0004 → 0002 → 0003 → …): ids alone ("at
    # 0004, needs 0003" before 0006 came) read like a downgrade, so the message counts the migrations.
    from alembic.script import ScriptDirectory

    from storage.migrate import _alembic_config

    behind = len(list(ScriptDirectory.from_config(_alembic_config()).iterate_revisions("head", "0004")))  # 0004 itself not included
    assert behind >= 2
    engine = create_engine(database_url)
    upgrade(engine, "0004")
    with pytest.raises(SchemaOutOfDateError, match=rf"{behind} migrations behind .*mediawatch db upgrade"):
        ensure_schema(engine)
    engine.dispose()
