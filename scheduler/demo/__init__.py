"""`mediawatch demo`: the bundled demo site on 127.0.0.1, crawled into a fresh database.

The site (`scheduler/demo/pages/`) is fictional coverage written for mediawatch in the
style of Chinese outlets, with the traps real sites set: a GBK page behind a wrong
charset header, a Big5 page, an off-topic item, a syndicated copy, robots.txt.

The demo writes its configuration (`mediawatch.toml`) next to its database, so every
other command works on the demo data (`mediawatch --config demo/mediawatch.toml
status`); with `--serve` the site stays up on its port for `mediawatch run`. It
deletes a folder only if it made it (a marker file says so) or the folder is empty:
`--dir .` must never wipe a checkout.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.demo.site import StaticSite, load_site
from storage.errors import MediawatchError

DEMO_SITE = Path(__file__).parent / "pages"


def demo_sources(base_url: str, folder: Path = DEMO_SITE) -> list[dict[str, Any]]:
    """The demo's [[sources]], pointing at a running demo site."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    sources = []
    for spec in expected["sources"]:
        source: dict[str, Any] = {
            "name": spec["name"],
            "kind": spec["kind"],
            "url": f"{base_url}/{spec['path']}",
            "title": spec.get("title"),
            "every": "30m",
            "allow_private": True,  # the demo site lives on 127.0.0.1
        }
        if spec.get("link_selector"):
            source["link_selector"] = spec["link_selector"]
        sources.append(source)
    return sources


DEMO_TOPIC: dict[str, Any] = {
    "name": "nanjing-six-dragons",
    # What readers see in the digest (masthead, subject, footer); the name above stays a config key.
    "title": "南京“六小龙”之问 · The Nanjing question",
    "description": "Why Nanjing has not grown Hangzhou's “six little dragons”, and who is asking.",
    "keywords": ["六小龙", "six little dragons", "杭州六小龙", "DeepSeek", "深度求索", "宇树", "Unitree"],
    "seed": {
        "title": "江苏官媒三问南京：为什么发展不出“杭州六小龙”？",
        "publisher": "联合早报",
        "published": "2025-02-11",
        "url": "https://www.zaobao.com.sg/realtime/china",
        "summary": (
            "On 7–8 February 2025 Jiaohuidian, the new-media arm of Jiangsu's party paper Xinhua Daily, "
            "ran three pieces asking why Nanjing could not produce Hangzhou's 'six little dragons' "
            "(DeepSeek, Unitree, Game Science, DeepRobotics, BrainCo, Manycore)."
        ),
    },
}


def demo_config(base_url: str, directory: Path) -> dict[str, Any]:
    """The demo configuration: SQLite and digests under `directory`, written there as mediawatch.toml.

    Paths are relative, so they resolve next to the written file wherever it is read from.
    """
    return {
        "database": {"url": "sqlite:///mediawatch.db"},
        "crawler": {"autothrottle": False, "retry_times": 0, "download_timeout": 10},
        "topics": [DEMO_TOPIC],
        "sources": demo_sources(base_url),
        "digest": {"archive_dir": "digests"},
    }


MARKER = ".mediawatch-demo"


class DemoFolderError(MediawatchError):
    """The demo folder holds something the demo did not put there."""


def prepare_folder(directory: Path) -> None:
    """Start the demo folder afresh, removing only what an earlier demo made."""
    if directory.exists():
        if not directory.is_dir():
            raise DemoFolderError(f"{directory} is a file, not a folder")
        if (directory / MARKER).is_file():
            shutil.rmtree(directory)  # a fresh start every time, so the demo always shows new articles
        elif any(directory.iterdir()):
            raise DemoFolderError(
                f"{directory} is not empty and was not made by `mediawatch demo`; "
                "give --dir a new or empty folder (nothing was deleted)"
            )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text("made by `mediawatch demo`: it may delete this folder on its next run\n")


def write_toml(config: dict[str, Any], path: Path) -> None:
    """Write the demo configuration (tables, arrays of tables, strings, numbers, booleans) as TOML."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a TOML basic string

    def table(name: str, data: dict[str, Any], lines: list[str], header: str) -> None:
        lines.append(header.format(name))
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        lines += [f"{k} = {value(v)}" for k, v in data.items() if v is not None and not isinstance(v, dict)]
        lines.append("")
        for key, sub in nested.items():
            table(f"{name}.{key}", sub, lines, "[{}]")

    lines = ["# Written by `mediawatch demo`; paths are relative to this file's folder.", ""]
    for name, section in config.items():
        if isinstance(section, dict):
            table(name, section, lines, "[{}]")
        else:
            for item in section:
                table(name, item, lines, "[[{}]]")
    path.write_text("\n".join(lines), encoding="utf-8")


@dataclass(frozen=True)
class DemoResult:
    results: list[Any]  # one SourceResult per demo source
    stored: list[Any]  # StoredArticle, newest first
    database: Path
    config: Path
    digest_html: Path | None
    digest_text: Path | None


def run_demo(directory: Path, *, progress: Any = None, port: int = 0, site: StaticSite | None = None) -> DemoResult:
    """Serve the demo site (or use `site`), crawl it into a fresh database under `directory`, write a digest."""
    directory = Path(directory).resolve()
    prepare_folder(directory)
    if site is not None:
        return _crawl_demo(directory, site, progress)
    with open_demo_site(port) as serving:
        return _crawl_demo(directory, serving, progress)


def open_demo_site(port: int = 0) -> StaticSite:
    """The demo site on 127.0.0.1:`port` (0: any free port); use it as a context manager."""
    try:
        return StaticSite(load_site(DEMO_SITE), port=port)
    except OSError as exc:
        raise MediawatchError(f"cannot serve the demo site on 127.0.0.1:{port}: {exc.strerror or exc}") from None


def _crawl_demo(directory: Path, site: StaticSite, progress: Any) -> DemoResult:
    from digest.service import send_digest
    from scheduler.app import build_app, crawl
    from scheduler.config import load_config

    if progress is not None:
        progress.print(f"demo site serving on {site.base_url}")
    config_path = directory / "mediawatch.toml"
    write_toml(demo_config(site.base_url, directory), config_path)
    config = load_config(config_path, environ={})
    application = build_app(config)
    try:
        results = crawl(application, None, trigger="demo")
        stored = application.repository.list_articles(relevant_only=False, limit=None)
        # No recipients are configured, so the digest is archived, not mailed.
        outcome = send_digest(application.digest_context(), DEMO_TOPIC["name"])
    finally:
        application.close()
    return DemoResult(results, stored, directory / "mediawatch.db", config_path, outcome.archive_html,
                      outcome.archive_text)
