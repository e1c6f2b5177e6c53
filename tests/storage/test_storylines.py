"""Storylines on a real database (SQLite, and PostgreSQL too when MEDIAWATCH_TEST_DATABASE_URL is set).

Articles are stored with `Repository.add_article` and assigned with
`StorylineIndex.assign`, exactly as the crawler's pipeline does.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crawler.normalize import content_hash
from crawler.storylines import StorylineAssignment, StorylineIndex, StorylineParams
from storage.db import create_engine
from storage.errors import StorageError
from storage.models import Article
from storage.repository import Repository
from storage.storylines import StorylineStore
from tests.crawler.test_storylines import load_manifest, read_fixture

NOW = datetime(2025, 2, 13, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


def store(
    repository: Repository, url: str, source: str, title: str, text: str, published: datetime | None = None
) -> int:
    article = Article(
        url=url,
        source_name=source,
        title=title,
        text=text,
        published_at=published,
        fetched_at=NOW,
        content_hash=content_hash(title, text),
    )
    article_id = repository.add_article(article, [])
    assert article_id is not None
    return article_id


def store_and_assign(
    repository: Repository,
    index: StorylineIndex,
    url: str,
    source: str,
    title: str,
    text: str,
    published: datetime | None = None,
) -> tuple[int, StorylineAssignment]:
    article_id = store(repository, url, source, title, text, published)
    return article_id, index.assign(
        article_id, title=title, text=text, content_hash=content_hash(title, text)
    )


def store_manifest(
    repository: Repository, index: StorylineIndex
) -> dict[str, tuple[dict, int, StorylineAssignment]]:
    stored = {}
    for entry in load_manifest():
        title, text = read_fixture(entry["file"])
        article_id, assignment = store_and_assign(
            repository,
            index,
            f"https://{entry['source']}.example/{entry['file']}",
            entry["source"],
            title,
            text,
            datetime.fromisoformat(entry["published"]),
        )
        stored[entry["file"]] = (entry, article_id, assignment)
    return stored


@pytest.fixture
def index(engine: sa.Engine) -> StorylineIndex:
    return StorylineIndex.from_engine(engine, clock=fixed_clock)


def test_fixture_articles_fall_into_the_expected_storylines(
    repository: Repository, index: StorylineIndex
) -> None:
    stored = store_manifest(repository, index)
    by_label: dict[str, set[int]] = {}
    for entry, _, assignment in stored.values():
        by_label.setdefault(entry["storyline"], set()).add(assignment.storyline_id)
        assert assignment.method == entry["method"], entry["file"]
    assert all(len(ids) == 1 for ids in by_label.values()), by_label
    assert len({next(iter(ids)) for ids in by_label.values()}) == len(by_label)


def test_story_reprinted_by_three_outlets_is_one_storyline_led_by_the_first(
    repository: Repository, index: StorylineIndex
) -> None:
    stored = store_manifest(repository, index)
    _, original_id, first = stored["nanjing-policy-original.txt"]
    members = index.store.storyline_members(first.storyline_id)
    assert [m.source_name for m in members] == [
        "jinling-morning",
        "metro-express",
        "harbour-daily",
        "jiangnan-portal",
        "aggregator",
    ]
    summary = index.store.get_storyline(first.storyline_id)
    assert summary is not None
    assert (summary.first_article_id, summary.first_source_name, summary.article_count) == (
        original_id,
        "jinling-morning",
        5,
    )
    for name in (
        "nanjing-policy-new-headline.txt",
        "nanjing-policy-traditional.txt",
        "nanjing-policy-boilerplate.txt",
    ):
        assignment = stored[name][2]
        assert assignment.similarity >= 0.8, name
        assert assignment.matched_article_id is not None


def test_same_day_stories_sharing_the_seed_keywords_get_storylines_of_their_own(
    repository: Repository, index: StorylineIndex
) -> None:
    stored = store_manifest(repository, index)
    policy = stored["nanjing-policy-original.txt"][2].storyline_id
    for name in ("hangzhou-firms-job-fair.txt", "nanjing-hangzhou-commentary.txt", "en-hangzhou-unitree.txt"):
        assignment = stored[name][2]
        assert assignment.is_new and assignment.storyline_id != policy, name
        assert index.store.storyline_members(assignment.storyline_id)[0].article_id == stored[name][1]


def test_exact_duplicate_joins_by_content_hash(repository: Repository, index: StorylineIndex) -> None:
    title, text = read_fixture("en-nanjing-original.txt")
    first_id, first = store_and_assign(repository, index, "https://a.example/1", "yangtze-wire", title, text)
    _, copy = store_and_assign(
        repository,
        index,
        "https://b.example/2",
        "mirror",
        "Another headline",
        "  " + text.replace("\n\n", "\n") + "\n",
    )
    assert (copy.storyline_id, copy.is_new, copy.method, copy.matched_article_id, copy.similarity) == (
        first.storyline_id,
        False,
        "hash",
        first_id,
        1.0,
    )
    assert index.store.storyline_of(first_id) == first.storyline_id
    assert index.store.storyline_of(10_000) is None


def test_english_syndicated_copy_joins_the_wire_story(repository: Repository, index: StorylineIndex) -> None:
    wire_id, wire = store_and_assign(
        repository, index, "https://wire.example/1", "yangtze-wire", *read_fixture("en-nanjing-original.txt")
    )
    _, other = store_and_assign(
        repository,
        index,
        "https://ledger.example/9",
        "pacific-ledger",
        *read_fixture("en-hangzhou-unitree.txt"),
    )
    _, copy = store_and_assign(
        repository,
        index,
        "https://ledger.example/10",
        "pacific-ledger",
        *read_fixture("en-nanjing-syndicated.txt"),
    )
    assert other.is_new
    assert (copy.storyline_id, copy.method, copy.matched_article_id) == (
        wire.storyline_id,
        "minhash",
        wire_id,
    )


def test_a_new_index_over_the_same_database_still_finds_matches(database_url: str, engine: sa.Engine) -> None:
    first_index = StorylineIndex.from_engine(engine, clock=fixed_clock)
    _, original = store_and_assign(
        Repository(engine),
        first_index,
        "https://a.example/1",
        "jinling-morning",
        *read_fixture("nanjing-policy-original.txt"),
    )
    engine.dispose()

    restarted = create_engine(database_url)
    try:
        _, reprint = store_and_assign(
            Repository(restarted),
            StorylineIndex.from_engine(restarted),
            "https://b.example/2",
            "harbour-daily",
            *read_fixture("nanjing-policy-traditional.txt"),
        )
    finally:
        restarted.dispose()
    assert (reprint.storyline_id, reprint.method) == (original.storyline_id, "minhash")


def test_article_published_earlier_but_stored_later_becomes_the_first(
    repository: Repository, index: StorylineIndex
) -> None:
    portal_id, portal = store_and_assign(
        repository,
        index,
        "https://portal.example/1",
        "jiangnan-portal",
        *read_fixture("nanjing-flash-portal.txt"),
        published=NOW,
    )
    flash_id, flash = store_and_assign(
        repository,
        index,
        "https://jl.example/1",
        "jinling-morning",
        *read_fixture("nanjing-flash.txt"),
        published=NOW - timedelta(hours=1),
    )
    assert flash.storyline_id == portal.storyline_id
    summary = index.store.get_storyline(flash.storyline_id)
    assert summary is not None
    assert (summary.first_article_id, summary.first_source_name) == (flash_id, "jinling-morning")
    assert summary.sources == ("jinling-morning", "jiangnan-portal")
    assert [m.article_id for m in index.store.storyline_members(flash.storyline_id)] == [flash_id, portal_id]


def test_assign_is_idempotent_and_refuses_an_unknown_article(
    repository: Repository, index: StorylineIndex
) -> None:
    title, text = read_fixture("nanjing-flash.txt")
    article_id, first = store_and_assign(
        repository, index, "https://jl.example/1", "jinling-morning", title, text
    )
    again = index.assign(article_id, title=title, text=text, content_hash=content_hash(title, text))
    assert (again.storyline_id, again.method) == (first.storyline_id, "existing")
    summary = index.store.get_storyline(first.storyline_id)
    assert summary is not None and summary.article_count == 1
    with pytest.raises(StorageError, match="not stored"):
        index.assign(10_000, title=title, text=text, content_hash="x")


def test_assign_pending_catches_up_on_articles_stored_without_a_storyline(
    repository: Repository, index: StorylineIndex
) -> None:
    for number, name in enumerate(
        ["nanjing-policy-original.txt", "hangzhou-firms-job-fair.txt", "nanjing-policy-traditional.txt"]
    ):
        store(repository, f"https://x.example/{number}", f"outlet-{number}", *read_fixture(name))
    assert index.assign_pending() == 3
    assert index.assign_pending() == 0
    storylines = index.store.list_storylines()
    assert sorted(s.article_count for s in storylines) == [1, 2]
    assert index.store.list_storylines(min_articles=2)[0].sources == ("outlet-0", "outlet-2")


def test_list_storylines_filters_by_last_join_and_size(repository: Repository, engine: sa.Engine) -> None:
    times = iter([NOW - timedelta(days=3), NOW, NOW])
    index = StorylineIndex.from_engine(engine, clock=lambda: next(times))
    store_and_assign(
        repository, index, "https://a.example/1", "a", *read_fixture("hangzhou-firms-job-fair.txt")
    )
    _, flash = store_and_assign(
        repository, index, "https://b.example/1", "b", *read_fixture("nanjing-flash.txt")
    )
    store_and_assign(repository, index, "https://c.example/1", "c", *read_fixture("nanjing-flash-portal.txt"))
    recent = index.store.list_storylines(since=NOW - timedelta(days=1))
    assert [s.id for s in recent] == [flash.storyline_id]
    assert len(index.store.list_storylines(min_articles=1)) == 2
    grouped = index.store.members_by_storyline([flash.storyline_id])
    assert [m.source_name for m in grouped[flash.storyline_id]] == ["b", "c"]


def _random_story(seed: int) -> str:
    chars = (
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
        "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
        "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
        "新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
        "已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知"
        "较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造"
        "百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白"
        "教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集"
        "温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿"
        "千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存"
        "候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该"
        "铁价严"
    )
    rng = random.Random(seed)
    return "".join(rng.choice(chars) for _ in range(400))


def test_original_is_found_past_band_keys_that_a_shared_footer_made_common(
    repository: Repository, engine: sa.Engine
) -> None:
    """Half of every text is one outlet's footer, so many band keys are shared by every article."""
    index = StorylineIndex(StorylineStore(engine, fixed_clock), StorylineParams(bucket_cap=5))
    footer = "\n" + _random_story(999)[:150]
    body = _random_story(0)[:150]
    original_id, original = store_and_assign(
        repository, index, "https://o.example/0", "outlet", "原文", body + footer
    )
    for number in range(1, 21):
        _, filler = store_and_assign(
            repository,
            index,
            f"https://o.example/{number}",
            "outlet",
            f"其他{number}",
            _random_story(number)[:150] + footer,
        )
        assert filler.is_new
    _, copy = store_and_assign(
        repository, index, "https://copy.example/1", "mirror", "转载", "转载：" + body[:140] + footer
    )
    assert (copy.storyline_id, copy.matched_article_id) == (original.storyline_id, original_id)


