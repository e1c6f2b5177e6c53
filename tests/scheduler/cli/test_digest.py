"""`mediawatch digest build|send` and `mediawatch digests`, run as a user would: a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storage.repository import Repository
from tests.conftest import run_cli, write_config
from tests.digest.support import SEED, TITLE, TOPIC, SmtpSink, digest_config, free_port, parts, store


def config_file(tmp_path: Path, database_url: str, port: int, **digest: Any) -> Path:
    """mediawatch.toml in its own folder, with a relative archive_dir (resolved next to the file)."""
    data = digest_config(database_url, tmp_path, smtp_port=port, **digest)
    data["digest"]["archive_dir"] = "digests"
    folder = tmp_path / "site"
    folder.mkdir(exist_ok=True)
    return write_config(folder / "mediawatch.toml", data)


def stored_articles(repository: Repository) -> list[str]:
    titles = ["南京为什么没有六小龙？", "南京為什麼沒有六小龍？"]
    store(repository, titles[0], source="jiangnan")
    store(repository, titles[1], source="haixi", language="zh-Hant")
    return titles


def test_digest_send_delivers_once_then_finds_nothing_new(tmp_path: Path, database_url: str, repository: Repository) -> None:
    stored_articles(repository)
    with SmtpSink() as sink:
        config = config_file(tmp_path, database_url, sink.port)

        first = run_cli("digest", "send", config=config)
        second = run_cli("digest", "send", config=config)

    assert first.returncode == 0, first.stderr
    assert f"{TOPIC}: sent digest #" in first.stdout and "(2 article(s)) to 2 recipient(s)" in first.stdout
    archived = Path(first.stdout.splitlines()[1].strip())
    assert archived.parent == tmp_path / "site" / "digests" / TOPIC and archived.is_file()
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"{TOPIC}: nothing new; nothing sent"
    [message] = sink.messages
    text, html = parts(message)
    assert text.index(SEED["title"]) < text.index("2 new articles")
    assert SEED["title"] in html
    assert "南京为什么没有六小龙？" in text and "南京為什麼沒有六小龍？" in text


def test_digest_send_with_smtp_down_exits_non_zero_and_the_next_send_has_everything(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    titles = stored_articles(repository)
    port = free_port()
    config = config_file(tmp_path, database_url, port)

    down = run_cli("digest", "send", "--retries", "1", config=config)

    assert down.returncode == 1
    # One line, not a retry log, a service log, "NOT SENT" and a final error saying it again.
    assert down.stderr.splitlines() == [
        f"mediawatch: digest for '{TOPIC}' not sent: SMTP server 127.0.0.1:{port} refused the connection "
        "(is it running?) (after 2 attempts); its articles stay pending for the next send"
    ]
    assert down.stdout == ""
    store(repository, "故障之后又来一篇六小龙", source="donghai")
    with SmtpSink(port=port) as sink:
        up = run_cli("digest", "send", config=config)

    assert up.returncode == 0, up.stderr
    text, _ = parts(sink.messages[0])
    assert "3 new articles" in text
    assert all(t[:6] in text for t in titles) and "故障之后又来一篇" in text
    listed = [json.loads(line) for line in run_cli("digests", "--json", config=config).stdout.splitlines()]
    assert [(d["status"], d["articles"]) for d in listed] == [("sent", 3), ("failed", 2)]
    assert "refused the connection" in listed[1]["error"]


def test_digest_build_writes_a_preview_and_records_nothing(tmp_path: Path, database_url: str, repository: Repository) -> None:
    stored_articles(repository)
    config = config_file(tmp_path, database_url, free_port())
    out = tmp_path / "preview"

    built = run_cli("digest", "build", "--topic", TOPIC, "--out", str(out), config=config)

    assert built.returncode == 0, built.stderr
    paths = [Path(line) for line in built.stdout.split()]
    assert paths == [out / f"{TOPIC}-preview.html", out / f"{TOPIC}-preview.txt"]
    assert SEED["title"] in paths[0].read_text(encoding="utf-8")
    assert paths[1].read_text(encoding="utf-8").startswith(f"{TITLE}\nDigest of ")
    assert "2 new article(s) from 2 outlet(s)" in built.stderr
    assert run_cli("digests", "--json", config=config).stdout.strip() == ""
    assert not (tmp_path / "site" / "digests").exists()


@pytest.mark.parametrize("out", ["notes.txt", "notes.txt/preview"])
def test_digest_build_out_naming_a_file_is_a_usage_error_that_says_out_is_a_folder(
    tmp_path: Path, database_url: str, repository: Repository, out: str
) -> None:
    # `--out notes.txt`, an existing file, said only "mediawatch: notes.txt: File exists" (exit 1):
    # neither that --out takes a folder nor that the mistake was the command line's.
    stored_articles(repository)
    config = config_file(tmp_path, database_url, free_port())
    (tmp_path / "notes.txt").write_text("my notes\n", encoding="utf-8")

    built = run_cli("digest", "build", "--out", out, config=config, cwd=tmp_path)

    assert built.returncode == 2, built.stderr
    assert built.stderr.splitlines() == [
        "mediawatch digest build: Invalid value for '--out': notes.txt is a file; --out takes a folder for the "
        "preview files (made if missing)",
        "Try 'mediawatch digest build --help' for help.",
    ]
    assert built.stdout == "" and (tmp_path / "notes.txt").read_text(encoding="utf-8") == "my notes\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_smtp_password_comes_from_the_environment(tmp_path: Path, database_url: str, repository: Repository) -> None:
    stored_articles(repository)
    with SmtpSink(credentials=("mediawatch", "s3cret")) as sink:
        data = digest_config(database_url, tmp_path, smtp_port=sink.port)
        data["smtp"]["username"] = "mediawatch"
        config = write_config(tmp_path / "mediawatch.toml", data)

        sent = run_cli("digest", "send", config=config, env={"MEDIAWATCH_SMTP_PASSWORD": "s3cret"})

    assert sent.returncode == 0, sent.stderr
    assert sink.logins == ["mediawatch"] and len(sink.messages) == 1


def test_digests_prints_a_table_of_past_digests(tmp_path: Path, database_url: str, repository: Repository) -> None:
    stored_articles(repository)
    with SmtpSink() as sink:
        config = config_file(tmp_path, database_url, sink.port)
        run_cli("digest", "send", config=config)

    listed = run_cli("digests", "--topic", TOPIC, config=config)

    assert listed.returncode == 0, listed.stderr
    assert "digests (1), times in Asia/Shanghai" in listed.stdout and "sent" in listed.stdout and "@mediawatch.test>" in listed.stdout


def test_an_unknown_topic_is_a_configuration_error(tmp_path: Path, database_url: str) -> None:
    config = config_file(tmp_path, database_url, free_port())

    result = run_cli("digest", "send", "--topic", "no-such-topic", config=config)

    assert result.returncode == 2
    assert "no topic named 'no-such-topic'" in result.stderr


def test_digest_send_sends_a_takedown_alone_and_says_so(tmp_path: Path, database_url: str, repository: Repository) -> None:
    stored_articles(repository)
    with SmtpSink() as sink:
        config = config_file(tmp_path, database_url, sink.port)
        assert run_cli("digest", "send", config=config).returncode == 0
        gone = repository.list_articles(topic=TOPIC)[0].article
        assert gone.id is not None
        repository.mark_removed(gone.id)

        sent = run_cli("digest", "send", config=config)

    assert sent.returncode == 0, sent.stderr
    assert "(0 article(s), 1 removed) to 2 recipient(s)" in sent.stdout
    text, _ = parts(sink.messages[1])
    assert "REMOVED SINCE THE LAST DIGEST" in text and gone.title in text


def test_digests_says_archived_for_a_digest_sent_to_nobody(tmp_path: Path, database_url: str, repository: Repository) -> None:
    # No recipients, no channels: the table said "sent", like a digest someone received.
    stored_articles(repository)
    config = config_file(tmp_path, database_url, free_port(), recipients=())
    assert run_cli("digest", "send", config=config).returncode == 0
    listed = run_cli("digests", config=config)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if TOPIC in line]
    assert " archived " in row and " sent " not in row


def test_digests_shows_a_long_note_whole_and_wraps_it_to_the_terminal(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # The note was cut at 80 characters whatever the terminal's width, mid-word and without an
    # ellipsis: "refused the connection (is it running?) (after 3 atte".
    from datetime import UTC, datetime

    from storage.ledger import DigestLedger

    stored_articles(repository)
    error = ("SMTP 127.0.0.1:8025: the mail server refused the connection (is it running?) "
             "(after 3 attempts)")
    ledger = DigestLedger(repository.engine)
    digest = ledger.claim(TOPIC, now=datetime.now(UTC), period_start=None)
    assert digest is not None and digest.id is not None
    ledger.release(digest.id, error)
    config = config_file(tmp_path, database_url, free_port())

    wide = run_cli("digests", config=config, env={"COLUMNS": "300"})
    narrow = run_cli("digests", config=config, env={"COLUMNS": "100"})

    assert wide.returncode == 0 and narrow.returncode == 0, wide.stderr + narrow.stderr
    assert error in wide.stdout
    assert "atte" not in narrow.stdout.replace("attempts", "")  # wrapped at words, never cut
    assert " ".join(narrow.stdout.split()).count("(after 3 attempts)") == 1
