"""Building and sending one topic's digest, in the order that keeps delivery exactly-once.

`send_digest` runs these steps; the daemon's digest jobs and `mediawatch digest send`
both call it (synchronously: the daemon runs it in a worker thread). What it needs
arrives as one `DigestContext` of plain values, built by the composition root.

1. Recover digests a crashed process left `pending` for longer than `STALE_AFTER`:
   one that a channel had already accepted is recorded as sent; any other is released.
2. Retry the channels that earlier digests of the topic still owe (a failed webhook,
   an unconfirmed email), each with the very payload stored for it.
3. Claim: create the `Digest` row and its `DigestItem` rows in one transaction.
   The ledger, not the clock, decides what is new, so overlapping crawls, clock
   jumps and concurrent sends cannot put an article in two digests of a topic.
   A period with no new articles is still claimed (and sent) when an article an
   earlier digest listed was taken down or edited in it: a takedown is news.
4. Render twice: the email (storylines ranked, the top `max_per_section` shown) and
   the archive page (complete, with every matching reason); write the archive page,
   so the email's links work when it arrives.
5. Open one delivery row per channel (email, then each Apprise channel) holding
   exactly what that channel is sent.
6. Deliver, channel by channel. The moment a channel accepts (SMTP: the 250 reply to
   DATA, before QUIT), its row and the digest are marked sent in one short UPDATE each.
7. Rebuild the archive's index pages and Atom feeds.

If no channel accepted (and the email did not possibly arrive), the page is removed,
the digest is marked `failed` and its articles are released to the next digest, and a
`DeliveryError` is raised. If some channels accepted and others failed, the digest
stays sent and the others are retried by step 2 of later runs. The duplicate window
is the moment between a channel's acceptance and the UPDATE that records it.
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from crawler.config import SourceConfig
from crawler.topics.config import TopicConfig
from digest.archive import Archive, ArchivedDigest
from digest.channels import AppriseSender, SendSummary, Summary, make_summary
from digest.config import Audience, DigestConfig, SmtpConfig
from digest.deliver import (
    SendMessage,
    SendReceipt,
    SmtpMailer,
    SmtpSettings,
    compose_message,
    envelope_address,
    message_bytes,
    plain_recipients,
)
from digest.render import DigestLinks, RenderedDigest, make_subject, render_digest
from digest.select import core_terms, find_source_problems, select_digest
from digest.text import safe_url
from digest.view import DigestView, SeedReport
from storage.clock import Clock
from storage.errors import ConfigError, DeliveryError, UnconfirmedDeliveryError
from storage.ledger import DigestLedger, LedgerArticle, LedgerChange
from storage.models import DigestDelivery
from storage.repository import Repository

logger = logging.getLogger(__name__)

# A digest still pending after this long belongs to a process that died mid-send.
STALE_AFTER = timedelta(hours=1)
# A channel that still fails after this many runs' worth of attempts is given up on.
MAX_DELIVERY_ATTEMPTS = 5
EMAIL = "email"  # the delivery row of the email; Apprise channels use their names


@dataclass(frozen=True)
class DigestSettings:
    """The `[digest]` and `[smtp]` settings the digest needs, as plain values.

    `recipients` and `max_per_section` are the `[digest]` defaults; `audiences` holds
    each topic's effective settings (`audience`).
    """

    recipients: tuple[str, ...]
    tz: ZoneInfo
    archive_dir: Path
    send_empty: bool
    max_per_section: int
    archive_url: str | None
    smtp: SmtpSettings
    audiences: Mapping[str, Audience] = field(default_factory=dict)

    @classmethod
    def from_sections(
        cls, digest: DigestConfig, smtp: SmtpConfig, *, archive_dir: Path, topics: Sequence[str] = ()
    ) -> DigestSettings:
        """From the sections; `archive_dir` already resolved against the configuration's folder."""
        return cls(
            recipients=tuple(digest.recipients),
            tz=ZoneInfo(digest.timezone),
            archive_dir=archive_dir,
            send_empty=digest.send_empty,
            max_per_section=digest.max_per_section,
            archive_url=safe_url(digest.archive_url),
            smtp=SmtpSettings.from_config(smtp),
            audiences={name: digest.audience(name) for name in topics},
        )

    def audience(self, topic: str) -> Audience:
        """Who receives `topic`'s digest and how (the `[digest]` defaults for an unlisted topic)."""
        found = self.audiences.get(topic)
        if found is not None:
            return found
        return Audience(recipients=self.recipients, schedule="", channels=(), max_per_section=self.max_per_section)


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
            settings=DigestSettings.from_sections(
                digest, smtp, archive_dir=archive_dir, topics=[topic.name for topic in topics]
            ),
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
    # "sent" (delivered on a channel, and archived) | "archived" (no channel) | "empty" (nothing new)
    # | "failed" (no channel took it: `error` says why, its articles stay pending)
    status: str
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
    channels: tuple[str, ...] = ()  # the Apprise channels that took this digest's summary
    retried: tuple[str, ...] = ()  # "digest 3: team-wecom": earlier deliveries completed by this run
    error: str | None = None  # why a "failed" digest was not delivered

    @property
    def sent(self) -> bool:
        """True when a digest was delivered and recorded (on some channel, or archived for nobody)."""
        return self.status in ("sent", "archived")


