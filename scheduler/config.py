"""Loading and validating `mediawatch.toml`.

Every setting is declared once, here, with its default and a help text (the README's
settings table is checked against these declarations by a test). Environment
variables `MEDIAWATCH_<SECTION>_<KEY>` override the file; secrets such as the SMTP
password come from the environment only. Errors name the file, the key and what was
expected, and are raised as `ConfigError` (the CLI exits with status 2).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scheduler.durations import parse_duration
from storage.errors import ConfigError

DEFAULT_CONFIG_FILE = "mediawatch.toml"
CONFIG_ENV = "MEDIAWATCH_CONFIG"
ENV_PREFIX = "MEDIAWATCH_"
# Sections whose keys may be overridden by MEDIAWATCH_<SECTION>_<KEY>.
ENV_SECTIONS = ("database", "crawler", "digest", "smtp", "daemon", "recheck")
SECRET_KEYS = {("smtp", "password")}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
    return value


class DatabaseConfig(_Section):
    url: str = Field("sqlite:///data/mediawatch.db", description="SQLAlchemy URL; SQLite or PostgreSQL")


class CrawlerConfig(_Section):
    contact_url: str = Field(
        "https://github.com/mediawatch/mediawatch",
        description="URL named in the User-Agent so site owners can reach the operator",
    )
    obey_robots: bool = Field(True, description="obey robots.txt")
    concurrency_per_host: int = Field(2, ge=1, le=8, description="parallel requests per host")
    download_timeout: float = Field(30.0, gt=0, description="seconds before a request is abandoned")
    max_page_bytes: int = Field(10 * 1024 * 1024, gt=0, description="larger responses are refused")
    retry_times: int = Field(2, ge=0, le=10, description="retries for 5xx and timeouts (never for 4xx)")
    autothrottle: bool = Field(True, description="adapt the request rate to each host's latency")
    max_articles_per_run: int = Field(200, ge=1, description="article pages fetched per source per run")
    retry_backoff: float = Field(2.0, ge=0, description="seconds before the first retry; doubles each retry")
    unhealthy_after: int = Field(3, ge=1, description="failed runs in a row before a source is unhealthy")
    max_backoff: str = Field("1d", description="longest interval an unhealthy source is backed off to")

    @field_validator("max_backoff")
    @classmethod
    def _valid_backoff(cls, value: str) -> str:
        parse_duration(value)
        return value


class DaemonConfig(_Section):
    jitter: str = Field("30s", description="random delay added to each crawl so sources on one host spread out")
    digest_grace: str = Field("6h", description="a digest missed by downtime is sent on start if this recent")
    shutdown_timeout: str = Field("30s", description="on SIGTERM, how long running crawls may finish")
    heartbeat: str = Field("30s", description="how often the daemon records that it is alive")
    lease: str = Field("30m", description="how long a crawl holds its source's lock if its process dies")
    metrics_port: int = Field(0, ge=0, le=65535, description="serve Prometheus metrics on this port (0: off)")
    metrics_host: str = Field("127.0.0.1", description="address the metrics endpoint binds to")

    @field_validator("jitter", "digest_grace", "shutdown_timeout", "heartbeat", "lease")
    @classmethod
    def _valid_durations(cls, value: str) -> str:
        parse_duration(value)
        return value


class RecheckConfig(_Section):
    enabled: bool = Field(True, description="re-check recent articles for edits and takedowns")
    every: str = Field("6h", description="how often the daemon re-checks")
    days: int = Field(7, ge=1, description="re-check articles fetched in the last N days")
    max_per_run: int = Field(500, ge=1, description="articles re-checked per run, least recently checked first")

    @field_validator("every")
    @classmethod
    def _valid_every(cls, value: str) -> str:
        parse_duration(value)
        return value


class SeedConfig(_Section):
    title: str = Field(description="title of the original report")
    publisher: str = Field(description="who published it")
    published: date = Field(description="publication date")
    url: str = Field(description="link to the original report")
    text_file: str | None = Field(None, description="optional file with the report's text (not shipped)")
    summary: str = Field("", description="a few sentences shown at the top of every digest")

    _url = field_validator("url")(classmethod(lambda cls, v: _check_http_url(v)))


class TopicGroupConfig(_Section):
    name: str = Field(min_length=1, description="group name, shown in classify output and validation errors")
    mode: Literal["any", "all", "none"] = Field(
        "any", description="any: one term is enough; all: every term must appear; none: a term vetoes the article"
    )
    weight: float = Field(
        1.0, ge=0, le=1,
        description="any/all: added to the rule score when the group matches; none: fraction of the score taken away",
    )
    terms: list[list[str]] = Field(
        min_length=1, description='terms, each "alias|alias" or a list of aliases (any alias counts as the term)'
    )

    @field_validator("terms", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value  # pydantic reports "should be a valid list"
        terms = []
        for index, term in enumerate(value):
            aliases = term.split("|") if isinstance(term, str) else term
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ValueError(f'terms[{index}]: a term is a string ("深度求索|DeepSeek") or a list of strings')
            aliases = [a.strip() for a in aliases]
            if not aliases or not all(aliases):
                raise ValueError(f"terms[{index}]: empty alias in {term!r}")
            for alias in aliases:
                if not any(ch.isalnum() for ch in alias):
                    raise ValueError(f"terms[{index}]: alias {alias!r} has no letter, digit or character to match")
            terms.append(aliases)
        return terms


class TopicConfig(_Section):
    name: str = Field(min_length=1, description="topic name, used on the command line and in digests")
    keywords: list[str] = Field(
        default_factory=list,
        description='an article matching any keyword is on topic (unless a none group vetoes it); "a|b" are aliases',
    )
    seed: SeedConfig | None = Field(None, description="the original report digests open with")
    threshold: float = Field(0.5, ge=0, le=1, description="an article whose score reaches this is relevant")
    similarity_weight: float | None = Field(
        None, ge=0, le=1,
        description="how much similarity to the seed text counts (default: 0.3 with groups and a seed, else 0)",
    )
    groups: list[TopicGroupConfig] = Field(default_factory=list, description="weighted rule groups ([[topics.groups]])")

    @field_validator("keywords")
    @classmethod
    def _non_empty_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip() for k in value if k.strip()]
        if len(cleaned) != len(value):
            raise ValueError("keywords must be non-empty strings")
        return cleaned

    @field_validator("groups")
    @classmethod
    def _unique_group_names(cls, value: list[TopicGroupConfig]) -> list[TopicGroupConfig]:
        names = [g.name for g in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"group name {twice[0]!r} is used twice")
        return value

    @model_validator(mode="after")
    def _similarity_needs_seed(self) -> TopicConfig:
        if self.similarity_weight and not (self.seed and (self.seed.text_file or self.seed.summary.strip())):
            raise ValueError("similarity_weight needs a seed with text_file or summary to compare against")
        return self


class SelectorsConfig(_Section):
    """Per-source extraction overrides: CSS selectors, or XPath when they start with / or (."""

    body: str | None = Field(None, description="selector for the article body")
    title: str | None = Field(None, description="selector for the headline")
    date: str | None = Field(None, description="selector for the publication date (text or datetime attribute)")
    author: str | None = Field(None, description="selector for the author")


class SourceConfig(_Section):
    name: str = Field(min_length=1, pattern=r"^[\w.-]+$", description="short unique name (letters, digits, - _ .)")
    kind: Literal["feed", "listing", "sitemap"] = Field(description="feed, listing or sitemap")
    url: str = Field(description="the feed, listing page or sitemap URL")
    every: str = Field("30m", description="how often to crawl, e.g. '30m', '2h'")
    topics: list[str] | None = Field(None, description="topics this source feeds (default: all)")
    allow_private: bool = Field(False, description="allow private/loopback addresses (test fixtures only)")
    link_selector: str | None = Field(None, description="listing: CSS selector for article links")
    link_xpath: str | None = Field(None, description="listing: XPath for article links")
    title: str | None = Field(None, description="display name of the outlet")
    timezone: str = Field("Asia/Shanghai", description="publisher's time zone, for dates printed without one")
    enabled: bool = Field(True, description="set false to keep a source configured but idle")
    silent_after: str | None = Field(
        None, description="unhealthy when nothing new for this long (default: 10 × every, at least 2d)"
    )
    selectors: SelectorsConfig | None = Field(None, description="extraction overrides for this source's pages")

    _url = field_validator("url")(classmethod(lambda cls, v: _check_http_url(v)))

    @field_validator("every")
    @classmethod
    def _valid_every(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("silent_after")
    @classmethod
    def _valid_silent_after(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def silence_limit(self) -> timedelta:
        if self.silent_after:
            return parse_duration(self.silent_after)
        return max(self.interval * 10, timedelta(days=2))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @model_validator(mode="after")
    def _listing_needs_selector(self) -> SourceConfig:
        if self.kind == "listing" and not (self.link_selector or self.link_xpath):
            raise ValueError("a listing source needs link_selector (CSS) or link_xpath")
        return self

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.every)

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DigestConfig(_Section):
    recipients: list[str] = Field(default_factory=list, description="addresses that receive the digest")
    schedule: str = Field("0 8 * * *", description="cron expression (minute hour day month weekday)")
    timezone: str = Field("Asia/Shanghai", description="time zone for the schedule and displayed times")
    archive_dir: str = Field("digests", description="folder for HTML/text digests, index.html and feed.xml")
    send_empty: bool = Field(False, description="send a digest even when nothing is new or changed (a takedown or edit always sends one)")
    max_per_section: int = Field(20, ge=1, description="entries per section before 'and N more'")
    archive_url: str | None = Field(None, description="http(s) URL where archive_dir is served; digests link to it")

    @field_validator("archive_url")
    @classmethod
    def _valid_archive_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)


class SmtpConfig(_Section):
    host: str = Field("127.0.0.1", description="SMTP server")
    port: int = Field(25, ge=1, le=65535, description="SMTP port")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(False, description="connect with implicit TLS (port 465)")
    username: str | None = Field(None, description="login name; the password comes from MEDIAWATCH_SMTP_PASSWORD")
    sender: str = Field("mediawatch@localhost", description="From address")
    password: str | None = Field(None, exclude=True, description="environment only: MEDIAWATCH_SMTP_PASSWORD")


class Config(_Section):
    """The whole configuration, as loaded from one file plus the environment."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)  # type: ignore[arg-type]
    crawler: CrawlerConfig = Field(default_factory=CrawlerConfig)  # type: ignore[arg-type]
    topics: list[TopicConfig] = Field(min_length=1)
    sources: list[SourceConfig] = Field(default_factory=list)
    digest: DigestConfig = Field(default_factory=DigestConfig)  # type: ignore[arg-type]
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)  # type: ignore[arg-type]
    recheck: RecheckConfig = Field(default_factory=RecheckConfig)  # type: ignore[arg-type]
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)  # type: ignore[arg-type]
    path: Annotated[Path | None, Field(exclude=True)] = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        _require_unique("topics", [t.name for t in self.topics])
        _require_unique("sources", [s.name for s in self.sources])
        known = {t.name for t in self.topics}
        for index, source in enumerate(self.sources):
            for topic in source.topics or []:
                if topic not in known:
                    raise ValueError(
                        f"sources[{index}] ({source.name}): topics names unknown topic {topic!r}; "
                        f"known topics: {', '.join(sorted(known))}"
                    )
        return self

    def topic(self, name: str | None) -> TopicConfig:
        """The named topic, or the first one when `name` is None."""
        if name is None:
            return self.topics[0]
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise ConfigError(f"no topic named {name!r}; configured: {', '.join(t.name for t in self.topics)}")

    def select_sources(self, names: list[str] | None) -> list[SourceConfig]:
        """The enabled sources, or exactly the named ones (enabled or not)."""
        if not names:
            return [s for s in self.sources if s.enabled]
        by_name = {s.name: s for s in self.sources}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ConfigError(
                f"unknown source {', '.join(map(repr, unknown))}; configured: {', '.join(by_name) or 'none'}"
            )
        return [by_name[n] for n in names]

    def topics_for(self, source: SourceConfig) -> list[TopicConfig]:
        return [t for t in self.topics if source.topics is None or t.name in source.topics]

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(value).expanduser()
        if path.is_absolute() or self.path is None:
            return path
        return self.path.parent / path


