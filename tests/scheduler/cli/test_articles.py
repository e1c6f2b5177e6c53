"""`mediawatch articles` shows dates in `[digest] timezone`, as the README promises for every time shown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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
