"""The console's pages over real HTTP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from scheduler.app import App
from storage.repository import Repository
from tests.digest.support import START, TITLE, FixedClock, digest_config, make_app, store
from tests.scheduler.web.conftest import HOSTILE
from tests.scheduler.web.support import ConsoleServer, csrf_from, sign_in, web_config


@contextmanager
def signed_in(console: ConsoleServer) -> Iterator[httpx.Client]:
    with console.client() as client:
        assert sign_in(client).status_code == 303
        yield client


def headlines(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<td class="headline"><a href="/articles/\d+">([^<]*)</a>', page)]


def test_coverage_lists_articles_newest_first_with_storyline_size(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        page = client.get("/")
    assert page.status_code == 200
    titles = headlines(page.text)
    assert titles[0] == "南京再答六小龙（更新）"  # the latest fetched
    assert "长江大桥维修完成" not in titles  # off topic unless asked for
    ids = console.app.ids  # type: ignore[attr-defined]
    storyline = console.app.repository.list_articles(relevant_only=False)
    report = next(s.article for s in storyline if s.article.id == ids["report"])
    assert f'<a href="/storylines/{report.storyline_id}">2</a>' in page.text


def test_search_in_traditional_script_finds_the_simplified_article(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        found = headlines(client.get("/search", params={"q": "六小龍 南京"}).text)
        simplified_query = headlines(client.get("/search", params={"q": "城市竞争"}).text)
    assert "江苏官媒三问南京：为什么发展不出“杭州六小龙”？" in found
    assert "海峽兩岸看城市競爭：六小龍從哪裡來" in simplified_query  # and the other way round


def test_search_finds_english_words_and_honours_filters(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        english = headlines(client.get("/search", params={"q": "DeepSeek dragons"}).text)
        by_outlet = headlines(client.get("/", params={"q": "六小龙", "source": "donghai"}).text)
        removed = headlines(client.get("/", params={"state": "removed"}).text)
        edited = headlines(client.get("/", params={"state": "edited"}).text)
        everything = headlines(client.get("/", params={"all": "1", "q": "长江"}).text)
        nothing = client.get("/search", params={"q": "上海"}).text
    assert english == ["Why can't Nanjing grow its own six little dragons?"]
    assert set(by_outlet) == {"江苏官媒三问南京：为什么发展不出“杭州六小龙”？", HOSTILE, "南京再答六小龙（更新）"}
    assert "已删除：南京的回应" in removed and len(removed) == 1
    assert edited == ["南京再答六小龙（更新）"]
    assert everything == ["长江大桥维修完成"]
    assert "No articles match these filters." in nothing


def test_the_language_filter_takes_a_tag_in_any_case(console: ConsoleServer) -> None:
    # "zh-hans" or "EN", typed into a URL or the API, matched nothing and said nothing.
    with signed_in(console) as client:
        found = {typed: headlines(client.get("/", params={"language": typed}).text)
                 for typed in ("zh-Hant", "zh-hant", "ZH_HANT", "en", "EN")}
    assert found["zh-Hant"] == ["海峽兩岸看城市競爭：六小龍從哪裡來"]
    assert found["zh-hant"] == found["ZH_HANT"] == found["zh-Hant"]
    assert found["en"] == found["EN"] == ["Why can't Nanjing grow its own six little dragons?"]


def test_the_language_filter_takes_a_language_without_its_script_or_region(console: ConsoleServer) -> None:
    # "zh" (the tag anyone would type for Chinese) matched nothing: articles are stored as
    # zh-Hans or zh-Hant. A tag now finds itself and its longer forms, as BCP 47 ranges do.
    with signed_in(console) as client:
        chinese = headlines(client.get("/", params={"language": "zh"}).text)
        everything = headlines(client.get("/").text)
        api = client.get("/api/articles", params={"language": "ZH"}).json()["articles"]
        hant = headlines(client.get("/", params={"language": "zh-Hant"}).text)
    assert "海峽兩岸看城市競爭：六小龍從哪裡來" in chinese and "江苏官媒三问南京：为什么发展不出“杭州六小龙”？" in chinese
    assert sorted(chinese) == sorted(h for h in everything if h != "Why can't Nanjing grow its own six little dragons?")
    assert sorted(a["title"] for a in api) == sorted(chinese)
    assert hant == ["海峽兩岸看城市競爭：六小龍從哪裡來"]


def test_a_bad_filter_value_is_reported_and_ignored(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        page = client.get("/", params={"published_from": "yesterday", "min_score": "lots"})
    assert page.status_code == 200
    assert "is not a date" in page.text and "is not a number from 0 to 1" in page.text
    assert headlines(page.text)


def test_article_page_shows_why_it_matched_the_removal_and_the_edit(console: ConsoleServer) -> None:
    ids = console.app.ids  # type: ignore[attr-defined]
    with signed_in(console) as client:
        removed = client.get(f"/articles/{ids['removed']}").text
        edited = client.get(f"/articles/{ids['edited']}").text
        missing = client.get("/articles/999999")
    assert "Removed: on" in removed and "六小龙" in removed
    assert "<del>南京再答六小龙</del>" in edited and "<ins>南京再答六小龙（更新）</ins>" in edited
    assert "<ins>南京表示已经培育出新企业。</ins>" in edited
    assert missing.status_code == 404


def test_storyline_page_shows_the_first_outlet_and_how_it_spread(console: ConsoleServer) -> None:
    ids = console.app.ids  # type: ignore[attr-defined]
    with signed_in(console) as client:
        article = client.get(f"/articles/{ids['reprint']}").text
        storyline_id = re.search(r'href="/storylines/(\d+)"', article).group(1)  # type: ignore[union-attr]
        page = client.get(f"/storylines/{storyline_id}").text
        listing = client.get("/storylines").text
    assert "First reported by <strong>江南日报</strong>" in page
    assert "+3h" in page and "<svg" in page
    assert f'href="/storylines/{storyline_id}"' in listing


def test_sources_page_shows_health_and_the_failed_run(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        page = client.get("/sources").text
        detail = client.get("/sources/donghai").text
        unknown = client.get("/sources/nope")
    assert "HTTP 503 Service Unavailable" in page and "Crawl now" in page
    assert "HTTP 503 Service Unavailable" in detail and "scheduled" in detail
    assert unknown.status_code == 404


def test_crawl_now_queues_a_request_for_the_daemon(console: ConsoleServer) -> None:
    from storage.console import ConsoleQueries

    with signed_in(console) as client:
        page = client.get("/sources/jiangnan")
        answer = client.post("/sources/jiangnan/crawl", data={"csrf_token": csrf_from(page.text)})
        after = client.get(answer.headers["location"]).text
    assert answer.status_code == 303
    assert [r.source_name for r in ConsoleQueries(console.app.engine).pending_crawl_requests()] == ["jiangnan"]
    assert "Waiting for the daemon" in after and 'http-equiv="refresh"' in after
    assert '<p class="notice" role="status">crawl requested: the daemon will start it within seconds</p>' in after


def test_a_status_notice_cannot_be_written_into_the_url(console: ConsoleServer) -> None:
    # The notice after "crawl now" was the `message` query parameter, shown as the console's own
    # words: a link could make it say anything (escaped, but still a phishing line in our voice).
    lure = "Your session expired, visit evil.example"
    with signed_in(console) as client:
        pages = [client.get(path, params=params).text for path, params in (
            ("/sources/jiangnan", {"message": lure}), ("/sources", {"message": lure}),
            ("/sources/jiangnan", {"crawl": lure}),
        )]
    for page in pages:
        assert "evil.example" not in page and 'class="notice"' not in page
        assert 'http-equiv="refresh"' not in page


def test_digest_preview_and_topic_charts(console: ConsoleServer) -> None:
    with signed_in(console) as client:
        digests = client.get("/digests").text
        preview = client.get("/digests/preview/nanjing-six-dragons/page")
        chart = client.get("/topics/nanjing-six-dragons").text
    # The topic is shown by its display title, as digests show it; its key stays in the URLs.
    title = html.escape(TITLE, quote=False)
    assert f"Preview the next digest of {title}" in digests
    assert f">Chart: {title}</a>" in chart and f"<h1>Coverage of {title}</h1>" in chart
    assert 'href="/topics/nanjing-six-dragons"' in chart
    assert preview.status_code == 200 and "sandbox" in preview.headers["content-security-policy"]
    assert "江苏官媒三问南京" in preview.text and "<script>alert" not in preview.text
    assert chart.count("<svg") == 2 and "江南日报" in chart


def test_hostile_titles_and_bodies_stay_inert(console: ConsoleServer) -> None:
    ids = console.app.ids  # type: ignore[attr-defined]
    with signed_in(console) as client:
        pages = [client.get(path).text for path in
                 ("/", "/search?q=正文", f"/articles/{ids['hostile']}", "/digests/preview/nanjing-six-dragons/page")]
        api = client.get("/api/articles", params={"q": "正文"}).json()
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[0]
    assert api["articles"][0]["title"] == HOSTILE  # data stays data in JSON


def test_a_bidi_override_in_a_stored_title_does_not_reorder_the_page(console: ConsoleServer) -> None:
    # A row stored before the crawler dropped them: U+202E reversed the rest of the row (outlet, date).
    stored = store(console.app.repository, "南京\u202e六小龙\u2066之问", source="donghai", text="正文\u202e 六小龙",
                   fetched=START + timedelta(hours=1))
    with signed_in(console) as client:
        pages = [client.get(path).text for path in ("/", "/search?q=正文", f"/articles/{stored}")]
    for page in pages:
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", page)
        assert "南京六小龙之问" in page


def test_source_run_chart_labels_runs_with_their_local_day(coverage_app: App) -> None:
    # A run at 07:53 in Shanghai (23:53 UTC the day before) sat in the table as the 2nd and in the
    # chart under the 1st: the chart took the UTC date.
    evening_utc = datetime(2025, 2, 10, 23, 53, tzinfo=UTC)
    runs = Repository(coverage_app.engine, FixedClock(evening_utc))
    run = runs.start_run("jiangnan", "manual")
    runs.finish_run(run, status="ok", found=4, new=4, duplicate=0, failed=0, http_status=200, error=None)
    with ConsoleServer(coverage_app) as console, signed_in(console) as client:
        page = client.get("/sources/jiangnan").text
    assert "2025-02-11 07:53:00" in page
    assert "<title>2025-02-11: 4</title>" in page and "2025-02-10: 4" not in page


def test_topic_chart_with_only_older_coverage_says_when_the_newest_is(coverage_app: App) -> None:
    # Over a year after the debate (the demo's data, read today) the chart was empty at every
    # window and said only "No coverage in this period", as if nothing had ever been found.
    coverage_app.clock.advance(days=400)  # type: ignore[attr-defined]
    with ConsoleServer(coverage_app) as console, signed_in(console) as client:
        chart = html.unescape(client.get("/topics/nanjing-six-dragons?days=365").text)
    assert "0 relevant articles in the last 365 days" in chart
    assert "the newest is from 2025-02-12" in chart


def test_a_date_at_the_end_of_the_calendar_is_an_open_bound(console: ConsoleServer) -> None:
    # The date picker offers 0001-01-01 and 9999-12-31, but the start of the first day in Shanghai
    # (+08:00) is before the year 1 in UTC and the end of the last is after 9999: a 500 with a
    # traceback. Nothing can be stored before or after either, so the bound filters nothing.
    with signed_in(console) as client:
        everything = headlines(client.get("/").text)
        pages = [client.get(path) for path in (
            "/?published_to=9999-12-31", "/?fetched_from=0001-01-01", "/?fetched_from=0001-01-01&fetched_to=9999-12-31",
        )]
        searched = client.get("/search", params={"q": "六小龙", "published_to": "9999-12-31"})
        api = client.get("/api/articles", params={"published_from": "0001-01-01", "published_to": "9999-12-31"})
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert headlines(pages[1].text) == everything == headlines(pages[2].text)
    assert 'class="error"' not in pages[0].text and headlines(pages[0].text)
    assert searched.status_code == 200 and headlines(searched.text)
    assert api.status_code == 200 and api.json()["articles"]


def test_an_id_too_large_for_the_database_is_not_found(console: ConsoleServer) -> None:
    # 2**63 and beyond fit no INTEGER column: SQLite raised OverflowError (a 500) and PostgreSQL
    # would raise its own error. Such an id names nothing, so it is a 404 like any unknown id.
    huge = "99999999999999999999999"
    with signed_in(console) as client:
        pages = [client.get(f"/{kind}/{n}") for kind in ("articles", "storylines") for n in (huge, str(2**63))]
        api = [client.get(f"/api/{kind}/{n}") for kind in ("articles", "storylines") for n in (huge, str(2**63))]
        runs = client.get("/api/runs", params={"before": huge})
        storylines = client.get("/storylines", params={"min": huge})
    assert [p.status_code for p in pages] == [404] * 4
    assert all("Not found" in p.text for p in pages)
    assert [a.status_code for a in api] == [404] * 4
    assert api[0].json() == {"error": f"no article {huge}"}
    # Bounds past every id or count are brought into range, as `limit` is.
    assert runs.status_code == 200 and runs.json()["runs"]
    assert storylines.status_code == 200


def test_an_empty_list_says_why_it_is_empty(console: ConsoleServer) -> None:
    # Every empty list said "Nothing to search for: type a word.", searched or not.
    with signed_in(console) as client:
        unsearchable = client.get("/search", params={"q": "！？"}).text
        backwards = client.get("/", params={"published_from": "2025-02-11", "published_to": "2025-02-08"}).text
        unknown_source = client.get("/", params={"source": "nope"})
        api_unknown_source = client.get("/api/articles", params={"source": "nope"})
    assert "Nothing to search for: type a word." in unsearchable
    assert "No articles match these filters." in backwards and "Nothing to search for" not in backwards
    # An unknown outlet is reported and ignored, as an unknown topic is (a 400 in the API).
    assert "outlet: no source named &#39;nope&#39;; ignored" in unknown_source.text
    assert headlines(unknown_source.text)
    assert api_unknown_source.status_code == 400 and "no source named 'nope'" in api_unknown_source.json()["error"]


def test_a_page_past_the_end_shows_the_last_page(console: ConsoleServer) -> None:
    # Page 10000 (the old cap, reached from any huge number) said "Nothing to search for" and
    # linked to page 9999; the list has one page here.
    with signed_in(console) as client:
        first = client.get("/").text
        past = [client.get("/", params={"page": n}).text for n in ("2", "99999999999999999999")]
        nothing = client.get("/", params={"q": "上海", "page": "3"}).text
        searched = client.get("/search", params={"q": "六小龙", "page": "4"}).text
    for typed, page in zip(("2", "99999999999999999999"), past, strict=True):
        assert headlines(page) == headlines(first)
        # The number asked for, not the cap it was brought down to ("There is no page 10000").
        assert f"There is no page {typed}: page 1 is the last" in page
        assert '<span class="muted">page 1</span>' in page and 'rel="prev"' not in page
    assert headlines(searched) and "page 1 is the last" in searched
    assert "No articles match these filters." in nothing and '<span class="muted">page 1</span>' in nothing


def test_coverage_and_article_name_topics_by_their_title(console: ConsoleServer) -> None:
    # The rows showed the key (nanjing-six-dragons) where every other page shows the title.
    ids = console.app.ids  # type: ignore[attr-defined]
    with signed_in(console) as client:
        page = client.get("/").text
        article = client.get(f"/articles/{ids['report']}").text
    title = html.escape(TITLE, quote=False)
    tags = re.findall(r'<span class="tag" title="score [^"]*">([^<]*)</span>', page)
    assert tags and all(t.startswith(f"{title} ") for t in tags)
    assert f"<tr><td>{title}</td><td>yes</td>" in article


def test_an_archived_digest_opens_and_its_links_to_the_index_lead_to_the_digests_page(
    coverage_app: App, console: ConsoleServer
) -> None:
    from digest.service import send_digest
    from tests.digest.support import TOPIC

    assert send_digest(coverage_app.digest_context(), TOPIC).digest_id is not None  # archived, no one to mail
    with signed_in(console) as client:
        listing = client.get("/digests").text
        page_url = re.search(r'href="(/digests/archive/[^"]+\.html)"', listing)
        assert page_url is not None, listing
        page = client.get(html.unescape(page_url.group(1)))
        folder = page_url.group(1).rsplit("/", 1)[0]
        # The archived page links to its folder's index.html, which the console did not serve (404).
        index = client.get(f"{folder}/index.html")
        outside = client.get(f"{folder}/..%2F..%2Fmediawatch.toml")
    assert page.status_code == 200 and "六小龙" in page.text
    assert 'href="index.html"' in page.text
    # Both tables name the topic by its title, as every other page does, not by its key.
    rows = re.findall(r"<tr><td[^>]*>[^<]*</td><td>([^<]*)</td>", listing)
    assert rows and set(rows) == {html.escape(TITLE)}, rows
    assert index.status_code == 303 and index.headers["location"] == "/digests"
    assert outside.status_code == 404


def test_a_topic_whose_key_holds_a_slash_has_its_chart_and_preview(database_url: str, tmp_path: Path) -> None:
    # The links quote the key (cities%2Fnanjing), but routing sees the decoded path: every page 404'd.
    config = web_config(digest_config(database_url, tmp_path, recipients=()))
    config["topics"] = [{**config["topics"][0], "name": "cities/nanjing"}]
    app = make_app(config, FixedClock(START + timedelta(days=1)))
    try:
        store(app.repository, "江苏官媒三问南京：为什么发展不出“杭州六小龙”？", topic="cities/nanjing")
        with ConsoleServer(app) as console, signed_in(console) as client:
            home = client.get("/").text
            chart = client.get("/topics/cities%2Fnanjing")
            preview = client.get("/digests/preview/cities%2Fnanjing")
            framed = client.get("/digests/preview/cities%2Fnanjing/page")
    finally:
        app.close()
    assert 'href="/topics/cities%2Fnanjing"' in home
    assert chart.status_code == 200 and f"<h1>Coverage of {html.escape(TITLE, quote=False)}</h1>" in chart.text
    assert preview.status_code == 200, preview.text
    assert framed.status_code == 200 and "江苏官媒三问南京" in framed.text


def test_the_digests_page_says_archived_for_a_digest_sent_to_nobody_and_names_topics_by_title(
    coverage_app: App, console: ConsoleServer
) -> None:
    from digest.service import send_digest
    from tests.digest.support import TOPIC

    # No recipients, no channels: the digest went to the archive alone, and the ledger said "sent".
    assert send_digest(coverage_app.digest_context(), TOPIC).digest_id is not None
    with signed_in(console) as client:
        listing = client.get("/digests").text
        preview = client.get(f"/digests/preview/{TOPIC}").text
    title = html.escape(TITLE, quote=False)
    [status] = re.findall(r'<tr><td class="num">\d+</td><td>[^<]*</td><td>([^<]*)</td>', listing)
    assert status == "archived"
    assert f"<h1>Next digest: {title}</h1>" in preview and f"Next digest: {title} · mediawatch" in preview


def test_an_article_without_a_headline_is_still_a_link(console: ConsoleServer) -> None:
    # A page whose <title>, <h1> and feed entry were only spaces was listed as an empty <a></a>:
    # nothing to click, and the article page had an empty <h1> and <title>. Digests say "(untitled)".
    stored = store(console.app.repository, " \u3000 ", source="donghai", text="正文 六小龙 无题",
                   fetched=START + timedelta(hours=1))
    with signed_in(console) as client:
        listed = client.get("/").text
        page = client.get(f"/articles/{stored}").text
    assert f'<a href="/articles/{stored}">(untitled)</a>' in listed
    assert "<h1>(untitled)</h1>" in page and "<title>(untitled) · mediawatch</title>" in page


def test_the_sources_list_shows_the_note_of_a_partial_run_and_of_a_run_that_went_well(coverage_app: App) -> None:
    # A partial run showed "partial (200)" and an empty Note column, while `status` and the
    # source's own page said which article page failed and why.
    partial = "1 article page(s) failed; first: https://jiangnan.example/a.html: the host name does not resolve"
    deferred = "6 link(s) deferred (backing off, capped or host waiting)"
    runs = coverage_app.repository
    for source, status, note in (("jiangnan", "partial", partial), ("haixi", "ok", deferred)):
        run = runs.start_run(source, "scheduled")
        runs.finish_run(run, status=status, found=4, new=3, duplicate=0, failed=1, http_status=200, error=note)
    with ConsoleServer(coverage_app) as console, signed_in(console) as client:
        page = html.unescape(client.get("/sources").text)
    notes = re.findall(r'<td class="note">([^<]*)</td>', page)
    assert partial in notes and deferred in notes
    assert "HTTP 503 Service Unavailable" in notes


def test_a_blank_search_lists_nothing_as_a_search_with_no_word_does(console: ConsoleServer) -> None:
    # /search?q=%20%20%20 listed every article while q=* said "Nothing to search for". The search
    # page lists what a query finds, and a blank one finds nothing; the coverage list's search box
    # left blank is no search (the filter form always sends it).
    with signed_in(console) as client:
        everything = headlines(client.get("/").text)
        searches = [client.get("/search", params=params).text for params in ({"q": "   "}, {"q": ""}, {})]
        star = client.get("/search", params={"q": "*"}).text
        filtered = client.get("/", params={"q": "   "}).text
    for page in (*searches, star):
        assert "Nothing to search for: type a word." in page and not headlines(page)
    assert everything and headlines(filtered) == everything


def test_a_search_leaves_out_the_articles_with_a_word_after_a_minus(console: ConsoleServer) -> None:
    # "芯片 -华为" dropped the minus: the articles with 华为 were listed, the opposite of what was asked.
    with signed_in(console) as client:
        everything = headlines(client.get("/search", params={"q": "六小龙"}).text)
        without = client.get("/search", params={"q": "六小龙 -江苏"}).text
        api = client.get("/api/articles", params={"q": "六小龙 -江苏"}).json()
    assert any("江苏" in title for title in everything)
    kept = headlines(without)
    assert kept and all("江苏" not in title for title in kept)
    assert kept == [title for title in everything if "江苏" not in title]
    assert re.search(r'without: <span class="tag">江苏</span>', without)
    assert [a["title"] for a in api["articles"]] == kept