def build_digest(context: DigestContext, topic_name: str, now: datetime | None = None) -> RenderedDigest:
    """Render what the next digest of `topic_name` would hold, recording nothing (a preview)."""
    now = now or context.clock()
    settings = context.settings
    topic = context.topic(topic_name)
    ledger = context.ledger
    readers = _has_readers(settings.audience(topic.name))
    previous = ledger.last_delivered(topic.name) if readers else ledger.last_sent(topic.name)
    since = previous.period_end if previous else None
    changes = ledger.changes(topic.name, since=since, until=now, include_pending=True)
    owed = ledger.owed_to_readers(topic.name) if readers else []
    view = _view(context, topic, [*owed, *ledger.pending(topic.name)], changes, now=now, since=since,
                 readers=readers)
    links = DigestLinks(
        index=f"{settings.archive_url}/index.html" if settings.archive_url else None,
        unsubscribe=envelope_address(settings.smtp.sender),
    )
    return render_digest(view, links=links, cap=settings.audience(topic.name).max_per_section)


def send_digest(
    context: DigestContext,
    topic_name: str,
    *,
    sender: SendMessage | None = None,
    channel_sender: SendSummary | None = None,
    now: datetime | None = None,
) -> DigestOutcome:
    """Claim, render, archive, deliver and record the next digest of `topic_name`.

    `sender` delivers the email (default: SMTP from `[smtp]`), `channel_sender` the
    summaries to the topic's Apprise channels (default: `AppriseSender`). Raises a
    `DeliveryError` when no channel took the digest; its articles then stay pending
    for the next call.
    """
    now = now or context.clock()
    settings = context.settings
    topic = context.topic(topic_name)
    audience = settings.audience(topic.name)
    ledger = context.ledger
    archive = Archive(settings.archive_dir, tz=settings.tz, base_url=settings.archive_url)
    transport = _Transport(context, topic.name, audience, sender, channel_sender)

    released = tuple(ledger.release_stale(topic.name, older_than=now - STALE_AFTER))
    for digest_id in released:
        archive.remove_digest(topic.name, digest_id)
    retried, retry_warnings = transport.retry_owed(stale_before=now - STALE_AFTER)
    # Readers' digests count from the last one that reached someone: what was archived for
    # nobody meanwhile is theirs too (the ledger's `adopt_archived`). The archive's own
    # sequence counts from the last digest of any kind.
    readers = _has_readers(audience)
    previous = ledger.last_delivered(topic.name) if readers else ledger.last_sent(topic.name)
    since = previous.period_end if previous else None
    # Changes to articles already sent make the period worth a digest on their own,
    # unless another digest of the topic is being sent right now: it reports them.
    news = bool(ledger.changes(topic.name, since=since, until=now)) and not ledger.in_progress(topic.name)
    digest = ledger.claim(topic.name, now=now, period_start=since, allow_empty=settings.send_empty or news,
                          adopt_archived=readers)
    if digest is None:
        logger.info("digest of %r: nothing new since %s; nothing sent", topic.name, since)
        return DigestOutcome(topic=topic.name, status="empty", released_stale=released, retried=retried,
                             warnings=tuple(retry_warnings))
    assert digest.id is not None
    digest_id = digest.id

    record: ArchivedDigest | None = None
    try:
        changes = ledger.changes(topic.name, since=digest.period_start, until=digest.period_end, digest_id=digest_id)
        view = _view(context, topic, ledger.articles_of(digest_id), changes, now=now, since=since,
                     readers=readers)
        record = archive.record_for(view, subject=make_subject(view), digest_id=digest_id, created_at=now)
        links = replace(archive.links_for(record), unsubscribe=envelope_address(settings.smtp.sender))
        # The archived page is complete, and links to its index relatively.
        complete = render_digest(view, links=DigestLinks(index="index.html"), cap=None, archive=True)
        email = render_digest(view, links=links, cap=audience.max_per_section)
        html_path, text_path = _write_page(archive, record, complete)
        message = None
        payloads: list[tuple[str, str]] = []
        if audience.recipients:
            message = compose_message(
                email, sender=settings.smtp.sender, recipients=audience.recipients, now=now, digest_id=digest_id
            )
            payloads.append((EMAIL, message_bytes(message).decode("ascii")))
        summary = make_summary(email, links)
        payloads += [(name, summary.to_json()) for name, _ in audience.channels]
        ledger.open_deliveries(digest_id, topic.name, payloads)
    except BaseException as exc:
        _undo(ledger, archive, digest_id, record, exc)
        raise

    delivered = transport.deliver_new(digest_id, message, summary)
    if not payloads:  # nobody to send to: archived, and recorded as done
        ledger.mark_sent(digest_id, sent_at=context.clock(), message_id=None)
    elif not delivered.reached:
        error = delivered.first_error()
        _undo(ledger, archive, digest_id, record, error)
        raise error

    warnings = [*retry_warnings, *delivered.warnings]
    try:
        archive.write_indexes(topic.name)
    except OSError as exc:
        warnings.append(f"archive index not updated: {exc}")
        logger.error("digest %s: could not update the archive index in %s: %s", digest_id, archive.root, exc)
    status = "sent" if payloads else "archived"
    logger.info(
        "digest %s of %r %s: %d article(s), %d removed, %d edited, %d recipient(s), channels: %s",
        digest_id, topic.name, status, digest.article_count, view.removed_count, view.edited_count,
        len(audience.recipients) if delivered.email_reached else 0, ", ".join(delivered.channels) or "none",
    )
    return DigestOutcome(
        topic=topic.name,
        status=status,
        digest_id=digest_id,
        article_count=digest.article_count,
        removed_count=view.removed_count,
        edited_count=view.edited_count,
        subject=email.subject,
        recipients=audience.recipients if delivered.email_reached else (),
        refused=delivered.refused,
        message_id=str(message["Message-ID"]) if message is not None else None,
        archive_html=html_path,
        archive_text=text_path,
        released_stale=released,
        warnings=tuple(warnings),
        channels=tuple(delivered.channels),
        retried=retried,
    )


