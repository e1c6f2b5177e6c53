"""Building and sending one topic's digest, in the order that keeps delivery exactly-once.

`send_digest` runs these steps; the daemon's digest job and `mediawatch digest send`
both call it (synchronously: the daemon runs it in a worker thread). What it needs
arrives as one `DigestContext` of plain values, built by the composition root.

1. Release digests a crashed process left `pending` for longer than `STALE_AFTER`.
2. Claim: create the `Digest` row and its `DigestItem` rows in one transaction.
   The ledger, not the clock, decides what is new, so overlapping crawls, clock
   jumps and concurrent sends cannot put an article in two digests of a topic.
   A period with no new articles is still claimed (and sent) when an article an
   earlier digest listed was taken down or edited in it: a takedown is news.
3. Render twice: the email (sections capped at `max_per_section`) and the archive
   page (complete).
4. Write the archive page, so the email's "and N more" link works when it arrives.
5. Hand the message to SMTP (the mailer retries temporary failures with backoff).
6. Mark the digest sent, at once, before anything else can fail.
7. Rebuild the archive's index pages and Atom feeds.

If 3-5 fail, the page is removed, the digest is marked `failed` and its articles
are released to the next digest, and a `DeliveryError` is raised. The one window
for a duplicate is between 5 and 6: if the process dies after the server accepted
the message and before the single UPDATE of step 6 commits, step 1 of a later run
releases the articles and they are sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from crawler.config import SourceConfig
from crawler.topics.config import TopicConfig
from digest.archive import Archive, ArchivedDigest
from digest.config import DigestConfig, SmtpConfig
from digest.deliver import SendMessage, SmtpMailer, SmtpSettings, compose_message
from digest.render import DigestLinks, RenderedDigest, make_subject, render_digest
from digest.select import find_source_problems, select_digest
from digest.text import safe_url
from digest.view import DigestView, SeedReport
from storage.clock import Clock
from storage.errors import ConfigError, DeliveryError
from storage.ledger import DigestLedger, LedgerArticle, LedgerChange
from storage.repository import Repository

logger = logging.getLogger(__name__)

# A digest still pending after this long belongs to a process that died mid-send.
STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class DigestSettings:
    """The `[digest]` and `[smtp]` settings the digest needs, as plain values."""

    recipients: tuple[str, ...]
    tz: ZoneInfo
    archive_dir: Path
    send_empty: bool
    max_per_section: int
    archive_url: str | None
    smtp: SmtpSettings

    @classmethod
    def from_sections(cls, digest: DigestConfig, smtp: SmtpConfig, *, archive_dir: Path) -> DigestSettings:
        """From the sections; `archive_dir` already resolved against the configuration's folder."""
        return cls(
            recipients=tuple(digest.recipients),
            tz=ZoneInfo(digest.timezone),
            archive_dir=archive_dir,
            send_empty=digest.send_empty,
            max_per_section=digest.max_per_section,
            archive_url=safe_url(digest.archive_url),
            smtp=SmtpSettings.from_config(smtp),
        )


@dataclass(frozen=True)
class DigestContext:
    """Everything a digest is made from: settings, topics, outlets, the ledger and the clock."""

    settings: DigestSettings
    topics: Mapping[str, TopicConfig]  # in configuration order
    outlets: Mapping[str, str]  # source name -> outlet name shown to readers
    topic_sources: Mapping[str, tuple[str, ...]]  # topic -> the enabled sources feeding it
    ledger: DigestLedger
    repository: Repository
    clock: Clock

    @classmethod
    def from_sections(
        cls,
        *,
        digest: DigestConfig,
        smtp: SmtpConfig,
        topics: Sequence[TopicConfig],
        sources: Sequence[SourceConfig],
        archive_dir: Path,
        engine: Engine,
        repository: Repository,
        clock: Clock,
    ) -> DigestContext:
        return cls(
            settings=DigestSettings.from_sections(digest, smtp, archive_dir=archive_dir),
            topics={topic.name: topic for topic in topics},
            outlets={s.name: s.display_name for s in sources},
            topic_sources={
                topic.name: tuple(
                    s.name for s in sources if s.enabled and (s.topics is None or topic.name in s.topics)
                )
                for topic in topics
            },
            ledger=DigestLedger(engine),
            repository=repository,
            clock=clock,
        )

    def topic(self, name: str) -> TopicConfig:
        try:
            return self.topics[name]
        except KeyError:
            raise ConfigError(f"no topic named {name!r}; configured: {', '.join(self.topics)}") from None


