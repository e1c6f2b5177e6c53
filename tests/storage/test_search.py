"""The search index: kept in step when articles are stored and edited, backfilled for old ones,
and answering in either Chinese script, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from crawler.search_terms import SearchAnalyzer
from storage.console import ConsoleQueries, CoverageFilter
from storage.models import Article
from storage.repository import Repository
from storage.search import SearchIndex, document_text, fts5_query, write_terms

NOW = datetime(2025, 2, 12, tzinfo=UTC)


def _article(url: str, title: str, text: str) -> Article:
    return Article(url=url, source_name="s", title=title, fetched_at=NOW, text=text, content_hash=url)


def _found(engine: sa.Engine, query: str) -> list[str]:
    page = ConsoleQueries(engine, SearchAnalyzer()).find_articles(CoverageFilter(query=query, relevant_only=False))
    return [item.article.url for item in page.items]


def test_stored_articles_are_found_in_either_script(engine: sa.Engine) -> None:
    repository = Repository(engine, analyzer=SearchAnalyzer())
    repository.add_article(_article("u:simplified", "南京为何发展不出杭州六小龙", "江苏官媒连发三问，南京市长江大桥。"), [])
    repository.add_article(_article("u:traditional", "六小龍從哪裡來", "台灣媒體關注城市競爭。"), [])
    repository.add_article(_article("u:english", "Six little dragons", "DeepSeek and Unitree, in Hangzhou."), [])

    assert _found(engine, "六小龍") == ["u:traditional", "u:simplified"]
    assert _found(engine, "城市竞争") == ["u:traditional"]
    assert _found(engine, "南京") == ["u:simplified"]  # jieba kept 南京市 whole; the index has 南京 too
    assert _found(engine, "ＤＥＥＰＳＥＥＫ hangzhou") == ["u:english"]
    assert _found(engine, "南京 deepseek") == []  # every term must be there
    assert _found(engine, "“”！") == []


def test_an_edit_replaces_the_indexed_text(engine: sa.Engine) -> None:
    repository = Repository(engine, analyzer=SearchAnalyzer())
    article_id = repository.add_article(_article("u:1", "初稿", "南京回应六小龙之问。"), [])
    assert article_id is not None
    repository.record_edit(article_id, title="更新", text="上海回应。", content_hash="v2")
    assert _found(engine, "南京") == []
    assert _found(engine, "上海") == ["u:1"]


def test_text_filled_in_later_is_indexed(engine: sa.Engine) -> None:
    # A page without text is stored from its feed entry; recheck fills the text in. The index kept the entry's words only.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    article_id = repository.add_article(_article("u:1", "视频：南京之问", "南京之问的视频报道"), [])
    assert article_id is not None
    repository.fill_missing_text(article_id, title="南京之问", text="宇树科技创始人谈杭州的创业环境。", content_hash="v2",
                                 published_at=None)
    assert _found(engine, "宇树科技") == ["u:1"]
    assert _found(engine, "视频报道") == []


def test_terms_computed_elsewhere_are_indexed_as_given(engine: sa.Engine) -> None:
    # Page workers segment edited and filled-in texts: the storing process then needs no jieba.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    first = repository.add_article(_article("u:1", "初稿", "南京回应。"), [])
    second = repository.add_article(_article("u:2", "视频", "视频"), [])
    assert first is not None and second is not None
    analyzer = SearchAnalyzer()
    repository.record_edit(first, title="更新", text="上海回应。", content_hash="v2",
                           terms=analyzer.index_terms(document_text("更新", "上海回应。")))
    repository.fill_missing_text(second, title="杭州", text="杭州的机器人。", content_hash="v2", published_at=None,
                                 terms=analyzer.index_terms(document_text("杭州", "杭州的机器人。")))
    assert _found(engine, "上海") == ["u:1"]
    assert _found(engine, "机器人") == ["u:2"]


def test_backfill_indexes_articles_stored_without_an_analyzer(engine: sa.Engine) -> None:
    plain = Repository(engine)
    for n in range(5):
        plain.add_article(_article(f"u:{n}", f"第{n}篇", "宇树科技的机器人"), [])
    assert _found(engine, "机器人") == []

    index = SearchIndex(engine, SearchAnalyzer())
    assert index.backfill(batch=2) == 5
    assert index.backfill() == 0  # nothing left
    assert len(_found(engine, "機器人")) == 5


def test_query_terms_cannot_become_fts5_operators() -> None:
    assert fts5_query(['NEAR("a"', "OR", 'x"y']) == '"NEAR(""a""" "OR" "x""y"'


