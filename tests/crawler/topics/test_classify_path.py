"""`mediawatch classify` decides exactly as `make eval` does: the shipped model, its threshold,
the same reasons.

Outside scorers judge the matcher with `mediawatch classify` and the example configuration;
`make eval` (bench/eval_real.py) builds its matcher from tests/data/relevance/topic.toml. If the
two ever drifted apart (a topic whose rules no longer match the model's fingerprint, a
threshold read from the topic instead of the model), the figures in the README would describe
a matcher nobody outside runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.eval_real import DATA, TOPIC_CONFIG, load_rows
from bench.evaluation_topic import load_evaluation_config
from crawler.topics.dates import latest_day
from crawler.topics.matcher import TopicMatcher, read_model
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

EXAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "mediawatch.example.toml"


def test_classify_with_the_example_config_matches_the_evaluation_path(tmp_path: Path) -> None:
    topic = load_evaluation_config(TOPIC_CONFIG).topics[0]
    model = read_model(topic, TOPIC_CONFIG.parent)
    assert model is not None
    evaluation = TopicMatcher(topic, topic.seed.summary if topic.seed else None, model)
    # Dev rows only: the frozen test split is read by `make eval` alone.
    rows = load_rows(DATA, "dev")
    assert any(r["label"] for r in rows) and not all(r["label"] for r in rows)
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        "".join(
            json.dumps({"title": r["title"], "text": r["excerpt"], "url": r["url"], "published": r["published"]},
                       ensure_ascii=False) + "\n"
            for r in rows
        ),
        encoding="utf-8",
    )

    result = run_cli("classify", str(articles), config=EXAMPLE_CONFIG)

    assert result.returncode == 0, result.stderr
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decided) == len(rows)
    predating = 0
    for row, out in zip(rows, decided, strict=True):
        expected = evaluation.match(row["title"], row["excerpt"], latest_day(row["published"]))
        assert out["url"] == row["url"]
        assert out["relevant"] == expected.relevant, row["id"]
        assert out["score"] == pytest.approx(expected.score, abs=1e-9), row["id"]
        if out["matched"][0].startswith("published "):  # before the topic's `since`: the date decides, alike
            predating += 1
            assert out["matched"] == list(expected.matched) and not out["relevant"]
            continue
        model_reasons = [r for r in out["matched"] if r.startswith("model=")]
        assert model_reasons and model_reasons == [r for r in expected.matched if r.startswith("model=")]
    assert 0 < predating < len(rows)  # both configurations carry `since`, and most rows are judged by the model
