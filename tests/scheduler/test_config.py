"""Configuration: validation names the key, the environment overrides, secrets stay out of files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.config import config_from_mapping, load_config
from scheduler.demo.site import Route, StaticSite
from storage.errors import ConfigError
from tests.conftest import REPO_ROOT, run_cli, write_config

MINIMAL = {"topics": [{"name": "t", "keywords": ["六小龙"]}]}


def _source(**overrides: object) -> dict[str, object]:
    source = {"name": "s1", "kind": "feed", "url": "https://news.example.org/feed.xml", "every": "30m"}
    source.update(overrides)
    return source


def test_example_config_is_valid() -> None:
    config = load_config(REPO_ROOT / "mediawatch.example.toml", environ={})
    assert config.topics[0].seed is not None
    assert len(config.sources) >= 7
    assert {s.kind for s in config.sources} <= {"feed", "listing", "sitemap", "search", "rsshub"}
    # Discovery: search sources in each language edition the debate ran in, RSSHub routes for outlets without feeds.
    assert {s.edition for s in config.sources if s.kind == "search"} == {"zh-CN", "zh-TW", "zh-HK", "en"}
    assert all(s.url.startswith(config.discovery.rsshub_url) for s in config.sources if s.kind == "rsshub")


def test_typo_in_key_names_the_key_and_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**MINIMAL, "sources": [_source(evry="5m")]}, environ={})
    message = str(info.value)
    assert "sources[0] (s1).evry" in message
    assert "did you mean 'every'" in message


def test_bad_every_value_is_rejected_with_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(s1\)\.every: '5 fortnights' is not a duration"):
        config_from_mapping({**MINIMAL, "sources": [_source(every="5 fortnights")]}, environ={})


def test_zero_jitter_is_accepted_from_the_file_and_the_environment() -> None:
    # "0s" was refused ("must be longer than zero"), though no jitter is a sensible choice.
    assert config_from_mapping({**MINIMAL, "daemon": {"jitter": "0s"}}, environ={}).daemon.jitter == timedelta(0)
    assert config_from_mapping(MINIMAL, environ={"MEDIAWATCH_DAEMON_JITTER": "0s"}).daemon.jitter == timedelta(0)
    with pytest.raises(ConfigError, match=r"daemon\.heartbeat: '0s' must be longer than zero"):
        config_from_mapping({**MINIMAL, "daemon": {"heartbeat": "0s"}}, environ={})


def test_a_source_on_a_private_address_may_be_crawled_more_often_than_the_floor() -> None:
    # Your own server (test fixtures, an intranet): politeness to someone else's site is not at stake.
    config = config_from_mapping({**MINIMAL, "sources": [_source(every="5s", allow_private=True)]}, environ={})
    assert config.sources[0].every == timedelta(seconds=5)


def test_listing_without_selector_is_rejected() -> None:
    with pytest.raises(ConfigError, match="link_selector"):
        config_from_mapping({**MINIMAL, "sources": [_source(kind="listing")]}, environ={})


def test_non_http_source_url_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        config_from_mapping({**MINIMAL, "sources": [_source(url="file:///etc/passwd")]}, environ={})


def test_source_naming_unknown_topic_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown topic 'nope'"):
        config_from_mapping({**MINIMAL, "sources": [_source(topics=["nope"])]}, environ={})


def test_duplicate_source_names_are_rejected_naming_the_source(tmp_path: Path) -> None:
    # It said "mediawatch.toml: (top level): sources: name 's1' is used twice": neither which entry nor
    # in the form of every other error, where the key's place comes first.
    config = write_config(tmp_path / "mediawatch.toml",
                          {**MINIMAL, "sources": [_source(), _source(url="https://other.example.org/feed.xml")]})
    result = run_cli("config", "check", config=config)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mediawatch: configuration error:",
        f"{config}: sources[1] (s1).name: 's1' is already the name of sources[0]",
    ]


@pytest.mark.parametrize(("data", "expected"), [
    ({"topics": MINIMAL["topics"] * 2}, "topics[1] (t).name: 't' is already the name of topics[0]"),
    ({**MINIMAL, "sources": [_source(topics=["nope"])]}, "sources[0] (s1).topics: unknown topic 'nope'; known topics: t"),
    ({**MINIMAL, "digest": {"topics": {"nope": {}}}}, "digest.topics.nope: no topic named 'nope'; known topics: t"),
])
def test_an_error_between_sections_names_its_key_like_any_other(data: dict[str, object], expected: str) -> None:
    # Checks across sections ran on the whole configuration, and their errors read "(top level): …".
    with pytest.raises(ConfigError) as raised:
        config_from_mapping(data, environ={})
    assert str(raised.value) == f"<config>: {expected}"


def test_environment_overrides_file_values() -> None:
    environ = {
        "MEDIAWATCH_DATABASE_URL": "sqlite:///elsewhere.db",
        "MEDIAWATCH_SMTP_PORT": "2525",
        "MEDIAWATCH_DIGEST_RECIPIENTS": "a@example.org, b@example.org",
        "MEDIAWATCH_SMTP_PASSWORD": "s3cret",
    }
    config = config_from_mapping({**MINIMAL, "smtp": {"port": 25}}, environ=environ)
    assert config.database.url == "sqlite:///elsewhere.db"
    assert config.smtp.port == 2525
    assert config.digest.recipients == ["a@example.org", "b@example.org"]
    assert config.smtp.password == "s3cret"


def test_bad_environment_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"smtp\.port"):
        config_from_mapping(MINIMAL, environ={"MEDIAWATCH_SMTP_PORT": "twenty-five"})


def test_bad_environment_value_is_blamed_on_the_variable_not_the_file(tmp_path: Path) -> None:
    # It used to read "mediawatch.toml: smtp.port: …", sending the operator to a file that is fine.
    path = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "smtp": {"port": 25}})
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={"MEDIAWATCH_SMTP_PORT": "twenty-five"})
    [line] = str(raised.value).splitlines()
    assert line.startswith("environment: MEDIAWATCH_SMTP_PORT: smtp.port: "), line
    assert "mediawatch.toml" not in line


def test_password_in_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="MEDIAWATCH_SMTP_PASSWORD"):
        config_from_mapping({**MINIMAL, "smtp": {"password": "oops"}}, environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[database\nurl = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(path, environ={})


def test_cli_exits_2_on_typo_and_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": [_source(evry="5m")]})
    result = run_cli("config", "check", config=config)
    assert result.returncode == 2
    assert "evry" in result.stderr and "unknown key" in result.stderr


def test_cli_exits_2_on_bad_every(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": [_source(every="soon")]})
    result = run_cli("crawl", config=config)
    assert result.returncode == 2
    assert "every" in result.stderr


@pytest.mark.parametrize("every", ["99999999999999d", "1000000000d", "2932896d"])
def test_a_duration_too_long_to_schedule_is_refused_at_load(tmp_path: Path, every: str) -> None:
    # The first overflowed a C int in config check, the second a timedelta, the third the
    # calendar once added to today (`run` died on start); each was a traceback.
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": [_source(every=every)]})
    for command in (("config", "check"), ("crawl",), ("run",)):
        result = run_cli(*command, config=config)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert f"sources[0] (s1).every: '{every}' is too long (at most 3650d)" in result.stderr
    with pytest.raises(ConfigError, match=r"daemon\.lease: '99999999999999d' is too long"):
        config_from_mapping({**MINIMAL, "daemon": {"lease": "99999999999999d"}}, environ={})


def test_cli_exits_2_when_config_file_is_missing(tmp_path: Path) -> None:
    result = run_cli("sources", config=tmp_path / "absent.toml")
    assert result.returncode == 2
    assert "absent.toml: configuration file not found" in result.stderr


def test_cli_says_so_when_config_names_a_folder(tmp_path: Path) -> None:
    # It said "configuration file not found" of a folder that is there.
    result = run_cli("sources", config=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path}: a folder, not a configuration file" in result.stderr
    assert "not found" not in result.stderr


def test_config_file_can_come_from_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path / "custom.toml", {**MINIMAL, "database": {"url": f"sqlite:///{tmp_path}/x.db"}})
    result = run_cli("config", "check", env={"MEDIAWATCH_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert "custom.toml: OK" in result.stdout


# Everything `config check` passes must load later: before, these passed the check and then
# `status` and `run` died with a ValueError traceback, or a digest went to "not-an-email".
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"digest": {"schedule": "every day"}}, "digest.schedule: 'every day' is not a cron expression"),
        ({"digest": {"schedule": "61 25 * * *"}}, "digest.schedule: '61 25 * * *' is not a valid cron expression"),
        # A day no month has passed, and the daemon never sent a digest ("next digest off").
        ({"digest": {"schedule": "0 8 31 2 *"}}, "digest.schedule: '0 8 31 2 *' never fires: no date has that day and month"),
        ({"digest": {"topics": {"t": {"schedule": "0 7 31 4,6,9,11 *"}}}},
         "digest.topics.t.schedule: '0 7 31 4,6,9,11 *' never fires"),
        ({"digest": {"recipients": ["desk@example.org", "not-an-email"]}},
         "digest.recipients[1]: 'not-an-email' is not an email address"),
        ({"smtp": {"sender": "nobody"}}, "smtp.sender: 'nobody' is not an email address"),
        # Two addresses in one entry passed as the first alone (email.utils.parseaddr keeps the first):
        # the second recipient never got a digest, and nothing said so.
        ({"digest": {"recipients": ["desk@example.org;chief@example.org"]}},
         "digest.recipients[0]: 'desk@example.org;chief@example.org' holds more than one address"),
        ({"digest": {"recipients": ["desk@example.org, chief@example.org"]}}, "holds more than one address"),
        ({"smtp": {"sender": "desk@example.org\r\nBcc: x@example.org"}}, "smtp.sender: "),
        ({"sources": [_source(kind="listing", link_selector="a[[[")]},
         "sources[0] (s1).link_selector: 'a[[[' is not a valid CSS selector"),
        ({"sources": [_source(kind="listing", link_xpath="//a[@href")]},
         "sources[0] (s1).link_xpath: '//a[@href' is not a valid XPath expression"),
        ({"sources": [_source(selectors={"body": "div..x"})]}, "selectors.body: 'div..x' is not a valid CSS selector"),
        ({"sources": [_source(selectors={"date": "//time[@"})]}, "selectors.date: '//time[@' is not a valid XPath"),
        ({"database": {"url": "mysql://db/x"}}, "database.url: 'mysql://db/x': only sqlite"),
        ({"smtp": {"port": 70000}}, "smtp.port: Input should be less than or equal to 65535"),
        ({"daemon": {"metrics_port": -1}}, "daemon.metrics_port"),
        ({"crawler": {"store_batch": 0}}, "crawler.store_batch: Input should be greater than or equal to 1"),
        ({"crawler": {"store_delay": 0}}, "crawler.store_delay: Input should be greater than 0"),
        ({"crawler": {"store_delay": "soon"}}, "crawler.store_delay"),
        # A port or host urllib cannot read passed, and the crawl of *every* source then
        # stored nothing and said "ok" (scrapy.Request raised on it while starting).
        ({"sources": [_source(url="http://127.0.0.1:99999/feed.xml")]},
         "sources[0] (s1).url: 'http://127.0.0.1:99999/feed.xml' is not a valid URL: Port out of range 0-65535"),
        ({"sources": [_source(url="http://127.0.0.1:8o/feed.xml")]}, "sources[0] (s1).url: 'http://127.0.0.1:8o/feed.xml' is not a valid URL"),
        ({"sources": [_source(url="http://:80/feed.xml")]}, "sources[0] (s1).url: 'http://:80/feed.xml' is not an http(s) URL"),
        ({"digest": {"archive_url": "https://news.example:123456/"}}, "digest.archive_url: 'https://news.example:123456/' is not a valid URL"),
        # A section or a [digest] table of the wrong shape was a Python traceback (TypeError,
        # AttributeError) from the loader's own look at it before validation.
        ({"smtp": 5}, "smtp: expected a table ([smtp]), got an integer"),
        ({"digest": "weekly"}, "digest: expected a table ([digest]), got a string"),
        ({"digest": {"topics": "t"}}, "digest.topics: Input should be a valid dictionary"),
        ({"digest": {"topics": ["t"]}}, "digest.topics: Input should be a valid dictionary"),
        ({"digest": {"channels": 5}}, "digest.channels: Input should be a valid list"),
        # An infinite or astronomical wait: `crawl` waited for ever for a retry or a slow server.
        ({"crawler": {"retry_backoff": float("inf")}}, "crawler.retry_backoff: Input should be a finite number"),
        ({"crawler": {"retry_backoff": 1e300}}, "crawler.retry_backoff: Input should be less than or equal to 600"),
        ({"crawler": {"download_timeout": float("inf")}}, "crawler.download_timeout: Input should be a finite number"),
        ({"crawler": {"download_timeout": 1e300}}, "crawler.download_timeout: Input should be less than or equal to 3600"),
        ({"discovery": {"render_timeout": float("inf")}}, "discovery.render_timeout: Input should be a finite number"),
        # A crawl every second passed: a site polled 86,400 times a day.
        ({"sources": [_source(every="1s")]}, "sources[0] (s1): every '1s' is too often"),
        # Passed, then every crawl was refused ("host resolves to non-public address").
        ({"sources": [_source(url="http://127.0.0.1:9/feed.xml")]},
         "sources[0] (s1): 127.0.0.1 is a private or loopback address, which crawls refuse; set allow_private = true"),
        ({"sources": [_source(url="http://192.168.1.5/feed.xml")]}, "sources[0] (s1): 192.168.1.5 is a private"),
        ({"sources": [_source(url="http://[::1]:8080/feed.xml")]}, "sources[0] (s1): ::1 is a private"),
        ({"daemon": {"jitter": "-1s"}}, "daemon.jitter: '-1s' is not a duration"),
        # TOML's true is a Python bool, an int to pydantic: port 1, one retry, a 1 s timeout.
        ({"smtp": {"port": True}}, "smtp.port: expected a number, got true"),
        ({"crawler": {"retry_times": False}}, "crawler.retry_times: expected a number, got false"),
        ({"crawler": {"download_timeout": True}}, "crawler.download_timeout: expected a number, got true"),
        ({"topics": [{"name": "t", "keywords": ["六小龙"], "threshold": True}]},
         "topics[0] (t).threshold: expected a number, got true"),
    ],
)
def test_values_that_would_fail_later_are_refused_at_load(extra: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**MINIMAL, **extra}, environ={})
    assert expected in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_a_digest_topics_override_that_is_not_a_table_is_a_configuration_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", MINIMAL)
    result = run_cli("config", "check", config=config, env={"MEDIAWATCH_DIGEST_TOPICS": "t"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "MEDIAWATCH_DIGEST_TOPICS: digest.topics: Input should be a valid dictionary" in result.stderr


def test_crawl_refuses_an_infinite_retry_backoff_instead_of_waiting_for_ever(tmp_path: Path) -> None:
    site = StaticSite({"feed.xml": Route(b"down", status=500, content_type="text/plain")})
    with site:
        source = _source(url=site.url("/feed.xml"), allow_private=True)
        config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": [source],
                                                             "database": {"url": f"sqlite:///{tmp_path}/x.db"}})
        result = run_cli("crawl", config=config, env={"MEDIAWATCH_CRAWLER_RETRY_BACKOFF": "inf"}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "crawler.retry_backoff: Input should be a finite number" in result.stderr


def test_a_source_on_a_private_address_passes_when_allowed_and_an_rsshub_instance_always() -> None:
    config = config_from_mapping({**MINIMAL, "sources": [
        _source(url="http://127.0.0.1:9/feed.xml", allow_private=True),
        _source(name="hub", kind="rsshub", url="http://192.168.1.5:1200", route="/zaobao/realtime/china"),
        _source(name="public", url="http://93.184.215.14/feed.xml"),
    ]}, environ={})
    assert [s.name for s in config.sources] == ["s1", "hub", "public"]


def test_valid_selectors_cron_and_addresses_pass() -> None:
    config = config_from_mapping({
        **MINIMAL,
        "digest": {"schedule": "30 7 * * mon-fri", "recipients": ["Desk <desk@example.org>", "a.b@news.example.cn"]},
        "sources": [_source(kind="listing", link_selector="h2 > a::attr(href)",
                            selectors={"body": "//div[re:test(@class, 'content')]", "title": "h1::text"})],
    }, environ={})
    assert config.digest.schedule == "30 7 * * mon-fri"


def test_cron_from_the_environment_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"digest\.schedule"):
        config_from_mapping(MINIMAL, environ={"MEDIAWATCH_DIGEST_SCHEDULE": "daily"})


def test_paths_that_cannot_be_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    config_path = write_config(tmp_path / "mediawatch.toml", {
        **MINIMAL, "database": {"url": "sqlite:///blocker/db/mediawatch.db"}, "digest": {"archive_dir": "blocker"},
    })
    with pytest.raises(ConfigError) as info:
        load_config(config_path, environ={})
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert "digest.archive_dir:" in lines[0] and "is a file, not a folder" in lines[0]
    assert "database.url:" in lines[1] and "cannot be made" in lines[1]


def test_config_check_refuses_a_bad_schedule_with_exit_2(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "digest": {"schedule": "every day"}})
    result = run_cli("config", "check", config=config_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "digest.schedule: 'every day' is not a cron expression" in result.stderr


def test_relative_sqlite_path_is_relative_to_the_config_file_not_the_working_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config_path = write_config(site / "mediawatch.toml", MINIMAL)
    config = load_config(config_path, environ={})
    assert config.database.url == f"sqlite:///{(site / 'data' / 'mediawatch.db').resolve().as_posix()}"
    assert config.database_origin == "default, relative to the configuration file's folder"
    from_env = load_config(config_path, environ={"MEDIAWATCH_DATABASE_URL": "sqlite:///elsewhere.db"})
    assert from_env.database_origin.startswith("from MEDIAWATCH_DATABASE_URL")


@pytest.mark.parametrize("folder", ["what?", "50%41off", "issue#7", "南京 新闻"])
def test_the_database_is_placed_in_the_config_files_folder_whatever_its_name(tmp_path: Path, folder: str) -> None:
    # The folder's path went into the SQLite URL as it was: in "what?" everything after the "?"
    # was a query string, and `db upgrade` created the database as a file named "what" next to
    # the folder; "50%41off" was decoded to "50Aoff", a folder the user never made.
    site = tmp_path / folder
    site.mkdir()
    config = write_config(site / "mediawatch.toml", MINIMAL)
    result = run_cli("db", "upgrade", config=config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (site / "data" / "mediawatch.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]
    assert run_cli("status", config=config, cwd=tmp_path).returncode in (0, 1)


def test_rsshub_routes_are_read_from_the_configured_instance_and_the_environment_overrides_it() -> None:
    source = {"name": "zb", "kind": "rsshub", "route": "zaobao/realtime/china"}
    config = config_from_mapping({**MINIMAL, "sources": [source], "discovery": {"rsshub_url": "http://hub:1200/"}},
                                 environ={})
    assert config.sources[0].url == "http://hub:1200/zaobao/realtime/china"
    moved = config_from_mapping({**MINIMAL, "sources": [source]}, environ={"MEDIAWATCH_DISCOVERY_RSSHUB_URL": "http://rsshub:1200"})
    assert moved.sources[0].url == "http://rsshub:1200/zaobao/realtime/china"


def test_config_check_refuses_a_seed_text_file_that_is_not_there(tmp_path: Path) -> None:
    # `config check` once said OK, and every crawl and classify then failed on the missing file.
    seed = {"title": "x", "publisher": "y", "published": "2025-02-11", "url": "https://example.org/",
            "text_file": "seed/report.txt"}
    topic = {"name": "t", "keywords": ["六小龙"], "seed": seed}
    config_path = write_config(tmp_path / "mediawatch.toml", {"topics": [topic]})
    result = run_cli("config", "check", config=config_path)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    line = result.stderr.splitlines()[-1]
    assert line.startswith(f"{config_path}: topics[0] (t).seed.text_file: ")
    assert str(tmp_path / "seed" / "report.txt") in line and "No such file or directory" in line
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "report.txt").write_text("南京为何没有六小龙", encoding="utf-8")
    assert run_cli("config", "check", config=config_path).returncode == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "127.0.0.1:6379"])
def test_a_queue_url_that_is_not_redis_is_refused_at_load(url: str) -> None:
    # It passed `config check` and then `mediawatch worker` and `run` died in redis-py with a traceback.
    with pytest.raises(ConfigError, match=r"queue\.url: .* is not a Redis URL"):
        config_from_mapping(MINIMAL, environ={"MEDIAWATCH_QUEUE_URL": url})
    for good in ("redis://127.0.0.1:6379/0", "rediss://cache.example.org:6380", "unix:///run/redis.sock"):
        assert config_from_mapping(MINIMAL, environ={"MEDIAWATCH_QUEUE_URL": good}).queue.url == good



def test_a_queue_url_of_another_broker_is_named_by_its_scheme_without_its_password() -> None:
    # "amqp://guest:s3cret@127.0.0.1:5672/" was refused as "'127.0.0.1:5672/' is not a Redis URL":
    # hiding the password also hid the scheme, the one thing that was wrong.
    with pytest.raises(ConfigError) as info:
        config_from_mapping(MINIMAL, environ={"MEDIAWATCH_QUEUE_URL": "amqp://guest:s3cret@127.0.0.1:5672/"})
    message = str(info.value)
    assert "'amqp://…@127.0.0.1:5672/' is not a Redis URL" in message, message
    assert "s3cret" not in message and "guest" not in message

def test_a_typo_in_an_environment_override_is_refused_like_one_in_the_file() -> None:
    # MEDIAWATCH_CRAWLER_RETRY_TIME=5 was silently ignored, while `retry_time = 5` in the file is refused.
    with pytest.raises(ConfigError) as info:
        config_from_mapping(MINIMAL, environ={"MEDIAWATCH_CRAWLER_RETRY_TIME": "5"})
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "MEDIAWATCH_CRAWLER_RETRY_TIME" in message and "did you mean MEDIAWATCH_CRAWLER_RETRY_TIMES?" in message
    # Variables that are not section overrides stay allowed.
    others = {"MEDIAWATCH_CONFIG": "x.toml", "MEDIAWATCH_TEST_DATABASE_URL": "sqlite://",
              "MEDIAWATCH_CHANNEL_TEAM": "json://127.0.0.1/", "MEDIAWATCH_SMTP_PASSWORD": "s3cret",
              "MEDIAWATCH_WEB_PASSWORD_HASH": "$argon2id$x", "MEDIAWATCH_WEB_SECRET_KEY": "k" * 32}
    assert config_from_mapping(MINIMAL, environ=others).smtp.password == "s3cret"


@pytest.mark.parametrize(("variable", "hint"), [
    ("MEDIAWATCH_SMPT_PORT", "did you mean MEDIAWATCH_SMTP_PORT?"),
    ("MEDIAWATCH_CRAWLR_RETRY_TIMES", "did you mean MEDIAWATCH_CRAWLER_RETRY_TIMES?"),
    ("MEDIAWATCH_DEAMON_JITTER", "did you mean MEDIAWATCH_DAEMON_JITTER?"),
    ("MEDIAWATCH_SOURCES_URL", "[sources] is set in the configuration file only"),
    ("MEDIAWATCH_TOPICS_KEYWORDS", "[topics] is set in the configuration file only"),
])
def test_a_misspelt_or_file_only_section_in_an_environment_override_is_refused(variable: str, hint: str) -> None:
    # MEDIAWATCH_SMPT_PORT=587 was silently ignored (only a misspelt key was refused, not a
    # misspelt section): `config check` said OK and digests went on to port 25.
    with pytest.raises(ConfigError) as info:
        config_from_mapping(MINIMAL, environ={variable: "587"})
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"environment: {variable}: ") and hint in message, message
    # A name no section resembles is not a setting at all (a test's, another tool's): left alone.
    for other in ("MEDIAWATCH_TEST_DATABASE_URL", "MEDIAWATCH_UPDATE_GOLDEN", "MEDIAWATCH_REGENERATE_GOLDEN",
                  "MEDIAWATCH_UPDATE_SCREENSHOT"):
        config_from_mapping(MINIMAL, environ={other: "1"})


def test_config_check_lines_up_long_source_names_and_marks_disabled_sources(tmp_path: Path) -> None:
    # It said "20 (16 enabled)" without saying which four were off, and a name longer than 20
    # characters pushed its kind and URL out of the column.
    sources = [_source(name="zaobao-realtime-rsshub"), _source(name="short", enabled=False)]
    config = write_config(tmp_path / "mediawatch.toml", {**MINIMAL, "sources": sources})
    result = run_cli("config", "check", config=config)
    assert result.returncode == 0, result.stderr
    long_row, short_row = [line for line in result.stdout.splitlines() if line.startswith("    ")]
    assert long_row.index(" feed ") == short_row.index(" feed ")
    assert short_row.rstrip().endswith("(disabled)") and "disabled" not in long_row


def test_config_check_refuses_a_web_console_no_one_can_sign_in_to(tmp_path: Path) -> None:
    # `config check` said OK for `[web] enabled = true` without MEDIAWATCH_WEB_PASSWORD_HASH (or with one
    # that is not an Argon2 hash), and `mediawatch run` then refused to start with exit 2.
    config_path = write_config(tmp_path / "mediawatch.toml", {"web": {"enabled": True}, "topics": MINIMAL["topics"]})
    missing = run_cli("config", "check", config=config_path)
    assert missing.returncode == 2, missing.stdout
    assert "MEDIAWATCH_WEB_PASSWORD_HASH" in missing.stderr and "Traceback" not in missing.stderr
    not_a_hash = run_cli("config", "check", config=config_path, env={"MEDIAWATCH_WEB_PASSWORD_HASH": "hunter2"})
    assert not_a_hash.returncode == 2 and "not an Argon2 hash" in not_a_hash.stderr
    # A console that is off needs no password, but a hash set for `mediawatch web` must still be one.
    off = write_config(tmp_path / "off.toml", {"topics": MINIMAL["topics"]})
    assert run_cli("config", "check", config=off).returncode == 0
    assert run_cli("config", "check", config=off, env={"MEDIAWATCH_WEB_PASSWORD_HASH": "hunter2"}).returncode == 2
    from scheduler.web.auth import hash_password

    good = run_cli("config", "check", config=config_path, env={"MEDIAWATCH_WEB_PASSWORD_HASH": hash_password("pw")})
    assert good.returncode == 0, good.stderr


def test_an_address_with_a_comma_in_its_quoted_display_name_is_one_address() -> None:
    from storage.settings import check_email

    assert check_email('"Desk, China" <desk@example.org>') == '"Desk, China" <desk@example.org>'
    assert check_email("Desk <desk@example.org>") == "Desk <desk@example.org>"


TOPIC = {"topics": [{"name": "t", "keywords": ["六小龙"]}]}


def test_config_check_refuses_an_archive_folder_that_cannot_be_written(tmp_path: Path) -> None:
    # "/proc/…" is a folder path nothing may create: `config check` said OK, and every digest
    # then failed writing its archive page.
    config_path = write_config(tmp_path / "mediawatch.toml", {**TOPIC, "digest": {"archive_dir": "/proc/mediawatch-digests"}})
    result = run_cli("config", "check", config=config_path)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"{config_path}: digest.archive_dir: /proc/mediawatch-digests: cannot write: "), result.stderr
    # A folder that can be made is fine, and checking it leaves nothing behind.
    config_path = write_config(tmp_path / "mediawatch.toml", {**TOPIC, "digest": {"archive_dir": "out/digests"}})
    assert run_cli("config", "check", config=config_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mediawatch.toml"]
