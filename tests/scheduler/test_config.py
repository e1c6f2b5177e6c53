"""Configuration: validation names the key, the environment overrides, secrets stay out of files."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config import config_from_mapping, load_config
from storage.errors import ConfigError
from tests.conftest import REPO_ROOT, run_cli, write_config

MINIMAL = {"topics": [{"name": "t", "keywords": ["六小龙"]}]}


def _source(**overrides: object) -> dict[str, object]:
    source = {"name": "s1", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml", "every": "30m"}
    source.update(overrides)
    return source


def test_example_config_is_valid() -> None:
    config = load_config(REPO_ROOT / "mediawatch.example.toml", environ={})
    assert config.topics[0].seed is not None
    assert len(config.sources) >= 7
    assert {s.kind for s in config.sources} <= {"feed", "listing", "sitemap"}


def test_typo_in_key_names_the_key_and_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({**MINIMAL, "sources": [_source(evry="5m")]}, environ={})
    message = str(info.value)
    assert "sources[0] (s1).evry" in message
    assert "did you mean 'every'" in message


def test_bad_every_value_is_rejected_with_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(s1\)\.every: '5 fortnights' is not a duration"):
        config_from_mapping({**MINIMAL, "sources": [_source(every="5 fortnights")]}, environ={})


def test_listing_without_selector_is_rejected() -> None:
    with pytest.raises(ConfigError, match="link_selector"):
        config_from_mapping({**MINIMAL, "sources": [_source(kind="listing")]}, environ={})


def test_non_http_source_url_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        config_from_mapping({**MINIMAL, "sources": [_source(url="file:///etc/passwd")]}, environ={})


def test_source_naming_unknown_topic_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown topic 'nope'"):
        config_from_mapping({**MINIMAL, "sources": [_source(topics=["nope"])]}, environ={})


def test_duplicate_source_names_are_rejected() -> None:
    with pytest.raises(ConfigError, match="used twice"):
        config_from_mapping({**MINIMAL, "sources": [_source(), _source()]}, environ={})


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


def test_cli_exits_2_when_config_file_is_missing(tmp_path: Path) -> None:
    result = run_cli("sources", config=tmp_path / "absent.toml")
    assert result.returncode == 2
    assert "absent.toml: configuration file not found" in result.stderr


def test_config_file_can_come_from_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path / "custom.toml", {**MINIMAL, "database": {"url": f"sqlite:///{tmp_path}/x.db"}})
    result = run_cli("config", "check", env={"MEDIAWATCH_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert "custom.toml: OK" in result.stdout
