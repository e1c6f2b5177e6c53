"""Logging to stderr: one line per event, plain or JSON.

mediawatch's own loggers (`crawler`, `digest`, `scheduler`, `storage`) follow
`--log-level`. Libraries (Scrapy, Twisted, APScheduler, trafilatura, …) speak only
at `debug`, except for CRITICAL: their per-request errors and scheduler internals are
already summed up in mediawatch's own per-source and per-digest lines, and at the
default level they buried those lines (859 lines for one offline crawl). Tracebacks
are printed only at `debug`; otherwise an exception becomes `: Type: message` on the
same line. The daemon's life-cycle lines (`EVENTS_LOGGER`) show at the default level,
so a running daemon gives a sign of life without `--log-level info`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LOG_LEVELS = ("debug", "info", "warning", "error")
OWN_PACKAGES = ("crawler", "digest", "scheduler", "storage", "bench")
EVENTS_LOGGER = "scheduler.daemon"


def _short_exception(record: logging.LogRecord) -> str:
    if not record.exc_info or record.exc_info[1] is None:
        return ""
    exc = record.exc_info[1]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()) if "\n" in text else text


class LineFormatter(logging.Formatter):
    """`time LEVEL logger: message`, on one line unless tracebacks are wanted."""

    def __init__(self, *, tracebacks: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return super().format(record)
        line = _one_line(logging.Formatter.format(self, _without_exc(record)))
        short = _short_exception(record)
        return f"{line}: {short}" if short else line


class JsonFormatter(logging.Formatter):
    def __init__(self, *, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["error"] = _short_exception(record)
            if self.tracebacks:
                payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def _without_exc(record: logging.LogRecord) -> logging.LogRecord:
    copy = logging.makeLogRecord(record.__dict__)
    copy.exc_info, copy.exc_text, copy.stack_info = None, None, None
    return copy


class LibraryFilter(logging.Filter):
    """Drops library records below `threshold`; mediawatch's own records pass."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in OWN_PACKAGES:
            return True
        return record.levelno >= self.threshold


def level_number(level: str) -> int:
    numeric = logging.getLevelName(level.upper())
    return numeric if isinstance(numeric, int) else logging.WARNING


def configure_logging(level: str = "warning", *, json_lines: bool = False) -> None:
    numeric = level_number(level)
    debug = numeric <= logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(tracebacks=debug) if json_lines else LineFormatter(tracebacks=debug))
    handler.addFilter(LibraryFilter(logging.DEBUG if debug else logging.CRITICAL))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Python warnings (deprecations inside libraries) go through logging, so the filter applies.
    logging.captureWarnings(True)
    # The daemon's start, per-run and per-digest lines show at the default level too.
    logging.getLogger(EVENTS_LOGGER).setLevel(min(numeric, logging.INFO) if numeric <= logging.WARNING else numeric)
