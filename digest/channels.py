"""Delivery beyond email: a short summary of each digest through Apprise.

A topic's channels (`[digest] channels`, `[digest.topics.<topic>] channels`) are names
whose Apprise URLs come from the environment: `wecombot://…` (WeCom), `dingtalk://…`,
`feishu://…`, `tgram://…` (Telegram), `slack://…`, `matrix://…`, or a plain webhook
(`json://host/path`, `form://host/path`). Each gets the same few lines: the subject,
the top headlines with their outlets, and a link to the archived digest.

`make_summary` is pure; `AppriseSender` is the one thing here that talks to the
network, and anything with the same call signature (`SendSummary`) can stand in for it.
Apprise answers only "delivered or not", so every failure is temporary: retried with
backoff here, then again on the topic's next digest run (the ledger remembers).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from digest.render import DigestLinks, RenderedDigest
from digest.text import one_line, shorten
from storage.errors import PermanentDeliveryError, TemporaryDeliveryError

logger = logging.getLogger(__name__)

SUMMARY_HEADLINES = 3
SUMMARY_TITLE_CELLS = 90


@dataclass(frozen=True)
class Summary:
    """What a chat channel or webhook receives for one digest."""

    title: str
    body: str

    def to_json(self) -> str:
        return json.dumps({"title": self.title, "body": self.body}, ensure_ascii=False)

    @classmethod
    def from_json(cls, payload: str) -> Summary:
        data = json.loads(payload)
        return cls(title=str(data["title"]), body=str(data["body"]))


class SendSummary(Protocol):
    """Delivers `summary` to the channel `name` at Apprise `url`, or raises `DeliveryError`."""

    def __call__(self, name: str, url: str, summary: Summary) -> None: ...


def make_summary(rendered: RenderedDigest, links: DigestLinks) -> Summary:
    """The subject as title; the top headlines and the archive link as a few plain lines."""
    view = rendered.view
    lines = []
    for story in view.storylines.items[:SUMMARY_HEADLINES]:
        lead = story.lead
        reach = f" (+{len(story.also)} more outlets)" if len(story.also) > 1 else (
            f" (also {story.also[0].outlet})" if story.also else "")
        lines.append(f"• {shorten(one_line(lead.title), SUMMARY_TITLE_CELLS)} — {lead.outlet}{reach}")
    hidden = view.storyline_count - min(view.storyline_count, SUMMARY_HEADLINES)
    if hidden:
        lines.append(f"…and {hidden} more {'storyline' if hidden == 1 else 'storylines'}")
    for change in (*view.removed.items, *view.edited.items)[:SUMMARY_HEADLINES]:
        lines.append(f"• {change.kind}: {shorten(one_line(change.title), SUMMARY_TITLE_CELLS)} — {change.outlet}")
    if links.page:
        lines.append(f"Full digest: {links.page}")
    return Summary(title=rendered.subject, body="\n".join(lines) or rendered.subject)


class AppriseSender:
    """Sends a summary through Apprise, retrying with exponential backoff.

    The URL is never logged or put in an error message: it carries the channel's token.
    """

    def __init__(
        self, *, attempts: int = 3, backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def __call__(self, name: str, url: str, summary: Summary) -> None:
        import apprise  # loads its plugins: only when a channel is used

        service = apprise.Apprise()
        if not service.add(url):
            raise PermanentDeliveryError(
                f"channel {name!r}: its URL is not one Apprise understands (check MEDIAWATCH_CHANNEL_...)"
            )
        problem = ""
        for attempt in range(1, self.attempts + 1):
            with apprise.LogCapture(level=logging.WARNING) as captured:
                delivered = bool(
                    service.notify(body=summary.body, title=summary.title, body_format=apprise.NotifyFormat.TEXT)
                )
            if delivered:
                logger.info("channel %s accepted the digest summary", name)
                return
            problem = _last_line(captured.getvalue()) or "not delivered"
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                logger.warning("channel %s attempt %d/%d failed (%s); retrying in %.1fs",
                               name, attempt, self.attempts, problem, delay)
                self.sleep(delay)
        suffix = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        raise TemporaryDeliveryError(f"channel {name!r} did not take the summary: {problem}{suffix}")


def _last_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return one_line(lines[-1])[:300] if lines else ""