def test_two_processes_storing_copies_at_once_neither_crash_nor_split(
    database_url: str, engine: sa.Engine
) -> None:
    """Two engines stand for the daemon and a manual crawl; each round both store a copy of one story."""
    rounds = 8
    barrier = threading.Barrier(2)
    results: dict[tuple[int, int], int] = {}
    errors: list[BaseException] = []

    def crawl(worker: int) -> None:
        own_engine = create_engine(database_url)
        try:
            repository, index = Repository(own_engine), StorylineIndex.from_engine(own_engine)
            for round_ in range(rounds):
                text = _random_story(round_) + f"\n本文转载自第{worker}号网站。"
                barrier.wait(timeout=30)
                _, assignment = store_and_assign(
                    repository,
                    index,
                    f"https://w{worker}.example/{round_}",
                    f"outlet-{worker}",
                    f"标题{round_}",
                    text,
                )
                results[(worker, round_)] = assignment.storyline_id
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=crawl, args=(worker,)) for worker in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert all(results[(1, r)] == results[(2, r)] for r in range(rounds)), results
    assert len({results[(1, r)] for r in range(rounds)}) == rounds
    with engine.connect() as connection:
        unassigned = connection.execute(
            sa.text("SELECT count(*) FROM article WHERE storyline_id IS NULL")
        ).scalar()
    assert unassigned == 0


def test_store_reads_are_empty_on_an_empty_database(engine: sa.Engine) -> None:
    store_ = StorylineStore(engine)
    assert store_.list_storylines() == []
    assert store_.storyline_members(1) == []
    assert store_.get_storyline(1) is None
    assert list(store_.pending_articles()) == []
