"""`mediawatch articles`: dates in `[digest] timezone`, as the README promises for every time shown; `-q` searches as the console does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.search_terms import SearchAnalyzer
from storage.repository import Repository
from tests.conftest import run_cli, write_config
from tests.digest.support import store


def test_articles_show_the_publication_date_in_the_configured_time_zone(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # 07:50 on 11 February in Shanghai is still the 10th in UTC: the list used to say the 10th
    # for a page whose own URL and headline date say the 11th.
    store(repository, "五十余所高校的南京，为何留不住六小龙", published=datetime(2025, 2, 10, 23, 50, tzinfo=UTC))
    topics = [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]
    for timezone, shown in (("Asia/Shanghai", "2025-02-11"), ("UTC", "2025-02-10")):
        config = write_config(tmp_path / f"{timezone.replace('/', '-')}.toml", {
            "database": {"url": database_url}, "topics": topics, "digest": {"timezone": timezone}})
        listed = run_cli("articles", config=config)
        assert listed.returncode == 0, listed.stderr
        [row] = [line for line in listed.stdout.splitlines() if "五十余所" in line]
        assert f" {shown} " in row, (timezone, row)


def test_articles_search_finds_either_chinese_script_and_every_word_like_the_console(
    tmp_path: Path, database_url: str, engine: sa.Engine
) -> None:
    # `-q` was a substring match: 六小龍 missed every simplified article, and "南京 杭州" (two words)
    # found nothing, while the console's search found both. An analyst got different answers per tool.
    repository = Repository(engine, analyzer=SearchAnalyzer())
    store(repository, "南京为何养不出“六小龙”", text="南京与杭州的差距，六小龙之问。")
    store(repository, "港人看「六小龍」之爭", text="杭州的六小龍，香港財經圈的熱門話題。")
    store(repository, "西湖景区接待游客", text="春节假期杭州西湖游客众多。", matched=(), relevant=False, score=0.0)
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})

    def titles(*query: str) -> list[str]:
        listed = run_cli("articles", "--json", *query, config=config)
        assert listed.returncode == 0, listed.stderr
        return sorted(json.loads(line)["title"] for line in listed.stdout.splitlines())

    both = sorted(["南京为何养不出“六小龙”", "港人看「六小龍」之爭"])
    assert titles("-q", "六小龍") == both
    assert titles("-q", "六小龙") == both
    assert titles("-q", "南京 杭州") == ["南京为何养不出“六小龙”"]
    assert titles("-q", "杭州") == sorted([*both, "西湖景区接待游客"])  # off-topic articles are listed, as without -q
    assert titles("-q", "杭州", "-t", "nanjing-six-dragons") == both
    # Nothing searchable ("“”") is a usage error, not an empty list: test_a_search_with_no_word_in_it_is_a_usage_error.


def test_a_headline_with_square_brackets_is_printed_as_scraped(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # Table cells were read as rich markup: "[/]" in a scraped headline ended `articles` (and the
    # demo's table) with a MarkupError traceback, and "[bold]…[/bold]" lost its brackets.
    title = "[Video] Nanjing [/] asks [bold]why[/bold]"
    store(repository, title)
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    listed = run_cli("articles", config=config)
    assert listed.returncode == 0, listed.stderr
    assert title in listed.stdout


def test_since_a_date_means_from_that_days_midnight_in_the_configured_time_zone(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # The list shows 07:50 Shanghai on the 11th as 2025-02-11, yet `--since 2025-02-11` left it out:
    # a bare date was read as midnight UTC, eight hours after the Shanghai day began.
    store(repository, "早上七点五十的报道", published=datetime(2025, 2, 10, 23, 50, tzinfo=UTC))
    store(repository, "前一天晚上的报道", published=datetime(2025, 2, 10, 12, 0, tzinfo=UTC))
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}],
        "digest": {"timezone": "Asia/Shanghai"}})
    for command in (("articles", "--json"), ("export", "--format", "jsonl")):
        listed = run_cli(*command, "--since", "2025-02-11", config=config)
        assert listed.returncode == 0, listed.stderr
        assert [json.loads(line)["title"] for line in listed.stdout.splitlines()] == ["早上七点五十的报道"], command


def test_a_list_cut_short_by_limit_says_there_is_more(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # "articles (2)" read as "there are two articles" when --limit had cut off the rest. These
    # articles are stored without a search analyzer, as before the index existed: -q indexes them first.
    for n in range(3):
        store(repository, f"第{n}篇：南京与六小龙")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    for search in ((), ("-q", "南京")):
        cut = run_cli("articles", "--limit", "2", *search, config=config)
        assert cut.returncode == 0, cut.stderr
        assert "articles (newest 2; more with a higher --limit)" in cut.stdout, search
        whole = run_cli("articles", "--limit", "3", *search, config=config)
        assert "articles (3)" in whole.stdout, search


def test_an_empty_topic_or_source_is_refused_like_an_unknown_one(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # `-t ''` (an unset shell variable: `-t "$TOPIC"`) skipped the check and filtered on a topic named '',
    # so `articles` and `export` printed an empty list with exit 0, where `-t nosuch` says what is configured.
    store(repository, "南京为何养不出“六小龙”")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    for args, says in ((("articles", "-t", ""), "no topic named ''"), (("articles", "-s", ""), "unknown source ''"),
                       (("articles", "-q", "六小龙", "-t", ""), "no topic named ''"),
                       (("export", "-t", ""), "no topic named ''")):
        result = run_cli(*args, config=config)
        assert result.returncode == 2, (args, result.stdout)
        assert says in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_a_source_removed_from_the_config_still_lists_its_stored_articles(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # `-s retired` said "unknown source" although its articles were stored: the only way to see them was SQL.
    store(repository, "南京为何养不出“六小龙”", source="retired")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    for search in ((), ("-q", "六小龙")):
        listed = run_cli("articles", "--json", "-s", "retired", *search, config=config)
        assert listed.returncode == 0, listed.stderr
        assert [json.loads(line)["title"] for line in listed.stdout.splitlines()] == ["南京为何养不出“六小龙”"], search
    # A name nothing was ever stored under is still a typo.
    unknown = run_cli("articles", "-s", "retird", config=config)
    assert unknown.returncode == 2 and "unknown source 'retird'" in unknown.stderr


def test_control_characters_stored_before_they_were_stripped_never_reach_the_terminal(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # Headlines and run notes stored by an older version kept their escape sequences: a table
    # printed them raw, recolouring (or retitling, or clearing) the operator's terminal.
    store(repository, "\x1b[31m南京\x1b]0;pwned\x07为何养不出六小龙\x1b[0m", source="jiangnan\x1b[2J")
    repository.sync_sources([("jiangnan", "feed", "https://jiangnan.example/rss.xml")])
    run = repository.start_run("jiangnan", "manual")
    repository.finish_run(run, status="failed", found=0, new=0, duplicate=0, failed=0, http_status=500,
                          error="HTTP 500 \x1b[8mhidden\x1b[0m")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}],
        "sources": [{"name": "jiangnan", "kind": "feed", "url": "https://jiangnan.example/rss.xml"}]})
    listed = run_cli("articles", config=config)
    status = run_cli("status", config=config)
    assert listed.returncode == 0 and status.returncode == 0, listed.stderr + status.stderr
    assert "南京" in listed.stdout and "为何养不出六小龙" in listed.stdout and "hidden" in status.stdout
    for output in (listed.stdout, status.stdout):
        assert "\x1b" not in output and "\x07" not in output, output


def test_an_article_with_a_blank_headline_says_untitled(tmp_path: Path, database_url: str, repository: Repository) -> None:
    # A page whose headline was only spaces had an empty title cell: a row that looked like a rendering bug.
    store(repository, " \u3000 ", text="正文 六小龙 无题")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    listed = run_cli("articles", config=config)
    assert listed.returncode == 0, listed.stderr
    assert "(untitled)" in listed.stdout


def test_a_search_with_no_word_in_it_is_a_usage_error(tmp_path: Path, database_url: str, repository: Repository) -> None:
    # `-q '"'` or `-q '--'` printed "articles (0)" and exit 0, as if nothing matched, where the console
    # says "Nothing to search for"; a script could not tell a typo from no coverage. A blank -q
    # (`-q ''`, `-q "$EMPTY"`) listed every article, exit 0: it has no word in it either.
    store(repository, "南京为何养不出“六小龙”")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    for query in ('"', "--", "。？", "“”", "", "   "):
        result = run_cli("articles", "-q", query, config=config)
        assert result.returncode == 2, (query, result.stdout)
        assert "no word to search for" in result.stderr and "Traceback" not in result.stderr, (query, result.stderr)
        assert len(result.stderr.splitlines()) == 2, result.stderr
    assert run_cli("articles", "-q", "六小龙", config=config).returncode == 0


@pytest.mark.parametrize("command", [("articles", "--json", "--limit", "200"), ("export",)])  # rich's console, sys.stdout
def test_articles_piped_into_head_stop_quietly(
    tmp_path: Path, database_url: str, repository: Repository, command: tuple[str, ...]
) -> None:
    # `mediawatch articles --json | head -1` ended with exit 1 once head had read its line (and
    # "Exception ignored … BrokenPipeError" when the last write was Python's flush at exit): a
    # reader that stops early is not a failure.
    for n in range(200):  # far more than a pipe holds (64 KiB), so writing goes on after head has gone
        store(repository, f"南京六小龙之问 {n}", text="南京能否培育出自己的六小龙？" * 40)
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    mediawatch = Path(sys.executable).parent / "mediawatch"  # the console script users run
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    listing = subprocess.Popen([str(mediawatch), "--config", str(config), *command],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert listing.stdout is not None and listing.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=listing.stdout, capture_output=True, text=True, timeout=60)
    listing.stdout.close()  # head has gone: only the writer still holds the pipe, and its next write fails
    stderr = listing.stderr.read().decode()
    assert listing.wait(timeout=60) == 0, stderr
    assert stderr == ""
    assert json.loads(head.stdout)["title"].startswith("南京六小龙之问")