def test_an_emoji_or_a_word_in_another_script_is_searchable(engine: sa.Engine) -> None:
    # A query of only an emoji (or Cyrillic, Arabic, kana) held no term the index knew: the console
    # said "Nothing to search for: type a word." to someone who had typed one.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    repository.add_article(_article("u:dragon", "🐉 六小龙来了", "杭州的六小龙。"), [])
    repository.add_article(_article("u:russian", "Новости Нанкина", "Шесть маленьких драконов ⭐"), [])
    repository.add_article(_article("u:plain", "南京为何发展不出杭州六小龙", "江苏官媒连发三问。"), [])
    queries = ConsoleQueries(engine, SearchAnalyzer())
    page = queries.find_articles(CoverageFilter(query="🐉", relevant_only=False))
    assert [item.article.url for item in page.items] == ["u:dragon"] and not page.searched_nothing
    assert _found(engine, "новости") == ["u:russian"]
    assert _found(engine, "⭐") == ["u:russian"]
    assert _found(engine, "“”！") == []  # punctuation is still nothing to search for


def test_an_english_word_finds_its_other_forms(engine: sa.Engine) -> None:
    # A query for "dragon" found nothing in "Six little dragons"; every word must still be there.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    repository.add_article(_article("u:dragons", "Six little dragons", "Hangzhou's start-ups are competing with Nanjing."), [])
    repository.add_article(_article("u:robot", "A robotics company lists", "Unitree's robots competed in the race."), [])
    assert _found(engine, "dragon") == ["u:dragons"]
    assert _found(engine, "DRAGONS") == ["u:dragons"]
    assert _found(engine, "competition") == []  # a different word, not a stem
    assert _found(engine, "competes") == ["u:robot", "u:dragons"]
    assert _found(engine, "robot dragons") == []
    assert _found(engine, "startup") == []  # "start-ups" is two words, "start" and "ups"
    assert _found(engine, "start ups") == ["u:dragons"]


def test_an_index_written_before_stemming_is_rebuilt(engine: sa.Engine) -> None:
    # Articles indexed under whole words would never match a stemmed query: migration 0006
    # empties the index and the backfill (web console start, `articles -q`) writes it again.
    from alembic import command

    from storage.migrate import _alembic_config

    repository = Repository(engine, analyzer=SearchAnalyzer())
    article_id = repository.add_article(_article("u:1", "Dragons", "Six little dragons"), [])
    assert article_id is not None
    with engine.begin() as connection:
        write_terms(connection, article_id, ["dragons", "six", "little"])  # as the old analyzer indexed it
    assert _found(engine, "dragons") == []
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
        command.upgrade(config, "head")
    assert SearchIndex(engine, SearchAnalyzer()).backfill() == 1
    assert _found(engine, "dragons") == ["u:1"]


def test_a_crawl_on_sqlite_loads_no_postgresql_dialect() -> None:
    """SQLAlchemy's PostgreSQL dialect package (its drivers' adapters too) is about 0.1 s of a
    process's start-up; a SQLite crawl, daemon or console never uses it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import crawler.runner, scheduler.app, scheduler.cli.main, storage.search\n"
        "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_word_after_a_minus_excludes_the_articles_containing_it(engine: sa.Engine) -> None:
    # "芯片 -华为" dropped the minus and found the articles that do contain 华为.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    repository.add_article(_article("u:simplified", "南京为何发展不出杭州六小龙", "江苏官媒连发三问，南京市长江大桥。"), [])
    repository.add_article(_article("u:traditional", "六小龍從哪裡來", "台灣媒體關注城市競爭。"), [])
    repository.add_article(_article("u:english", "Six little dragons", "DeepSeek and Unitree, in Hangzhou."), [])

    assert _found(engine, "六小龙 -南京") == ["u:traditional"]
    assert _found(engine, "六小龙 －南京") == ["u:traditional"]  # the full-width minus a Chinese keyboard types
    assert _found(engine, "六小龍 -台灣 -南京") == []
    assert _found(engine, "-南京") == ["u:english", "u:traditional"]  # only exclusions: everything else
    assert _found(engine, "dragons -deepseek") == []
    assert _found(engine, "dragons hangzhou-") == _found(engine, "six-little") == ["u:english"]  # not a minus before a word
    page = ConsoleQueries(engine, SearchAnalyzer()).find_articles(CoverageFilter(query="六小龙 -南京", relevant_only=False))
    assert page.terms == tuple(SearchAnalyzer().query_terms("六小龙")) and page.excluded == ("南京",)
    assert ConsoleQueries(engine, SearchAnalyzer()).count_articles(CoverageFilter(query="-南京", relevant_only=False)) == 2
