"""Who may use the console: a password checked against an Argon2 hash, or a trusted proxy header.

- The password hash comes from MEDIAWATCH_WEB_PASSWORD_HASH (make one with
  `mediawatch web --hash-password`); the file never holds a secret.
- `[web] proxy_header` names a header a reverse proxy sets after its own login; the
  console then trusts it as the user's name. Only set it when the console is reachable
  through that proxy alone.
- Failed logins are counted per client address; past `login_attempts` within
  `login_window` the login form answers 429 until the window has passed.
- Every POST carries the session's CSRF token (`require_csrf`).
- A session is a signed cookie naming a row in the database (`storage.sessions`): signing
  out deletes the row, so a copy of the cookie stops working too.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from scheduler.web.config import PASSWORD_HASH_ENV, SECRET_KEY_ENV, WebConfig
from storage.errors import ConfigError

CSRF_FIELD = "csrf_token"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash to put in MEDIAWATCH_WEB_PASSWORD_HASH."""
    return _hasher.hash(password)


@dataclass(frozen=True)
class AuthSettings:
    """What the console needs to decide who is signed in, read once from config and environment."""

    password_hash: str | None
    proxy_header: str | None
    secret_key: str
    secret_from_environment: bool

    @classmethod
    def from_environment(cls, web: WebConfig, environ: Mapping[str, str]) -> AuthSettings:
        password_hash = (environ.get(PASSWORD_HASH_ENV) or "").strip() or None
        if password_hash is None and not web.proxy_header:
            raise ConfigError(
                f"the web console needs a way to sign in: set {PASSWORD_HASH_ENV} "
                "(make one with `mediawatch web --hash-password`) or [web] proxy_header"
            )
        if password_hash is not None and not password_hash.startswith("$argon2"):
            raise ConfigError(f"{PASSWORD_HASH_ENV} is not an Argon2 hash (make one with `mediawatch web --hash-password`)")
        secret = environ.get(SECRET_KEY_ENV) or ""
        return cls(
            password_hash=password_hash,
            proxy_header=web.proxy_header,
            # Without a key of its own, sessions are signed with a key that lives as long as the process.
            secret_key=secret or secrets.token_urlsafe(32),
            secret_from_environment=bool(secret),
        )

    async def check_password(self, password: str) -> bool:
        """Verify off the event loop: Argon2 is slow on purpose, and the daemon's crawls share the loop."""
        if self.password_hash is None or not password:
            return False
        hashed = self.password_hash

        def verify() -> bool:
            try:
                return _hasher.verify(hashed, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)


class LoginLimiter:
    """Counts failed logins per client in a sliding window."""

    def __init__(self, attempts: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return deque()
        return failures

    def retry_after(self, client: str) -> int:
        """Seconds until this client may try again (0: now)."""
        failures = self._recent(client)
        if len(failures) < self.attempts:
            return 0
        return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failed(self, client: str) -> None:
        self._failures[client].append(self.clock())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SESSION_TOKEN = "sid"  # the key of the session row's token in the signed cookie (`storage.sessions`)


def proxy_user(request: Request, settings: AuthSettings) -> str | None:
    """The user the trusted proxy's header names, when one is configured and present."""
    if settings.proxy_header:
        value = request.headers.get(settings.proxy_header, "").strip()
        if value:
            return value[:200]
    return None


def session_token(request: Request) -> str | None:
    """The token of the database session this request's signed cookie names, if any."""
    token = request.session.get(SESSION_TOKEN)
    return token if isinstance(token, str) and token else None


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str) and isinstance(submitted, str) and bool(submitted)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )
