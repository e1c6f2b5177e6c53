"""The digest's configuration sections: `[digest]` and `[smtp]`."""

from __future__ import annotations

from pydantic import Field

from storage.settings import HttpUrl, Section, TimeZoneName


class DigestConfig(Section):
    recipients: list[str] = Field(default_factory=list, description="addresses that receive the digest")
    schedule: str = Field("0 8 * * *", description="cron expression (minute hour day month weekday)")
    timezone: TimeZoneName = Field("Asia/Shanghai", description="time zone for the schedule and displayed times")
    archive_dir: str = Field("digests", description="folder for HTML/text digests, index.html and feed.xml")
    send_empty: bool = Field(
        False, description="send a digest even when nothing is new or changed (a takedown or edit always sends one)"
    )
    max_per_section: int = Field(20, ge=1, description="entries per section before 'and N more'")
    archive_url: HttpUrl | None = Field(None, description="http(s) URL where archive_dir is served; digests link to it")


class SmtpConfig(Section):
    host: str = Field("127.0.0.1", description="SMTP server")
    port: int = Field(25, ge=1, le=65535, description="SMTP port")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(False, description="connect with implicit TLS (port 465)")
    username: str | None = Field(None, description="login name; the password comes from MEDIAWATCH_SMTP_PASSWORD")
    sender: str = Field("mediawatch@localhost", description="From address")
    password: str | None = Field(None, exclude=True, description="environment only: MEDIAWATCH_SMTP_PASSWORD")
