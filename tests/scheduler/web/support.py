"""The console under test: the real Starlette app served by uvicorn on 127.0.0.1, and an HTTP client.

`ConsoleServer` runs the embedded uvicorn server on its own event loop in a thread
(port 0, so tests never collide); `sign_in` logs a client in through the login form,
CSRF token and all, exactly as a browser does.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

import httpx

from scheduler.app import App
from scheduler.web.auth import hash_password
from scheduler.web.crawls import CrawlTrigger, RequestCrawls
from scheduler.web.server import bound_port, build_server

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def console_environ(**extra: str) -> dict[str, str]:
    return {"MEDIAWATCH_WEB_PASSWORD_HASH": password_hash(), "MEDIAWATCH_WEB_SECRET_KEY": "test-secret-key", **extra}


class ConsoleServer:
    """`with ConsoleServer(app) as server:` serves the console until the block ends."""

    def __init__(self, app: App, *, trigger: CrawlTrigger | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.server = build_server(app, trigger or RequestCrawls(app), host="127.0.0.1", port=0,
                                   environ=environ if environ is not None else console_environ())
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)
        self.port = 0

    def __enter__(self) -> ConsoleServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console did not start")
            time.sleep(0.01)
        self.port = bound_port(self.server) or 0
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200, form.status_code
    return client.post("/login", data={"csrf_token": csrf_from(form.text), "password": password, "next": "/"})


def web_config(config: dict[str, Any], **web: Any) -> dict[str, Any]:
    """A digest-support configuration with a [web] section (plain-http cookies: httpx honours Secure)."""
    return {**config, "web": {"secure_cookies": False, **web}}
