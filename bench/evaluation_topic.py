"""The evaluation topic (`tests/data/relevance/topic.toml`), loadable with or without ../shared.

Its seed text is the original report in ../shared beside the project, never copied into
the repository. `mediawatch config check` rightly refuses a configuration whose seed file
is missing; the evaluation instead falls back to the seed's summary when the file is not
there (a fresh clone without ../shared), and says which it used.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from scheduler.config import Config, config_from_mapping

TOPIC_CONFIG = Path(__file__).resolve().parent.parent / "tests" / "data" / "relevance" / "topic.toml"


def load_evaluation_config(path: Path = TOPIC_CONFIG, *, use_seed_file: bool = True) -> Config:
    """The topic configuration; a seed `text_file` that is absent (or unwanted) is dropped for the summary."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for topic in raw.get("topics", []):
        seed = topic.get("seed") or {}
        text_file = seed.get("text_file")
        if text_file and (not use_seed_file or not (path.parent / text_file).is_file()):
            del seed["text_file"]
    return config_from_mapping(raw, path=path, environ={})


def seed_source(config: Config) -> str:
    """"seed text file" or "seed summary": what similarity was computed against."""
    seed = config.topics[0].seed
    return "seed text file" if seed is not None and seed.text_file else "seed summary"
