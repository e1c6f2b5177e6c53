"""The JSON API: behind the same sign-in, and in the same shapes as the CLI's --json output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.digest.support import digest_config
from tests.scheduler.web.support import ConsoleServer, sign_in, web_config


def test_api_articles_agree_with_the_cli_json(console: ConsoleServer, database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "mediawatch.toml", web_config(digest_config(database_url, tmp_path, recipients=())))
    cli_articles = run_cli("articles", "--json", "--limit", "50", config=config)
    cli_sources = run_cli("sources", "--json", config=config)
    assert cli_articles.returncode == 0, cli_articles.stderr
    with console.client() as client:
        sign_in(client)
        api_articles = client.get("/api/articles", params={"all": "1", "limit": "50"}).json()
        api_sources = client.get("/api/sources").json()
    from_cli = [json.loads(line) for line in cli_articles.stdout.splitlines() if line.strip()]
    assert len(from_cli) == 8
    assert api_articles["articles"] == from_cli
    assert api_sources["sources"] == [json.loads(line) for line in cli_sources.stdout.splitlines() if line.strip()]


def test_api_search_article_storyline_and_runs(console: ConsoleServer) -> None:
    ids = console.app.ids  # type: ignore[attr-defined]
    with console.client() as client:
        sign_in(client)
        found = client.get("/api/articles", params={"q": "六小龍", "source": "jiangnan"}).json()
        edited = client.get(f"/api/articles/{ids['edited']}").json()
        storyline_id = client.get(f"/api/articles/{ids['reprint']}").json()["storyline_id"]
        storyline = client.get(f"/api/storylines/{storyline_id}").json()
        storylines = client.get("/api/storylines").json()
        runs = client.get("/api/runs", params={"source": "donghai"}).json()
        bad = client.get("/api/articles", params={"published_from": "soon"})
        # An unreadable number was ignored (the default page size came back); the CLI refuses it.
        bad_limit = client.get("/api/articles", params={"limit": "abc"})
        bad_runs = client.get("/api/runs", params={"limit": "1.5"})
        clamped = client.get("/api/articles", params={"limit": "100000"}).json()
        missing = client.get("/api/storylines/999999")
    assert [a["id"] for a in found["articles"]] == [ids["removed"], ids["report"]]
    assert found["terms"] == ["六", "小龙"]
    assert [v["title"] for v in edited["versions"]] == ["南京再答六小龙"] and edited["title"] == "南京再答六小龙（更新）"
    assert storyline["first_source"] == "jiangnan" and [m["source"] for m in storyline["members"]] == ["jiangnan", "donghai"]
    assert storyline["members"][1]["after_first_seconds"] == 3 * 3600
    assert storyline_id in [s["id"] for s in storylines["storylines"]]
    assert runs["runs"][0]["status"] == "failed" and runs["runs"][0]["http_status"] == 503
    assert bad.status_code == 400 and "not a date" in bad.json()["error"]
    assert bad_limit.status_code == 400 and bad_limit.json()["error"] == "limit: not a whole number: 'abc'"
    assert bad_runs.status_code == 400
    assert clamped["limit"] == 500
    assert missing.status_code == 404


def test_an_api_filter_it_refuses_is_not_said_to_be_ignored(console: ConsoleServer) -> None:
    # The 400 said "topic: no topic named 'nope'; ignored": a script's author read that the filter
    # had been dropped and the list served, when nothing was served. The page ignores; the API refuses.
    with console.client() as client:
        sign_in(client)
        answers = {name: client.get("/api/articles", params={name: value}) for name, value in
                   (("topic", "nope"), ("source", "nope"), ("min_score", "NaN"), ("published_from", "soon"))}
    assert {name: (r.status_code, r.json()["error"]) for name, r in answers.items()} == {
        "topic": (400, "topic: no topic named 'nope'"),
        "source": (400, "outlet: no source named 'nope'"),
        "min_score": (400, "relevance: 'NaN' is not a number from 0 to 1"),
        "published_from": (400, "published from: 'soon' is not a date (YYYY-MM-DD)"),
    }
