"""Loading and validating `mediawatch.toml`: the file and the environment in, one `Config` out.

Each section is declared by the package that uses it (`crawler.config`,
`crawler.topics.config`, `digest.config`; the database and daemon sections here).
Every setting is declared once, with its default and a help text (the README's
settings table is checked against these declarations by a test). Environment
variables `MEDIAWATCH_<SECTION>_<KEY>` override the file; secrets such as the SMTP
password come from the environment only. Errors name the file, the key and what was
expected, and are raised as `ConfigError` (the CLI exits with status 2).
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from crawler.config import (
    CrawlerConfig,
    DiscoveryConfig,
    RecheckConfig,
    SelectorsConfig,
    SourceConfig,
    rsshub_url,
)
from crawler.topics.config import SeedConfig, TopicConfig, TopicGroupConfig
from digest.config import DigestConfig, SmtpConfig, channel_urls_from
from scheduler.web.config import PASSWORD_HASH_ENV, SECRET_KEY_ENV, WebConfig
from storage.durations import format_duration
from storage.errors import ConfigError
from storage.settings import DelayDuration, Duration, Section
from storage.sqlite import plain_sqlite_file, sqlite_file

# The sections are re-exported: this module is where the whole configuration is assembled.
__all__ = [
    "Config", "CrawlerConfig", "DaemonConfig", "DatabaseConfig", "DigestConfig", "DiscoveryConfig", "QueueConfig",
    "RecheckConfig", "SeedConfig", "SelectorsConfig", "SmtpConfig", "SourceConfig", "TopicConfig", "TopicGroupConfig", "WebConfig",
    "config_from_mapping",
    "find_config_file", "load_config", "settings_table",
]

DEFAULT_CONFIG_FILE = "mediawatch.toml"
CONFIG_ENV = "MEDIAWATCH_CONFIG"
ENV_PREFIX = "MEDIAWATCH_"
# Sections whose keys may be overridden by MEDIAWATCH_<SECTION>_<KEY>.
ENV_SECTIONS = ("database", "crawler", "digest", "smtp", "daemon", "recheck", "queue", "discovery", "web")
SECRET_KEYS = {("smtp", "password"), ("digest", "channel_urls")}


DEFAULT_DATABASE_URL = "sqlite:///data/mediawatch.db"


class DatabaseConfig(Section):
    url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite or PostgreSQL; a relative SQLite path is relative to the config file's folder",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if plain_sqlite_file(value) is not None:
            return value  # the common case, read without importing SQLAlchemy (`status` does without it)
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL such as 'sqlite:///data/mediawatch.db'") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{value!r}: only sqlite:/// and postgresql:// databases are supported")
        return value


class DaemonConfig(Section):
    jitter: DelayDuration = Field(
        timedelta(seconds=30),
        description="random delay added to each crawl so sources on one host spread out ('0s': none)",
    )
    digest_grace: Duration = Field(
        timedelta(hours=6), description="a digest missed by downtime is sent on start if this recent"
    )
    shutdown_timeout: Duration = Field(
        timedelta(seconds=30), description="on SIGTERM, how long running crawls may finish"
    )
    heartbeat: Duration = Field(timedelta(seconds=30), description="how often the daemon records that it is alive")
    lease: Duration = Field(
        timedelta(minutes=1),
        description="how long a crawl's lock on its source outlives a crashed process; renewed every third of it",
    )
    metrics_port: int = Field(0, ge=0, le=65535, description="serve Prometheus metrics on this port (0: off)")
    metrics_host: str = Field("127.0.0.1", description="address the metrics endpoint binds to")


class QueueConfig(Section):
    url: str | None = Field(
        None, description="Redis URL of the shared crawl queue: the daemon enqueues, `mediawatch worker`s crawl "
        "(unset: the daemon crawls itself); a password belongs in MEDIAWATCH_QUEUE_URL"
    )
    prefix: str = Field("mediawatch", min_length=1, description="prefix of the queue's Redis keys")
    claim_after: Duration = Field(
        timedelta(seconds=60), description="a job its worker stopped refreshing for this long is taken over by another"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        # Checked here so `config check` catches it, not redis-py at the worker's start.
        if value is not None and value.split("://", 1)[0].lower() not in ("redis", "rediss", "unix"):
            scheme, separator, rest = value.partition("://")
            # Never echo a password, but keep the scheme: it is what is wrong.
            if "@" not in value:
                shown = value
            elif separator:
                shown = f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
            else:
                shown = "…@" + value.rsplit("@", 1)[1]
            raise ValueError(f"{shown!r} is not a Redis URL such as 'redis://127.0.0.1:6379/0'")
        return value


class Config(Section):
    """The whole configuration, as loaded from one file plus the environment."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    crawler: CrawlerConfig = Field(default_factory=CrawlerConfig)
    topics: list[TopicConfig] = Field(min_length=1)
    sources: list[SourceConfig] = Field(default_factory=list)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    recheck: RecheckConfig = Field(default_factory=RecheckConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    discovery: DiscoveryConfig = Field(default_factory=DiscoveryConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    path: Annotated[Path | None, Field(exclude=True)] = None
    # Where the database URL came from, for `status` and `config check`.
    database_origin: Annotated[str, Field(exclude=True)] = "default"

    @model_validator(mode="before")
    @classmethod
    def _rsshub_urls(cls, data: Any) -> Any:
        # An rsshub source names a route; its URL is the route on [discovery] rsshub_url.
        if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
            return data
        discovery = data.get("discovery")
        if not isinstance(discovery, Mapping):
            discovery = {}
        instance = str(discovery.get("rsshub_url") or DiscoveryConfig.model_fields["rsshub_url"].default)
        sources = [
            {**s, "url": rsshub_url(instance, str(s["route"]))}
            if isinstance(s, Mapping) and s.get("kind") == "rsshub" and s.get("route") and not s.get("url") else s
            for s in data["sources"]
        ]
        return {**data, "sources": sources}

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        _require_unique("topics", [t.name for t in self.topics])
        _require_unique("sources", [s.name for s in self.sources])
        known = {t.name for t in self.topics}
        for index, source in enumerate(self.sources):
            for topic in source.topics or []:
                if topic not in known:
                    raise _ErrorAt(("sources", index, "topics"),
                                  f"unknown topic {topic!r}; known topics: {', '.join(sorted(known))}")
        for topic in self.digest.topics:
            if topic not in known:
                raise _ErrorAt(("digest", "topics", topic),
                              f"no topic named {topic!r}; known topics: {', '.join(sorted(known))}")
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

    @property
    def folder(self) -> Path | None:
        """The configuration file's folder, which relative paths in it are relative to."""
        return self.path.parent if self.path is not None else None

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(value).expanduser()
        if path.is_absolute() or self.path is None:
            return path
        return self.path.parent / path


class _ErrorAt(ValueError):
    """A check across sections that failed at one key: `loc` as pydantic writes a location.

    A model validator's own errors are located at the top of the configuration; raised with
    the key they are about, they read like every other error ("sources[1] (s1).name: …").
    """

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _require_unique(section: str, names: list[str]) -> None:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            raise _ErrorAt((section, index, "name"), f"{name!r} is already the name of {section}[{first[name]}]")
        first[name] = index


def find_config_file(explicit: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """`--config`, then $MEDIAWATCH_CONFIG, then ./mediawatch.toml."""
    candidate = explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE
    path = Path(candidate).expanduser()
    if path.is_dir():
        raise ConfigError(f"{path}: a folder, not a configuration file (name the .toml file in it)")
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
    for section in ENV_SECTIONS:
        # Read below before validation (secrets, overrides, channels): `smtp = 5` was a traceback there.
        if section in data and not isinstance(data[section], dict):
            raise ConfigError(f"{label}: {section}: expected a table ([{section}]), got {_kind_of(data[section])}")
    for section, key in SECRET_KEYS:
        if key in data.get(section, {}):
            raise ConfigError(
                f"{label}: [{section}] {key}: secrets are not read from the file; "
                f"set {ENV_PREFIX}{section.upper()}_{key.upper()} in the environment instead"
            )
    overridden = _apply_environment(data, environ)
    if urls := channel_urls_from(data.get("digest"), environ):  # Apprise URLs carry tokens: environment only
        data["digest"] = {**data["digest"], "channel_urls": urls}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(label, exc, data, overridden)) from None
    config = _place_database(config.model_copy(update={"path": path}), raw, environ)
    _check_paths(config, label)
    return config


def _kind_of(value: object) -> str:
    """How a TOML value reads in an error: "an integer", "a string", "a list"…"""
    kinds = ((bool, "true/false"), (int, "an integer"), (float, "a number"), (str, "a string"), (list, "a list"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def unwritable(folder: Path) -> str | None:
    """Why nothing can be written in `folder` (made if missing), or None; leaves nothing behind.

    Tried, not inferred from permissions: root passes every `os.access` check, and still cannot
    make a folder under /proc or on a read-only mount.
    """
    existing = next((candidate for candidate in [folder, *folder.parents] if candidate.exists()), None)
    if existing is None or not existing.is_dir():
        return None  # `_check_paths` names the file in the way
    try:
        with tempfile.TemporaryDirectory(dir=existing, prefix=".mediawatch-check-") as probe:
            if folder != existing:
                (Path(probe) / folder.relative_to(existing)).mkdir(parents=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _check_paths(config: Config, label: str) -> None:
    """Folders the daemon will write to must be folders (or creatable), found now rather than mid-run."""
    def blocked(folder: Path) -> Path | None:
        """The first existing non-folder on the way to `folder`, if any."""
        for candidate in [folder, *folder.parents]:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        return None

    problems = []
    archive = config.resolve_path(config.digest.archive_dir)
    if (file := blocked(archive)) is not None:
        problems.append(f"{label}: digest.archive_dir: {file} is a file, not a folder")
    database = sqlite_file(config.database.url)
    if database is not None:
        if database.is_dir():
            problems.append(f"{label}: database.url: {database} is a folder, not a database file")
        elif (file := blocked(database.parent)) is not None:
            problems.append(f"{label}: database.url: {file} is a file, so the folder {database.parent} cannot be made")
    for index, topic in enumerate(config.topics):
        # Read at every crawl and classify: a missing file must fail `config check`, not each run.
        if topic.seed is not None and topic.seed.text_file:
            seed_file = config.resolve_path(topic.seed.text_file)
            if not os.access(seed_file, os.R_OK) or not seed_file.is_file():
                reason = "not a file" if seed_file.exists() else "No such file or directory"
                problems.append(f"{label}: topics[{index}] ({topic.name}).seed.text_file: {seed_file}: "
                                f"cannot read: {reason}")
    if problems:
        raise ConfigError("\n".join(problems))


def _place_database(config: Config, raw: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Anchor a relative SQLite path to the config file's folder, not to wherever the command runs.

    Before, `status` run from another folder silently created a new, empty database.
    """
    if f"{ENV_PREFIX}DATABASE_URL" in environ:
        origin = f"from {ENV_PREFIX}DATABASE_URL"
    elif isinstance(raw.get("database"), Mapping) and "url" in raw["database"]:
        origin = "from the configuration file"
    else:
        origin = "default"
    url = config.database.url
    file = sqlite_file(url)
    if file is not None and not file.is_absolute() and config.path is not None:
        # Escaped as a URL's path: a folder named "what?" or "50%41off" was read as a query string
        # or a percent-escape, and the database went to another file ("what", "50Aoff/…").
        path = (config.path.resolve().parent / file).as_posix()
        url = "sqlite:///" + path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
        origin += ", relative to the configuration file's folder"
    if url != config.database.url or origin != config.database_origin:
        database = config.database.model_copy(update={"url": url})
        return config.model_copy(update={"database": database, "database_origin": origin})
    return config


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """Override `data` from MEDIAWATCH_<SECTION>_<KEY>; returns (section, key) -> variable name for each one used."""
    used: dict[tuple[str, str], str] = {}
    sections = {name: Config.model_fields[name].annotation for name in ENV_SECTIONS}
    _refuse_unknown_sections(sections, environ)
    for section, model in sections.items():
        assert isinstance(model, type) and issubclass(model, BaseModel)
        _refuse_unknown_overrides(section, model, environ)
        for key, field in model.model_fields.items():
            name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
            value = environ.get(name)
            if value is None:
                continue
            if get_origin(field.annotation) is list or list in get_args(field.annotation):
                data.setdefault(section, {})[key] = [v.strip() for v in value.split(",") if v.strip()]
            else:
                data.setdefault(section, {})[key] = value
            used[(section, key)] = name  # named, not shown: a URL's value may hold a password
    return used


# Sections the environment cannot set: they are lists of tables, written in the file.
FILE_ONLY_SECTIONS = ("topics", "sources")


def _refuse_unknown_sections(sections: Mapping[str, Any], environ: Mapping[str, str]) -> None:
    """MEDIAWATCH_SMPT_PORT is refused, not ignored: a section name close to a real one is a typo.

    A name no section resembles (MEDIAWATCH_CONFIG, MEDIAWATCH_CHANNEL_*, a test's own variable)
    is not an override and is left alone.
    """
    import difflib

    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in (CONFIG_ENV, PASSWORD_HASH_ENV, SECRET_KEY_ENV):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        if section in sections or not key:
            continue
        if section in FILE_ONLY_SECTIONS:
            raise ConfigError(f"environment: {name}: [{section}] is set in the configuration file only")
        close = difflib.get_close_matches(section, list(sections), n=1, cutoff=0.75)
        if close:
            model = sections[close[0]]
            keys = difflib.get_close_matches(key, list(model.model_fields), n=1) or [key]
            raise ConfigError(
                f"environment: {name}: no section [{section}]; "
                f"did you mean {ENV_PREFIX}{close[0].upper()}_{keys[0].upper()}?"
            )


def _refuse_unknown_overrides(section: str, model: type[BaseModel], environ: Mapping[str, str]) -> None:
    """A misspelt MEDIAWATCH_<SECTION>_<KEY> is refused, as a misspelt key in the file is, not ignored."""
    import difflib

    prefix = f"{ENV_PREFIX}{section.upper()}_"
    known = [f"{prefix}{key.upper()}" for key in model.model_fields]
    for name in sorted(environ):
        # Secrets read from the environment by the code that needs them are not settings, but not typos either.
        if name.startswith(prefix) and name not in known and name not in (PASSWORD_HASH_ENV, SECRET_KEY_ENV):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(known)})"
            raise ConfigError(f"environment: {name}: no such setting in [{section}]{hint}")


def _format_validation_error(
    label: str, exc: ValidationError, data: Mapping[str, Any], overridden: Mapping[tuple[str, str], str] | None = None
) -> str:
    lines = []
    for error in exc.errors():
        raised = (error.get("ctx") or {}).get("error")
        loc = raised.loc if isinstance(raised, _ErrorAt) else error["loc"]
        location = _format_location(loc, data)
        variable = (overridden or {}).get(tuple(str(part) for part in loc[:2]))  # type: ignore[arg-type]
        if variable is not None:
            # The value came from the environment: blame the variable, not a file that is fine.
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"environment: {variable}: {location}: {message}")
            continue
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
            if name in ("path", "database_origin"):
                continue
            sub = _model_of(field.annotation)
            if sub is not None:
                keyed = get_origin(field.annotation) is dict  # [digest.topics.<topic>]
                walk(f"{prefix}{name}.<{name.removesuffix('s')}>." if keyed else f"{prefix}{name}.", sub)
                continue
            value = None if field.is_required() else field.get_default(call_default_factory=True)
            default = "" if field.is_required() else repr(format_duration(value) if isinstance(value, timedelta) else value)
            rows.append((f"{prefix}{name}", default, field.description or ""))

    walk("", Config)
    return rows
