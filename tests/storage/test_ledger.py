"""The digest ledger on a real database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.db import create_engine
from storage.ledger import DigestLedger
from storage.models import DigestItem
from storage.repository import Repository
from tests.digest.support import START, TOPIC, FixedClock, store


def claim(ledger: DigestLedger, *, minutes: int = 0, allow_empty: bool = False):  # type: ignore[no-untyped-def]
    previous = ledger.last_sent(TOPIC)
    return ledger.claim(
        TOPIC, now=START + timedelta(minutes=minutes), period_start=previous.period_end if previous else None,
        allow_empty=allow_empty,
    )


def test_claim_takes_every_pending_relevant_article_and_only_those(repository: Repository) -> None:
    wanted = {store(repository, "南京六小龙一"), store(repository, "南京六小龙二", source="donghai")}
    store(repository, "Off-topic weather report", relevant=False, matched=())
    ledger = DigestLedger(repository.engine)

    digest = claim(ledger)

    assert digest is not None and digest.status == "pending" and digest.article_count == 2
    assert {a.article.id for a in ledger.articles_of(digest.id)} == wanted
    assert ledger.pending(TOPIC) == []


def test_nothing_pending_records_nothing_unless_empty_digests_are_allowed(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)

    assert claim(ledger) is None
    assert ledger.list_digests(TOPIC) == []
    empty = claim(ledger, allow_empty=True)
    assert empty is not None and empty.article_count == 0


def test_sent_articles_stay_out_of_later_claims_and_new_ones_go_in(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    store(repository, "第一篇")
    first = claim(ledger)
    assert first is not None and ledger.mark_sent(first.id, sent_at=START, message_id="<1@test>")

    assert claim(ledger, minutes=5) is None
    later = store(repository, "第二篇")
    second = claim(ledger, minutes=10)

    assert second is not None and [a.article.id for a in ledger.articles_of(second.id)] == [later]
    assert second.period_start == first.period_end


def test_a_pending_digest_keeps_its_articles_from_a_concurrent_claim(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    store(repository, "正在发送")

    assert claim(ledger) is not None
    assert claim(ledger, minutes=1) is None


def test_release_marks_the_digest_failed_and_returns_its_articles(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    ids = {store(repository, "一"), store(repository, "二")}
    failed = claim(ledger)
    assert failed is not None

    assert ledger.release(failed.id, "SMTP server 127.0.0.1:1 refused the connection") == 2

    record = ledger.get(failed.id)
    assert record is not None and record.status == "failed" and record.article_count == 2
    assert record.error == "SMTP server 127.0.0.1:1 refused the connection"
    retry = claim(ledger, minutes=1)
    assert retry is not None and {a.article.id for a in ledger.articles_of(retry.id)} == ids
    assert retry.period_start is None  # the failed digest does not move the period


def test_a_sent_digest_is_never_released_and_never_marked_twice(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    store(repository, "一")
    digest = claim(ledger)
    assert digest is not None
    assert ledger.mark_sent(digest.id, sent_at=START, message_id="<m@test>")

    assert ledger.release(digest.id, "too late") == 0
    assert not ledger.mark_sent(digest.id, sent_at=START, message_id="<other@test>")
    record = ledger.get(digest.id)
    assert record is not None and record.status == "sent" and record.message_id == "<m@test>"
    assert ledger.pending(TOPIC) == []


def test_only_digests_pending_longer_than_the_cutoff_are_released_as_stale(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    store(repository, "一")
    abandoned = claim(ledger)
    assert abandoned is not None

    assert ledger.release_stale(TOPIC, older_than=START) == []  # created at START: not older
    assert ledger.release_stale(TOPIC, older_than=START + timedelta(hours=1)) == [abandoned.id]
    record = ledger.get(abandoned.id)
    assert record is not None and record.status == "failed" and "abandoned" in (record.error or "")
    assert len(ledger.pending(TOPIC)) == 1


def test_digests_are_listed_newest_first(repository: Repository) -> None:
    ledger = DigestLedger(repository.engine)
    for minutes in (0, 10, 20):
        store(repository, f"文章 {minutes}")
        digest = claim(ledger, minutes=minutes)
        assert digest is not None
        ledger.mark_sent(digest.id, sent_at=START + timedelta(minutes=minutes), message_id=None)

    listed = ledger.list_digests(TOPIC)

    assert [d.created_at for d in listed] == [START + timedelta(minutes=m) for m in (20, 10, 0)]
    assert ledger.list_digests("another-topic") == []


def test_concurrent_claims_from_two_processes_never_share_an_article(database_url: str, engine: sa.Engine) -> None:
    """Two engines stand for two processes (the daemon and a manual send) claiming while a crawl stores."""
    repository = Repository(engine)
    engines = [create_engine(database_url), create_engine(database_url)]
    claimed: list[list[int]] = [[], []]
    stop = threading.Event()

    def claimer(index: int) -> None:
        ledger = DigestLedger(engines[index])
        minute = 0
        while not stop.is_set():
            minute += 1
            digest = ledger.claim(TOPIC, now=START + timedelta(minutes=minute), period_start=None)
            if digest is not None:
                claimed[index] += [a.article.id or 0 for a in ledger.articles_of(digest.id or 0)]

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    try:
        stored = [store(repository, f"并发文章 {n}") for n in range(60)]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for extra in engines:
            extra.dispose()
    final = DigestLedger(engine).claim(TOPIC, now=START + timedelta(days=1), period_start=None)
    leftovers = [a.article.id for a in DigestLedger(engine).articles_of(final.id)] if final else []

    everything = claimed[0] + claimed[1] + leftovers
    assert sorted(everything) == sorted(stored)  # each article exactly once
    with Session(engine) as session:
        rows = session.exec(select(DigestItem.article_id)).all()
    assert len(rows) == len(set(rows)) == len(stored)


def sent_digest(ledger: DigestLedger, at: FixedClock) -> int:
    digest = ledger.claim(TOPIC, now=at(), period_start=None)
    assert digest is not None and digest.id is not None
    assert ledger.mark_sent(digest.id, sent_at=at(), message_id=None)
    return digest.id


def test_changes_are_those_in_the_period_after_since_up_to_and_including_until(engine: sa.Engine) -> None:
    clock = FixedClock()
    repository = Repository(engine, clock=clock)
    ledger = DigestLedger(engine)
    ids = [store(repository, f"文章{n} 六小龙") for n in range(3)]
    sent_digest(ledger, clock)
    since = clock()
    repository.mark_removed(ids[0])  # at `since`: the previous digest's period
    clock.advance(minutes=1)
    repository.mark_removed(ids[1])  # inside
    until = clock.advance(minutes=1)
    clock.advance(seconds=1)
    repository.mark_removed(ids[2])  # after `until`: the next digest's period

    found = ledger.changes(TOPIC, since=since, until=until)

    assert [(c.kind, c.item.article.id) for c in found] == [("removed", ids[1])]
    assert [c.item.article.id for c in ledger.changes(TOPIC, since=None, until=clock())] == ids[::-1]


def test_an_edit_is_shown_against_the_version_its_period_began_with(engine: sa.Engine) -> None:
    clock = FixedClock()
    repository = Repository(engine, clock=clock)
    ledger = DigestLedger(engine)
    article_id = store(repository, "原标题 六小龙")
    repository.record_edit(article_id, title="第一次改 六小龙", text="一", content_hash="1")  # before the digest
    sent_digest(ledger, clock)
    since = clock()
    for n, title in enumerate(("第二次改 六小龙", "第三次改 六小龙"), start=2):
        clock.advance(minutes=1)
        repository.record_edit(article_id, title=title, text=str(n), content_hash=str(n))

    [change] = ledger.changes(TOPIC, since=since, until=clock())

    assert change.kind == "edited" and change.item.article.title == "第三次改 六小龙"
    assert change.earlier is not None and change.earlier.title == "第一次改 六小龙"  # what the digest showed
    assert change.versions == 2 and change.at == clock()


def test_an_article_edited_then_taken_down_is_reported_as_removed_only(engine: sa.Engine) -> None:
    clock = FixedClock()
    repository = Repository(engine, clock=clock)
    ledger = DigestLedger(engine)
    article_id = store(repository, "六小龙")
    sent_digest(ledger, clock)
    since = clock.advance(minutes=1)
    clock.advance(minutes=1)
    repository.record_edit(article_id, title="改过的 六小龙", text="改", content_hash="e")
    clock.advance(minutes=1)
    repository.mark_removed(article_id)

    assert [c.kind for c in ledger.changes(TOPIC, since=since, until=clock())] == ["removed"]


def test_only_sent_digests_and_the_digest_being_built_make_an_article_count(engine: sa.Engine) -> None:
    clock = FixedClock()
    repository = Repository(engine, clock=clock)
    ledger = DigestLedger(engine)
    claimed = store(repository, "六小龙 一")
    pending = ledger.claim(TOPIC, now=clock(), period_start=None)
    assert pending is not None and pending.id is not None
    unclaimed = store(repository, "六小龙 二")
    clock.advance(minutes=1)
    repository.mark_removed(claimed)
    repository.mark_removed(unclaimed)

    assert ledger.changes(TOPIC, since=None, until=clock()) == []  # the digest holding it is not sent
    [mine] = ledger.changes(TOPIC, since=None, until=clock(), digest_id=pending.id)
    assert mine.item.article.id == claimed and mine.in_this_digest
    [preview] = ledger.changes(TOPIC, since=None, until=clock(), include_pending=True)
    assert preview.item.article.id == unclaimed and preview.in_this_digest
    assert ledger.in_progress(TOPIC)
    ledger.release(pending.id, "refused")
    assert not ledger.in_progress(TOPIC)
    assert ledger.changes(TOPIC, since=None, until=clock()) == []  # a failed digest does not count either