@dataclass(frozen=True)
class DigestOutcome:
    """What `send_digest` did for one topic."""

    topic: str
    status: str  # "sent" (emailed and archived) | "archived" (no recipients) | "empty" (nothing new)
    digest_id: int | None = None
    article_count: int = 0
    removed_count: int = 0
    edited_count: int = 0
    subject: str | None = None
    recipients: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    archive_html: Path | None = None
    archive_text: Path | None = None
    released_stale: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def sent(self) -> bool:
        """True when a digest was delivered and recorded (emailed, or archived for nobody)."""
        return self.status in ("sent", "archived")


def build_digest(context: DigestContext, topic_name: str, now: datetime | None = None) -> RenderedDigest:
    """Render what the next digest of `topic_name` would hold, recording nothing (a preview)."""
    now = now or context.clock()
    settings = context.settings
    topic = context.topic(topic_name)
    ledger = context.ledger
    previous = ledger.last_sent(topic.name)
    since = previous.period_end if previous else None
    changes = ledger.changes(topic.name, since=since, until=now, include_pending=True)
    view = _view(context, topic, ledger.pending(topic.name), changes, now=now, since=since)
    links = DigestLinks(index=f"{settings.archive_url}/index.html" if settings.archive_url else None)
    return render_digest(view, links=links, cap=settings.max_per_section)


def send_digest(
    context: DigestContext, topic_name: str, *, sender: SendMessage | None = None, now: datetime | None = None
) -> DigestOutcome:
    """Claim, render, archive, send and record the next digest of `topic_name`.

    `sender` delivers the message (default: SMTP from `[smtp]`). Raises a
    `DeliveryError` when the digest could not be delivered; its articles then stay
    pending for the next call.
    """
    now = now or context.clock()
    settings = context.settings
    topic = context.topic(topic_name)
    ledger = context.ledger
    archive = Archive(settings.archive_dir, tz=settings.tz, base_url=settings.archive_url)

    released = tuple(ledger.release_stale(topic.name, older_than=now - STALE_AFTER))
    for digest_id in released:
        archive.remove_digest(topic.name, digest_id)
    previous = ledger.last_sent(topic.name)
    since = previous.period_end if previous else None
    # Changes to articles already sent make the period worth a digest on their own,
    # unless another digest of the topic is being sent right now: it reports them.
    news = bool(ledger.changes(topic.name, since=since, until=now)) and not ledger.in_progress(topic.name)
    digest = ledger.claim(topic.name, now=now, period_start=since, allow_empty=settings.send_empty or news)
    if digest is None:
        logger.info("digest of %r: nothing new since %s; nothing sent", topic.name, since)
        return DigestOutcome(topic=topic.name, status="empty", released_stale=released)
    assert digest.id is not None
    digest_id = digest.id

    record: ArchivedDigest | None = None
    try:
        changes = ledger.changes(topic.name, since=digest.period_start, until=digest.period_end, digest_id=digest_id)
        view = _view(context, topic, ledger.articles_of(digest_id), changes, now=now, since=since)
        record = archive.record_for(view, subject=make_subject(view), digest_id=digest_id, created_at=now)
        links = archive.links_for(record)
        # The archived page is complete, and links to its index relatively.
        complete = render_digest(view, links=DigestLinks(index="index.html"), cap=None)
        email = render_digest(view, links=links, cap=settings.max_per_section)
        html_path, text_path = _write_page(archive, record, complete)
        message_id, refused = None, {}
        if settings.recipients:
            message = compose_message(
                email, sender=settings.smtp.sender, recipients=settings.recipients, now=now, digest_id=digest_id
            )
            deliver = sender or SmtpMailer(settings.smtp)
            receipt = deliver(message, settings.recipients)
            message_id, refused = str(message["Message-ID"]), dict(receipt.refused)
    except BaseException as exc:
        _undo(ledger, archive, digest_id, record, exc)
        raise

    # Accepted by the server: record it before anything else can go wrong.
    if not ledger.mark_sent(digest_id, sent_at=context.clock(), message_id=message_id):
        logger.error("digest %s of %r was delivered but had already been released", digest_id, topic.name)
    warnings = []
    try:
        archive.write_indexes(topic.name)
    except OSError as exc:
        warnings.append(f"archive index not updated: {exc}")
        logger.error("digest %s: could not update the archive index in %s: %s", digest_id, archive.root, exc)
    if refused:
        warnings.append("refused: " + "; ".join(f"{a}: {r}" for a, r in refused.items()))
    logger.info(
        "digest %s of %r %s: %d article(s), %d removed, %d edited, %d recipient(s)",
        digest_id, topic.name, "sent" if settings.recipients else "archived", digest.article_count,
        view.removed_count, view.edited_count, len(settings.recipients),
    )
    return DigestOutcome(
        topic=topic.name,
        status="sent" if settings.recipients else "archived",
        digest_id=digest_id,
        article_count=digest.article_count,
        removed_count=view.removed_count,
        edited_count=view.edited_count,
        subject=email.subject,
        recipients=settings.recipients,
        refused=refused,
        message_id=message_id,
        archive_html=html_path,
        archive_text=text_path,
        released_stale=released,
        warnings=tuple(warnings),
    )


