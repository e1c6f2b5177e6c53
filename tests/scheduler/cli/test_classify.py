"""`mediawatch classify`: JSON Lines in, one decision per line out, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scheduler.cli.main import app
from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.slow

SEED_TEXT = (
    "江苏官媒连发三问：为什么南京发展不出“杭州六小龙”？\n"
    "交汇点的文章认为，南京高校和科研资源丰富，却没能长出自己的链主企业。\n"
    "评论指出，杭州的成功在于宽容失败的创新氛围和不打扰企业的营商环境。\n"
)

ON_TOPIC = {
    "title": "江苏官媒追问：南京为什么没有“六小龙”？",
    "text": "交汇点连发三文，反思南京的营商环境。",
    "url": "https://a.example/1",
}
TRADITIONAL = {
    "title": "江蘇官媒追問：南京為什麼沒有「六小龍」？",
    "text": "交匯點連發三文，反思南京的營商環境。",
    "lang": "zh-Hant",
}
OFF_TOPIC = {"title": "宇树发布会：新款机器狗开售", "text": "宇树科技在杭州发布会上推出新款四足机器人。"}


def _config(tmp_path: Path) -> Path:
    (tmp_path / "seed.txt").write_text(SEED_TEXT, encoding="utf-8")
    seed = {
        "title": "三问南京",
        "publisher": "交汇点",
        "published": "2025-02-08",
        "url": "https://example.com/seed",
        "text_file": "seed.txt",
    }
    topics: list[dict[str, Any]] = [
        {
            "name": "dragons",
            "threshold": 0.5,
            "similarity_weight": 0.3,
            "seed": seed,
            "groups": [
                {
                    "name": "cohort",
                    "weight": 0.5,
                    "terms": ["六小龙|six little dragons", "深度求索|DeepSeek"],
                },
                {"name": "question", "weight": 0.3, "terms": ["为什么|为何|why", "反思|追问"]},
                {"name": "city", "weight": 0.2, "terms": ["南京|Nanjing"]},
                {"name": "launch", "mode": "none", "terms": ["发布会|product launch"]},
            ],
        },
        {"name": "robots", "keywords": ["宇树|Unitree"]},
    ]
    return write_config(
        tmp_path / "mediawatch.toml",
        {"database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"}, "topics": topics},
    )


def _lines(*rows: dict[str, Any] | str) -> str:
    return "".join(
        (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n" for row in rows
    )


def test_classify_prints_a_decision_per_line_and_names_bad_lines(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text(_lines(ON_TOPIC, "{not json", {"title": "no text"}, "", OFF_TOPIC), encoding="utf-8")
    result = run_cli("classify", str(samples), config=_config(tmp_path))
    assert result.returncode == 1, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 5]
    first, last = out
    assert first["url"] == ON_TOPIC["url"] and first["topic"] == "dragons"
    assert first["relevant"] is True and 0.5 <= first["score"] <= 1.0
    assert {"六小龙", "为什么", "南京"} <= set(first["matched"])
    assert any(m.startswith("similarity=") for m in first["matched"])
    assert last["relevant"] is False and "not:发布会" in last["matched"]
    assert f"{samples}:2: not valid JSON" in result.stderr
    assert f"{samples}:3: missing field 'text'" in result.stderr


def test_classify_gives_simplified_and_traditional_the_same_decision(tmp_path: Path) -> None:
    samples = tmp_path / "pair.jsonl"
    samples.write_text(_lines(ON_TOPIC, TRADITIONAL), encoding="utf-8")
    result = run_cli("classify", str(samples), config=_config(tmp_path))
    assert result.returncode == 0, result.stderr
    simplified, traditional = (json.loads(line) for line in result.stdout.splitlines())
    assert simplified["relevant"] == traditional["relevant"] is True
    assert abs(simplified["score"] - traditional["score"]) <= 0.05


def test_classify_scores_against_the_named_topic(tmp_path: Path) -> None:
    samples = tmp_path / "one.jsonl"
    samples.write_text(_lines(OFF_TOPIC), encoding="utf-8")
    result = run_cli("classify", "--topic", "robots", str(samples), config=_config(tmp_path))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["topic"] == "robots" and decision["relevant"] is True and decision["matched"] == ["宇树"]


def test_classify_unknown_topic_is_a_configuration_error(tmp_path: Path) -> None:
    result = run_cli("classify", "--topic", "nope", "-", config=_config(tmp_path))
    assert result.returncode == 2
    assert "no topic named 'nope'" in result.stderr


def test_classify_missing_seed_file_names_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "seed.txt").unlink()
    result = run_cli("classify", "-", config=config)
    assert result.returncode == 2
    assert "seed.text_file" in result.stderr and "seed.txt" in result.stderr


def test_classify_reads_stdin(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = CliRunner().invoke(app, ["--config", str(config), "classify"], input=_lines(ON_TOPIC, OFF_TOPIC))
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["relevant"] for d in decisions] == [True, False]
