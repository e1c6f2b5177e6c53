"""`mediawatch demo` works offline on a fresh folder and lists every demo source."""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.demo import DEMO_SITE
from tests.conftest import run_cli


def test_demo_crawls_the_bundled_site_into_a_fresh_database(tmp_path: Path) -> None:
    expected = json.loads((DEMO_SITE / "expected.json").read_text(encoding="utf-8"))
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for source in expected["sources"]:
        assert source["name"] in result.stdout
    assert f"stored articles ({len(expected['articles'])})" in result.stdout
    assert (tmp_path / "demo" / "mediawatch.db").is_file()
    # Running it again starts over instead of finding everything already stored.
    again = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path)
    assert again.returncode == 0
    assert f"stored articles ({len(expected['articles'])})" in again.stdout
