"""The console as a Starlette application: middleware, routes, and the objects they share.

`create_app` is given the wired `App`, a `CrawlTrigger` and the environment (for
the password hash and the session key) and reads nothing else. Pages are in
`scheduler.web.pages`, the JSON API in `scheduler.web.api`.

Every response carries a Content-Security-Policy without inline scripts; pages
are Jinja2 templates with autoescaping on, so a scraped title or body can never
become markup. Archived and previewed digests (our own HTML, but with scraped text
in it) are served with a `sandbox` policy.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.text import headline, printable
from scheduler.app import App
from scheduler.web.auth import (
    CSRF_FIELD,
    AuthSettings,
    LoginLimiter,
    client_address,
    csrf_token,
    csrf_valid,
    proxy_user,
    session_token,
)
from scheduler.web.crawls import CrawlTrigger
from storage.columns import MAX_ID
from storage.console import ConsoleQueries
from storage.sessions import SessionStore

logger = logging.getLogger(__name__)

SESSION_COOKIE = "mediawatch_session"
STATIC_DIR = Path(__file__).parent / "static"
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; object-src 'none'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A digest page: its own inline CSS (css-inline) and nothing else; sandboxed, framable by the console only.
DIGEST_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Console:
    """What every route needs: the app, the queries, templates, auth and the crawl trigger."""

    app: App
    queries: ConsoleQueries
    auth: AuthSettings
    limiter: LoginLimiter
    trigger: CrawlTrigger
    sessions: SessionStore
    templates: Environment
    tz: ZoneInfo
    read_only: bool
    page_size: int
    extra: dict[str, Any] = field(default_factory=dict)

    def user(self, request: Request) -> str | None:
        """The signed-in user, as `RequireLogin` found it for this request."""
        user = getattr(request.state, "user", None)
        return user if isinstance(user, str) else None

    async def find_user(self, request: Request) -> str | None:
        """The proxy's user, else the user of the live session the cookie names (a database read)."""
        user = proxy_user(request, self.auth)
        if user is not None:
            return user
        token = session_token(request)
        return None if token is None else await run_in_threadpool(self.sessions.user, token)

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            request=request,
            user=self.user(request),
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(request),
            read_only=self.read_only,
            topics=[t.name for t in self.app.config.topics],
            topic_titles=self.topic_titles,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(page, status_code=status_code)

    @property
    def topic_titles(self) -> dict[str, str]:
        """Topics shown as digests show them: `[[topics]] title`, else the key (which stays in URLs and forms)."""
        return {t.name: t.title or t.name for t in self.app.config.topics}

    def local(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(self.tz).strftime(fmt) if value is not None else ""

    def outlet(self, source_name: str) -> str:
        for source in self.app.config.sources:
            if source.name == source_name:
                return source.title or source.name
        return source_name


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def path_id(request: Request, name: str, what: str) -> int:
    """The id `name` from the path (`{name:int}`): one larger than any row can have is a 404 before it reaches a query."""
    value: int = request.path_params[name]
    if value > MAX_ID:
        raise HTTPException(404, f"no {what} {value}")
    return value


def csrf_protected(handler: Handler) -> Handler:
    """Refuse a POST whose form does not carry this session's CSRF token (403)."""

    async def checked(request: Request) -> Response:
        form = await request.form()
        if not csrf_valid(request, form.get(CSRF_FIELD)):
            logger.warning("refused %s %s: missing or wrong CSRF token", request.method, request.url.path)
            return PlainTextResponse("refused: the form's security token is missing or out of date; reload the page",
                                     status_code=403)
        return await handler(request)

    checked.__name__ = handler.__name__
    checked.csrf_protected = True  # type: ignore[attr-defined]
    return checked


class SecurityHeaders:
    """Adds the page policy and a few standard headers unless a route set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"content-security-policy", PAGE_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ):
                    if name not in names and not (name == b"x-frame-options" and b"content-security-policy" in names):
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestErrors:
    """A request that fails is one log line; its traceback shows only where every traceback does.

    Starlette answers an unhandled exception with a 500 and raises it again, and uvicorn then
    printed "Exception in ASGI application" and the whole traceback through its own handler,
    at every log level, even for a client that hung up halfway through a form
    (`ClientDisconnect`). Here a hang-up is an info line (no one is left to answer), and any
    other exception is an error line on `scheduler.web.app` and a plain 500; the log
    formatter (`scheduler.logs`) adds the traceback at `--log-level debug`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            logger.info("%s %s: the client went away before its request arrived in full", scope["method"], scope["path"])
        except Exception:
            logger.error("%s %s failed", scope["method"], scope["path"], exc_info=True)
            if not started:
                await PlainTextResponse("internal error; the console's log says more", status_code=500)(
                    scope, receive, send)


class RequireLogin:
    """Anyone not signed in gets the login page (HTML), or 401 (API and POST); nothing else."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/healthz" or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        user = await self.console.find_user(request)
        scope.setdefault("state", {})["user"] = user  # `Console.user` reads it: one lookup a request
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if user is None and path.startswith("/api/"):
            wait = self._basic_auth_wait(request)
            if wait:
                # As the login form answers: a 401 told a script its right password was wrong.
                await JSONResponse({"error": f"too many failed attempts: try again in {wait} s"}, status_code=429,
                                   headers={"Retry-After": str(wait)})(scope, receive, send)
                return
            user = await self._basic_auth(request)
        if user is not None:
            scope.setdefault("state", {})["user"] = user
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = JSONResponse({"error": "sign in first"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="mediawatch"'})
        elif request.method in ("GET", "HEAD"):
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        else:
            response = PlainTextResponse("sign in first", status_code=401)
        await response(scope, receive, send)

    def _basic_auth_wait(self, request: Request) -> int | None:
        """Seconds a client sending Basic credentials must wait, locked out by its failures; None if it need not."""
        if not request.headers.get("authorization", "").lower().startswith("basic "):
            return None
        return self.console.limiter.retry_after(client_address(request)) or None

    async def _basic_auth(self, request: Request) -> str | None:
        """Scripts may send the console password as HTTP Basic auth (any user name) to the API."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        client = client_address(request)
        if self.console.limiter.retry_after(client):
            return None
        try:
            name, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if await self.console.auth.check_password(password):
            self.console.limiter.succeeded(client)
            return name or "api"
        self.console.limiter.failed(client)
        return None


def template_environment() -> Environment:
    # `printable`: no stored control character or bidi override reaches a page (see digest.text).
    env = Environment(loader=PackageLoader("scheduler.web", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True, finalize=printable)
    return env


def create_app(app: App, trigger: CrawlTrigger, environ: Mapping[str, str], *, analyzer: Any = None) -> Starlette:
    """The console for `app`; `environ` supplies MEDIAWATCH_WEB_PASSWORD_HASH and MEDIAWATCH_WEB_SECRET_KEY."""
    from scheduler.web import api, pages

    web = app.config.web
    auth = AuthSettings.from_environment(web, environ)
    if not auth.secret_from_environment:
        logger.info("web console: no MEDIAWATCH_WEB_SECRET_KEY, sessions end when the process does")
    if analyzer is None:
        analyzer = app.repository.analyzer
    console = Console(
        app=app,
        queries=ConsoleQueries(app.engine, analyzer, clock=app.clock),
        auth=auth,
        limiter=LoginLimiter(web.login_attempts, web.login_window.total_seconds()),
        trigger=trigger,
        sessions=SessionStore(app.engine, app.clock),
        templates=template_environment(),
        tz=ZoneInfo(app.config.digest.timezone),
        read_only=web.read_only,
        page_size=web.page_size,
    )
    console.templates.filters["local"] = console.local
    console.templates.filters["outlet"] = console.outlet
    console.templates.filters["headline"] = headline
    console.templates.globals["quote"] = lambda value: quote(str(value), safe="")

    routes = [
        *pages.routes(),
        *api.routes(),
        Route("/healthz", lambda request: PlainTextResponse("ok")),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    starlette = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(RequestErrors),
            Middleware(
                SessionMiddleware,
                secret_key=auth.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=int(web.session_max_age.total_seconds()),
                same_site="lax",
                https_only=web.secure_cookies,
            ),
            Middleware(RequireLogin, console=console),
        ],
        exception_handlers={404: pages.not_found, api.BadQuery: api.bad_query},
    )
    starlette.state.console = console
    return starlette
