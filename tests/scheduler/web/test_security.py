"""Who gets in: anonymous requests see only the login page, POSTs need the CSRF token,
failed logins are rate-limited, read-only mode refuses changes, sessions are signed cookies."""

from __future__ import annotations

import base64

import pytest
from starlette.routing import Route

from scheduler.app import App
from scheduler.web.app import SESSION_COOKIE, create_app
from scheduler.web.auth import AuthSettings, LoginLimiter
from scheduler.web.config import WebConfig
from scheduler.web.crawls import RequestCrawls
from storage.console import ConsoleQueries
from storage.errors import ConfigError
from tests.scheduler.web.support import PASSWORD, ConsoleServer, console_environ, csrf_from, sign_in

PAGES = ("/", "/search?q=南京", "/articles/1", "/storylines", "/storylines/1", "/sources", "/sources/jiangnan",
         "/digests", "/digests/preview/nanjing-six-dragons/page", "/topics/nanjing-six-dragons")
API = ("/api/articles", "/api/articles/1", "/api/storylines", "/api/sources", "/api/status", "/api/runs", "/api/digests")


def test_anonymous_requests_get_nothing_but_the_login_page(console: ConsoleServer) -> None:
    with console.client() as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
            assert "六小龙" not in answer.text and "江南" not in answer.text
        for path in API:
            answer = client.get(path)
            assert answer.status_code == 401 and answer.json() == {"error": "sign in first"}, path
        assert client.post("/sources/jiangnan/crawl", data={}).status_code == 401
        login = client.get("/login")
    assert login.status_code == 200 and 'type="password"' in login.text
    assert "六小龙" not in login.text
    assert ConsoleQueries(console.app.engine).pending_crawl_requests() == []


def test_a_post_without_the_csrf_token_is_refused(console: ConsoleServer) -> None:
    with console.client() as client:
        assert sign_in(client).status_code == 303
        missing = client.post("/sources/jiangnan/crawl", data={})
        wrong = client.post("/sources/jiangnan/crawl", data={"csrf_token": "forged-token-forged-token"})
        logout = client.post("/logout", data={})
        still_in = client.get("/sources")
    assert missing.status_code == 403 and wrong.status_code == 403 and logout.status_code == 403
    assert still_in.status_code == 200
    assert ConsoleQueries(console.app.engine).pending_crawl_requests() == []


def test_the_login_form_itself_needs_its_csrf_token(console: ConsoleServer) -> None:
    with console.client() as client:
        client.get("/login")
        answer = client.post("/login", data={"password": PASSWORD})
        assert answer.status_code == 403
        assert client.get("/").status_code == 303