def send_all_digests(
    context: DigestContext,
    *,
    topics: Sequence[str] | None = None,
    sender: SendMessage | None = None,
    channel_sender: SendSummary | None = None,
    now: datetime | None = None,
) -> list[DigestOutcome]:
    """`send_digest` for `topics` (default: every configured topic): a daemon digest job.

    One outcome per topic, in order. A topic no channel took is a "failed" outcome with
    its error (its articles stay pending); it does not stop the others, and the caller
    reports each outcome once.
    """
    now = now or context.clock()
    names = list(topics) if topics is not None else list(context.topics)
    outcomes: list[DigestOutcome] = []
    for name in names:
        try:
            outcomes.append(send_digest(context, name, sender=sender, channel_sender=channel_sender, now=now))
        except DeliveryError as exc:
            outcomes.append(DigestOutcome(topic=name, status="failed", error=str(exc)))
    return outcomes


def _has_readers(audience: Audience) -> bool:
    """Whether the topic's digests go to someone (email or a channel), not to the archive alone."""
    return bool(audience.recipients or audience.channels)


@dataclass
class _Delivered:
    """What one digest's first round of deliveries achieved."""

    email_reached: bool = False
    channels: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    errors: list[DeliveryError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.email_reached or bool(self.channels)

    def first_error(self) -> DeliveryError:
        if len(self.errors) == 1:
            return self.errors[0]
        return type(self.errors[0])("; ".join(str(e) for e in self.errors))


class _Transport:
    """Sends one topic's deliveries and records each outcome the moment it is known."""

    def __init__(
        self,
        context: DigestContext,
        topic: str,
        audience: Audience,
        sender: SendMessage | None,
        channel_sender: SendSummary | None,
    ) -> None:
        self.context = context
        self.ledger = context.ledger
        self.topic = topic
        self.audience = audience
        self._sender = sender
        self._channel_sender = channel_sender

    @property
    def sender(self) -> SendMessage:
        if self._sender is None:
            self._sender = SmtpMailer(self.context.settings.smtp)
        return self._sender

    @property
    def channel_sender(self) -> SendSummary:
        if self._channel_sender is None:
            self._channel_sender = AppriseSender()
        return self._channel_sender

    def deliver_new(self, digest_id: int, message: EmailMessage | None, summary: Summary) -> _Delivered:
        done = _Delivered()
        if message is not None:
            try:
                receipt = self._email(digest_id, message, self.audience.recipients)
                done.email_reached, done.refused = True, dict(receipt.refused)
                if receipt.refused:
                    done.warnings.append("refused: " + "; ".join(f"{a}: {r}" for a, r in receipt.refused.items()))
            except UnconfirmedDeliveryError as exc:
                done.email_reached = True  # it may have arrived: never send these articles in a new message
                done.warnings.append(f"email unconfirmed, will be retried as the same message: {exc}")
            except DeliveryError as exc:
                done.errors.append(exc)
                if self.audience.channels:
                    done.warnings.append(f"email not delivered, will be retried: {exc}")
        for name, url in self.audience.channels:
            try:
                self._channel(digest_id, name, url, summary)
                done.channels.append(name)
            except DeliveryError as exc:
                done.errors.append(exc)
                done.warnings.append(f"channel {name} not delivered, will be retried: {exc}")
        return done

    def retry_owed(self, *, stale_before: datetime) -> tuple[tuple[str, ...], list[str]]:
        """Deliver what earlier sent digests of the topic still owe; returns (done, warnings)."""
        done: list[str] = []
        warnings: list[str] = []
        owed = self.ledger.undelivered(self.topic, max_attempts=MAX_DELIVERY_ATTEMPTS, stale_before=stale_before)
        urls = dict(self.audience.channels)
        for delivery in owed:
            label = f"digest {delivery.digest_id}: {delivery.channel}"
            try:
                if delivery.channel == EMAIL:
                    message = _parse(delivery)
                    self._email(delivery.digest_id, message, plain_recipients([str(message["To"] or "")]))
                elif delivery.channel in urls:
                    self._channel(delivery.digest_id, delivery.channel, urls[delivery.channel],
                                  Summary.from_json(delivery.payload))
                else:
                    warnings.append(f"{label}: channel no longer configured; not retried")
                    continue
                done.append(label)
                logger.info("%s delivered on retry", label)
            except DeliveryError as exc:
                warnings.append(f"{label}: retry failed: {exc}")
        return tuple(done), warnings

    def _email(self, digest_id: int, message: EmailMessage, recipients: Sequence[str]) -> SendReceipt:
        recorded: list[bool] = []

        def accepted(receipt: SendReceipt) -> None:
            # The server's 250 to DATA: record it before QUIT, before anything else can fail.
            if not recorded:
                self._record(digest_id, EMAIL, "sent", message_id=str(message["Message-ID"]))
                recorded.append(True)

        try:
            receipt = self.sender(message, recipients, on_accepted=accepted)
        except UnconfirmedDeliveryError as exc:
            self._record(digest_id, EMAIL, "unconfirmed", error=str(exc), message_id=str(message["Message-ID"]))
            raise
        except DeliveryError as exc:
            self._record(digest_id, EMAIL, "failed", error=str(exc))
            raise
        accepted(receipt)  # again, in case the sender had no chance to call it (idempotent)
        return receipt

    def _channel(self, digest_id: int, name: str, url: str, summary: Summary) -> None:
        try:
            self.channel_sender(name, url, summary)
        except DeliveryError as exc:
            self._record(digest_id, name, "failed", error=str(exc))
            raise
        self._record(digest_id, name, "sent")

    def _record(
        self, digest_id: int, channel: str, status: str, *, error: str | None = None, message_id: str | None = None
    ) -> None:
        now = self.context.clock()
        self.ledger.record_delivery(digest_id, channel, status, at=now, error=error)
        digest = self.ledger.get(digest_id) if status in ("sent", "unconfirmed") else None
        if digest is not None and digest.status == "pending":
            self.ledger.mark_sent(digest_id, sent_at=now, message_id=message_id)


def _parse(delivery: DigestDelivery) -> EmailMessage:
    parsed = email.message_from_string(delivery.payload, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


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
    readers: bool,
) -> DigestView:
    tz = context.settings.tz
    # Stories the readers already got (archive-only digests do not count where there are
    # readers: their articles are handed on to the next delivered digest).
    sent_before = context.ledger.sent_storylines(
        topic.name, (a.article.storyline_id for a in articles if a.article.storyline_id is not None),
        delivered_only=readers,
    )
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
        title=topic.title or topic.name,
        description=topic.description,
        core=core_terms(topic),
        now=now,
        tz=tz,
        since=since,
        seed=seed_report(topic),
        outlets=outlets,
        coverage=context.ledger.coverage(topic.name),
        health=problems,
        changes=changes,
        sent_before=sent_before,
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
    # Info: the caller reports the failure (the CLI's error line, the daemon's digest line).
    logger.info(
        "digest %s of %r not delivered (%s); %d article(s) stay pending", digest_id, record.topic if record else "?",
        reason, released,
    )