def send_all_digests(
    context: DigestContext, *, sender: SendMessage | None = None, now: datetime | None = None
) -> list[DigestOutcome]:
    """`send_digest` for every configured topic (the daemon's digest job).

    One topic's failure does not stop the others; after trying them all, the
    failures are raised together as one `DeliveryError` (their articles stay pending).
    """
    now = now or context.clock()
    outcomes: list[DigestOutcome] = []
    failures: list[str] = []
    for name in context.topics:
        try:
            outcomes.append(send_digest(context, name, sender=sender, now=now))
        except DeliveryError as exc:
            logger.error("digest of %r not delivered: %s", name, exc)
            failures.append(f"{name}: {exc}")
    if failures:
        raise DeliveryError(f"{len(failures)} of {len(context.topics)} digest(s) not delivered: " + "; ".join(failures))
    return outcomes


def seed_report(topic: TopicConfig) -> SeedReport | None:
    """The topic's original report, as the digest opens with it."""
    seed = topic.seed
    if seed is None:
        return None
    return SeedReport(
        title=seed.title,
        publisher=seed.publisher,
        published=seed.published.isoformat(),
        url=safe_url(seed.url),
        summary=seed.summary.strip(),
    )


def _view(
    context: DigestContext,
    topic: TopicConfig,
    articles: Sequence[LedgerArticle],
    changes: Sequence[LedgerChange],
    *,
    now: datetime,
    since: datetime | None,
) -> DigestView:
    tz = context.settings.tz
    outlets = context.outlets
    problems = find_source_problems(
        context.topic_sources.get(topic.name, ()),
        context.repository.list_source_states(),
        context.repository.last_runs(),
        tz=tz,
        outlet_of=lambda name: outlets.get(name, name),
    )
    return select_digest(
        topic.name,
        articles,
        now=now,
        tz=tz,
        since=since,
        seed=seed_report(topic),
        outlets=outlets,
        coverage=context.ledger.coverage(topic.name),
        health=problems,
        changes=changes,
    )


def _write_page(archive: Archive, record: ArchivedDigest, rendered: RenderedDigest) -> tuple[Path, Path]:
    try:
        return archive.write_page(record, rendered)
    except OSError as exc:
        raise DeliveryError(f"cannot write the digest archive in {archive.root}: {exc.strerror or exc}") from exc


def _undo(ledger: DigestLedger, archive: Archive, digest_id: int, record: ArchivedDigest | None, exc: Any) -> None:
    """Put the articles back for the next digest after a failed delivery."""
    reason = str(exc) or type(exc).__name__
    released = ledger.release(digest_id, reason)
    if record is not None:
        try:
            archive.remove_page(record)
        except OSError as error:
            logger.warning("digest %s: could not remove its archive page: %s", digest_id, error)
    logger.warning(
        "digest %s of %r not delivered (%s); %d article(s) stay pending", digest_id, record.topic if record else "?",
        reason, released,
    )