def test_every_post_route_is_csrf_protected(coverage_app: App) -> None:
    app = create_app(coverage_app, RequestCrawls(coverage_app), console_environ())
    posts = [r for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert {r.path for r in posts} >= {"/login", "/logout", "/sources/{name}/crawl"}
    for route in posts:
        assert getattr(route.endpoint, "csrf_protected", False), route.path


def test_a_wrong_password_is_refused_and_repeated_failures_are_rate_limited(console: ConsoleServer) -> None:
    attempts = console.app.config.web.login_attempts
    with console.client() as client:
        for _ in range(attempts):
            assert sign_in(client, "wrong password").status_code == 401
        blocked = sign_in(client)  # even the right password, until the window passes
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert client.get("/").status_code == 303


def test_the_limiter_forgets_failures_after_the_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(2, 60, clock=lambda: now[0])
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 61 and limiter.retry_after("b") == 0
    now[0] += 61
    assert limiter.retry_after("a") == 0


def test_session_cookie_is_signed_httponly_samesite_and_secure_by_default(coverage_app: App) -> None:
    secure = coverage_app.config.model_copy(update={"web": WebConfig()})
    coverage_app.config = secure
    with ConsoleServer(coverage_app) as server, server.client() as client:
        answer = client.get("/login")
    cookie = answer.headers["set-cookie"].lower()
    assert "mediawatch_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    policy = answer.headers["content-security-policy"]
    assert "script-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_read_only_mode_hides_and_refuses_crawl_now(coverage_app: App) -> None:
    coverage_app.config = coverage_app.config.model_copy(
        update={"web": coverage_app.config.web.model_copy(update={"read_only": True})}
    )
    with ConsoleServer(coverage_app) as server, server.client() as client:
        assert sign_in(client).status_code == 303
        page = client.get("/sources")
        refused = client.post("/sources/jiangnan/crawl", data={"csrf_token": csrf_from(page.text)})
    assert "Crawl now" not in page.text and "read-only" in page.text
    assert refused.status_code == 403
    assert ConsoleQueries(coverage_app.engine).pending_crawl_requests() == []


def test_a_trusted_proxy_header_signs_the_user_in(coverage_app: App) -> None:
    coverage_app.config = coverage_app.config.model_copy(
        update={"web": coverage_app.config.web.model_copy(update={"proxy_header": "X-Forwarded-User"})}
    )
    with ConsoleServer(coverage_app, environ={}) as server, server.client() as client:
        anonymous = client.get("/")
        page = client.get("/", headers={"X-Forwarded-User": "analyst"})
    assert anonymous.status_code == 303
    assert page.status_code == 200 and "analyst" in page.text


def test_scripts_may_use_basic_auth_on_the_api(console: ConsoleServer) -> None:
    good = base64.b64encode(f"script:{PASSWORD}".encode()).decode()
    bad = base64.b64encode(b"script:nope").decode()
    with console.client() as client:
        assert client.get("/api/runs", headers={"Authorization": f"Basic {good}"}).status_code == 200
        assert client.get("/api/runs", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        assert client.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 303  # pages: sign in


def test_basic_auth_during_a_lockout_is_told_to_wait(console: ConsoleServer) -> None:
    # Locked out, even the right password answered 401, as if it were wrong: a script retried at once, for ever.
    good = base64.b64encode(f"script:{PASSWORD}".encode()).decode()
    bad = base64.b64encode(b"script:nope").decode()
    with console.client() as client:
        for _ in range(console.app.config.web.login_attempts):
            assert client.get("/api/runs", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        blocked = client.get("/api/runs", headers={"Authorization": f"Basic {good}"})
        anonymous = client.get("/api/runs")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "try again in" in blocked.json()["error"]
    assert anonymous.status_code == 401  # no credentials: nothing to rate-limit


def test_no_way_to_sign_in_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="MEDIAWATCH_WEB_PASSWORD_HASH"):
        AuthSettings.from_environment(WebConfig(), {})
    with pytest.raises(ConfigError, match="not an Argon2 hash"):
        AuthSettings.from_environment(WebConfig(), {"MEDIAWATCH_WEB_PASSWORD_HASH": "plaintext"})


def test_login_redirects_only_within_the_site(console: ConsoleServer) -> None:
    with console.client() as client:
        form = client.get("/login?next=//evil.example/")
        answer = client.post("/login", data={"csrf_token": csrf_from(form.text), "password": PASSWORD,
                                             "next": "https://evil.example/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_session_cookie_copied_before_sign_out_no_longer_signs_in(console: ConsoleServer) -> None:
    # Sessions were signed cookies and nothing more: signing out cleared the browser's copy, and a
    # copy taken before (a shared computer, a proxy log) stayed good until session_max_age.
    with console.client() as client:
        assert sign_in(client).status_code == 303
        copied = client.cookies[SESSION_COOKIE]
        page = client.get("/sources")
        assert client.post("/logout", data={"csrf_token": csrf_from(page.text)}).status_code == 303
        assert client.get("/sources").status_code == 303
    with console.client() as other:
        other.cookies.set(SESSION_COOKIE, copied)
        assert other.get("/sources").status_code == 303
        assert other.get("/api/status").status_code == 401


def test_a_session_outlives_a_restart_with_the_same_key_but_not_its_sign_out(coverage_app: App) -> None:
    with ConsoleServer(coverage_app) as server, server.client() as client:
        assert sign_in(client).status_code == 303
        cookie = client.cookies[SESSION_COOKIE]
    with ConsoleServer(coverage_app) as server, server.client() as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        page = client.get("/sources")
        assert page.status_code == 200  # the daemon restarted: its readers stay signed in
        client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    with ConsoleServer(coverage_app) as server, server.client() as client:
        client.cookies.set(SESSION_COOKIE, cookie)
        assert client.get("/sources").status_code == 303
