"""`mediawatch web`: the web console on its own (the daemon serves it too with `[web] enabled = true`)."""

from __future__ import annotations

import errno
import os
import socket
from typing import Annotated

import typer

from scheduler.cli.common import err, open_app, out
from storage.errors import MediawatchError


def register(app: typer.Typer) -> None:
    app.command("web")(web)


def web(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(metavar="HOST", help="Address to bind (default: web.host in the configuration, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default: web.port in the configuration, 8080).", min=0, max=65535)] = None,
    hash_password: Annotated[
        bool, typer.Option("--hash-password", help="Read a password from the terminal, print its hash for MEDIAWATCH_WEB_PASSWORD_HASH, exit.")
    ] = False,
) -> None:
    """Serve the web console: coverage, search, storylines, sources (with crawl now), digests."""
    if hash_password:
        from scheduler.web.auth import hash_password as make_hash

        password = _read_password_twice()
        if len(password) < 8:
            raise typer.BadParameter("use at least 8 characters")
        out.print(make_hash(password), markup=False)
        return
    from crawler.fetch.reactor import run_on_reactor
    from scheduler.web.auth import AuthSettings
    from scheduler.web.server import console_url, serve_standalone

    application = open_app(ctx)
    settings = application.config.web
    bind_host, bind_port = host or settings.host, settings.port if port is None else port
    try:
        # Refuse before announcing an address: no way to sign in (exit 2), or a port in use (exit 1).
        AuthSettings.from_environment(settings, os.environ)
        listening = _listen(bind_host, bind_port)
        bind_port = listening.getsockname()[1]
        err.print(f"mediawatch web console on {console_url(bind_host, bind_port)} (Ctrl-C stops it)", markup=False)
        run_on_reactor(lambda: serve_standalone(
            application, host=bind_host, port=bind_port, environ=os.environ, sockets=[listening]))
    finally:
        application.close()


def _listen(host: str, port: int) -> socket.socket:
    """The console's listening socket, bound here so a taken port is one clear line, not uvicorn's exit 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise MediawatchError(f"the web console cannot listen on {host}:{port}: {reason}") from None


def _read_password_twice() -> str:
    """A password typed twice, prompted on stderr: `HASH="$(mediawatch web --hash-password)"`
    must capture the hash alone.

    Read with getpass rather than typer.prompt, which turns the end of the input into the
    Abort of Ctrl-C (exit 130) and asks again and again after two different passwords.
    Ctrl-C still interrupts (130).
    """
    import getpass
    import sys

    try:
        first = getpass.getpass("password: ", stream=sys.stderr)
        second = getpass.getpass("repeat it: ", stream=sys.stderr)
    except EOFError:
        raise typer.BadParameter("the input ended before a password was typed twice") from None
    if first != second:
        raise typer.BadParameter("the two passwords differ")
    return first