def _require_unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{section}: name {name!r} is used twice")
        seen.add(name)


def find_config_file(explicit: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """`--config`, then $MEDIAWATCH_CONFIG, then ./mediawatch.toml."""
    candidate = explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE
    path = Path(candidate).expanduser()
    if not path.is_file():
        hint = " (copy mediawatch.example.toml to start)" if str(candidate) == DEFAULT_CONFIG_FILE else ""
        raise ConfigError(f"{path}: configuration file not found{hint}")
    return path


def load_config(path: str | Path, environ: Mapping[str, str] = os.environ) -> Config:
    """Read, override from the environment, and validate one configuration file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_mapping(raw, path=path, environ=environ)


def config_from_mapping(
    raw: Mapping[str, Any], *, path: Path | None = None, environ: Mapping[str, str] = os.environ
) -> Config:
    """Validate an already-parsed configuration (used by the demo and by tests)."""
    label = str(path) if path else "<config>"
    data = {key: (dict(value) if isinstance(value, Mapping) else value) for key, value in raw.items()}
    for section, key in SECRET_KEYS:
        if key in data.get(section, {}):
            raise ConfigError(
                f"{label}: [{section}] {key}: secrets are not read from the file; "
                f"set {ENV_PREFIX}{section.upper()}_{key.upper()} in the environment instead"
            )
    _apply_environment(data, environ)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(label, exc, data)) from None
    return config.model_copy(update={"path": path})


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    sections = {name: Config.model_fields[name].annotation for name in ENV_SECTIONS}
    for section, model in sections.items():
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key, field in model.model_fields.items():
            value = environ.get(f"{ENV_PREFIX}{section.upper()}_{key.upper()}")
            if value is None:
                continue
            if get_origin(field.annotation) is list or list in get_args(field.annotation):
                data.setdefault(section, {})[key] = [v.strip() for v in value.split(",") if v.strip()]
            else:
                data.setdefault(section, {})[key] = value


def _format_validation_error(label: str, exc: ValidationError, data: Mapping[str, Any]) -> str:
    lines = []
    for error in exc.errors():
        location = _format_location(error["loc"], data)
        if error["type"] == "extra_forbidden":
            lines.append(f"{label}: {location}: unknown key{_did_you_mean(error['loc'])}")
        elif error["type"] == "missing":
            lines.append(f"{label}: {location}: required key is missing")
        else:
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{label}: {location}: {message}")
    return "\n".join(lines)


def _format_location(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
            name = node[item].get("name") if isinstance(node, list) and item < len(node) and isinstance(node[item], Mapping) else None
            if name:
                parts[-1] += f" ({name})"
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    import difflib

    key = str(loc[-1])
    model: type[BaseModel] | None = Config
    for item in loc[:-1]:
        if isinstance(item, int) or model is None:
            continue
        field = model.model_fields.get(str(item))
        model = _model_of(field.annotation) if field else None
    if model is None:
        return ""
    allowed = [name for name, f in model.model_fields.items() if not f.exclude]
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f" {key!r}{hint} (allowed: {', '.join(allowed)})"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found:
            return found
    return None


def settings_table() -> list[tuple[str, str, str]]:
    """Every file setting as (key, default, help), for the README and its test."""
    rows: list[tuple[str, str, str]] = []

    def walk(prefix: str, model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            if name == "path":
                continue
            sub = _model_of(field.annotation)
            if sub is not None:
                walk(f"{prefix}{name}.", sub)
                continue
            default = "" if field.is_required() else repr(field.get_default(call_default_factory=True))
            rows.append((f"{prefix}{name}", default, field.description or ""))

    walk("", Config)
    return rows
