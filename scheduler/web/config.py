"""The `[web]` section: where the console listens and who may use it.

Secrets are not settings: the password hash comes from MEDIAWATCH_WEB_PASSWORD_HASH
and the cookie-signing key from MEDIAWATCH_WEB_SECRET_KEY, both from the environment.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from storage.settings import Duration, Section

PASSWORD_HASH_ENV = "MEDIAWATCH_WEB_PASSWORD_HASH"
SECRET_KEY_ENV = "MEDIAWATCH_WEB_SECRET_KEY"


class WebConfig(Section):
    enabled: bool = Field(False, description="the daemon also serves the web console")
    host: str = Field("127.0.0.1", description="address the web console binds to")
    port: int = Field(8080, ge=0, le=65535, description="port of the web console")
    read_only: bool = Field(False, description="browse only: no crawl-now button, every POST but login refused")
    proxy_header: str | None = Field(
        None, description="trust this request header (set by your reverse proxy) as the signed-in user"
    )
    secure_cookies: bool = Field(True, description="session cookie only over HTTPS (browsers allow it on localhost)")
    session_max_age: Duration = Field(timedelta(hours=12), description="how long a login lasts")
    login_attempts: int = Field(5, ge=1, description="failed logins per client allowed in login_window")
    login_window: Duration = Field(timedelta(minutes=15), description="the window login_attempts is counted in")
    page_size: int = Field(50, ge=1, le=500, description="articles per coverage page")
