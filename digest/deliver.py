"""Delivering a rendered digest by SMTP: composing the message, sending, retrying.

`compose_message` is pure (rendered digest + addresses + time in, `EmailMessage`
out). `SmtpMailer` is the one thing here that opens sockets; anything with the
same call signature (`SendMessage`) can stand in for it, which is how the service
is wired in tests and how another transport could be added.

Failures are sorted into the `DeliveryError` tree: connection refused, timeouts and
4xx replies are `TemporaryDeliveryError` and retried with backoff; 5xx replies,
refused logins and TLS failures are `PermanentDeliveryError` and are not. A
connection lost after the whole message went out but before the server's reply to
DATA is an `UnconfirmedDeliveryError`: the message may have arrived, so it is retried
as the very same bytes (same Message-ID, which mail clients use to drop copies).

The message is serialised by `message_bytes`, which never rewrites a body line
starting with "From " as ">From " (`smtplib.send_message` does), and both parts are
quoted-printable, so the text is 7-bit clean whatever the server supports.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any, Protocol

from digest.config import SmtpConfig
from digest.render import RenderedDigest
from digest.text import one_line
from storage.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UnconfirmedDeliveryError,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
SUBJECT_MAX_CHARS = 200


@dataclass(frozen=True)
class SmtpSettings:
    """The `[smtp]` section as plain values (the password comes from the environment)."""

    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "mediawatch@localhost"
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_config(cls, smtp: SmtpConfig) -> SmtpSettings:
        """From the `[smtp]` section."""
        return cls(
            host=smtp.host,
            port=smtp.port,
            starttls=smtp.starttls,
            ssl=smtp.ssl,
            username=smtp.username,
            password=smtp.password,
            sender=smtp.sender,
        )

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"


@dataclass(frozen=True)
class SendReceipt:
    """What the server said: the recipients it refused while accepting the others."""

    refused: dict[str, str] = field(default_factory=dict)


Accepted = Callable[[SendReceipt], None]


class SendMessage(Protocol):
    """Anything that delivers one message to these recipients, or raises `DeliveryError`.

    `on_accepted` is called the moment the server has accepted the message (SMTP: its
    250 reply to DATA), before the connection is closed, so the caller can record the
    delivery without waiting for QUIT.
    """

    def __call__(
        self, message: EmailMessage, recipients: Sequence[str], *, on_accepted: Accepted | None = None
    ) -> SendReceipt: ...


# -- composing ------------------------------------------------------------------------
def compose_message(
    rendered: RenderedDigest, *, sender: str, recipients: Sequence[str], now: datetime, digest_id: int
) -> EmailMessage:
    """One multipart/alternative message (text first, then HTML) for all recipients."""
    message = EmailMessage()
    set_text_header(message, "Subject", rendered.subject, SUBJECT_MAX_CHARS)
    message["From"] = sender
    message["To"] = ", ".join(header_safe(r) for r in recipients) if recipients else "undisclosed-recipients:;"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_message_id(rendered.topic, digest_id, now, sender)
    message["List-Unsubscribe"] = f"<mailto:{envelope_address(sender)}?subject=unsubscribe>"
    message["Auto-Submitted"] = "auto-generated"
    set_text_header(message, "X-Mediawatch-Topic", rendered.topic, 200)
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends (smtplib sends bytes as they are), "From " left alone."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def make_message_id(topic: str, digest_id: int, now: datetime, sender: str) -> str:
    """A Message-ID that depends only on its inputs, so tests can expect it exactly."""
    domain = envelope_address(sender).rpartition("@")[2] or "localhost"
    topic_tag = hashlib.sha1(topic.encode("utf-8")).hexdigest()[:8]
    return f"<mediawatch.digest.{digest_id}.{topic_tag}.{now.strftime('%Y%m%d%H%M%S')}@{domain}>"


def set_text_header(message: EmailMessage, name: str, value: str, limit: int = 998) -> None:
    """Set an unstructured header to one line of text, encoding non-ASCII text ourselves.

    The `email` package's own folder leaves a trailing space before an encoded word
    it wraps, so 'a — b' comes back as 'a  — b'; `Header` folds encoded words cleanly.
    """
    text = header_safe(value, limit)
    if text.isascii():
        message[name] = text
    else:
        message.set_raw(name, Header(text, "utf-8", header_name=name).encode())


def header_safe(value: str, limit: int = 998) -> str:
    """One line: scraped titles may carry CR/LF, which would inject or break headers."""
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def envelope_address(address: str) -> str:
    """The bare address in 'Name <a@b>' (what SMTP's MAIL FROM needs)."""
    return parseaddr(address)[1] or address


def plain_recipients(recipients: Sequence[str]) -> list[str]:
    return [addr for _, addr in getaddresses(list(recipients)) if addr]


# -- sending --------------------------------------------------------------------------
class SmtpMailer:
    """Sends through `smtplib`, retrying temporary failures with exponential backoff.

    `sleep` is injectable so tests check the backoff without waiting for it.
    Nothing after the server's reply to DATA can turn a success into a failure:
    `on_accepted` runs at once, and the QUIT that follows is best-effort, because a
    retry then would send twice. When the reply to DATA never comes, every retry
    sends the same bytes; if none is confirmed, `UnconfirmedDeliveryError` says the
    message may have arrived.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        attempts: int = 3,
        backoff: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.settings = settings
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.tls_context = tls_context

    def __call__(
        self, message: EmailMessage, recipients: Sequence[str], *, on_accepted: Accepted | None = None
    ) -> SendReceipt:
        addresses = plain_recipients(recipients)
        if not addresses:
            raise PermanentDeliveryError("no recipients: add addresses to [digest] recipients")
        data = message_bytes(message)
        last: TemporaryDeliveryError | None = None
        maybe_delivered = False
        for attempt in range(1, self.attempts + 1):
            try:
                return self._send_once(message, data, addresses, on_accepted)
            except TemporaryDeliveryError as exc:
                last = exc
                maybe_delivered = maybe_delivered or isinstance(exc, UnconfirmedDeliveryError)
                if attempt == self.attempts:
                    break
                delay = self.backoff * 2 ** (attempt - 1)
                # Info, not a warning: the final error says how many attempts it took.
                logger.info(
                    "smtp %s:%s attempt %d/%d failed (%s); retrying in %.1fs",
                    self.settings.host, self.settings.port, attempt, self.attempts, exc, delay,
                )
                self.sleep(delay)
        assert last is not None
        suffix = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        if maybe_delivered:
            raise UnconfirmedDeliveryError(
                f"{self.settings.where} took message {message['Message-ID']} but never confirmed it{suffix}; "
                f"last: {last}"
            ) from last
        raise TemporaryDeliveryError(f"{last}{suffix}") from last

    def _send_once(
        self, message: EmailMessage, data: bytes, addresses: list[str], on_accepted: Accepted | None
    ) -> SendReceipt:
        settings = self.settings
        try:
            client = self._connect()
        except Exception as exc:
            raise classify_smtp_error(exc, settings.where) from exc
        try:
            try:
                client.ehlo()
                if settings.starttls and not settings.ssl:
                    client.starttls(context=self._context())
                    client.ehlo()
                if settings.username:
                    client.login(settings.username, settings.password or "")
                refused = client.sendmail(envelope_address(settings.sender), addresses, data)
            except Exception as exc:
                if client.message_sent and _connection_lost(exc):
                    raise UnconfirmedDeliveryError(
                        f"{settings.where} lost the connection after the message was sent, before confirming it: "
                        f"{_text(str(exc)) or type(exc).__name__}"
                    ) from exc
                raise classify_smtp_error(exc, settings.where) from exc
            receipt = SendReceipt({addr: f"{code} {_text(reply)}" for addr, (code, reply) in refused.items()})
            logger.info(
                "smtp %s:%s accepted %s for %d recipient(s), refused %d",
                settings.host, settings.port, message["Message-ID"], len(addresses) - len(receipt.refused),
                len(receipt.refused),
            )
            if on_accepted is not None:
                try:
                    on_accepted(receipt)
                except Exception:  # the server has the message: recording it again later is the caller's job
                    logger.exception("could not record the accepted message %s", message["Message-ID"])
        finally:
            _quit_quietly(client)
        return receipt

    def _connect(self) -> _Smtp | _SmtpSsl:
        settings = self.settings
        if settings.ssl:
            return _SmtpSsl(settings.host, settings.port, timeout=settings.timeout, context=self._context())
        return _Smtp(settings.host, settings.port, timeout=settings.timeout)

    def _context(self) -> ssl.SSLContext:
        return self.tls_context or ssl.create_default_context()


def _connection_lost(exc: BaseException) -> bool:
    """A lost connection or a timeout, not a reply (smtplib's reply errors are OSErrors too)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


class _SentTracking:
    """Notes when the end of the message data (CRLF . CRLF) has gone out on the wire.

    From then on a lost connection leaves the outcome unknown, not failed.
    """

    message_sent = False

    def send(self, s: Any) -> None:
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_sent = True


class _Smtp(_SentTracking, smtplib.SMTP):
    pass


class _SmtpSsl(_SentTracking, smtplib.SMTP_SSL):
    pass


def classify_smtp_error(exc: BaseException, where: str) -> DeliveryError:
    """Sort an smtplib/socket failure into temporary (retry) or permanent, with a readable message."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items())
        error_type = TemporaryDeliveryError if codes and all(400 <= c < 500 for c in codes) else PermanentDeliveryError
        return error_type(f"{where} refused every recipient: {detail}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(f"{where}: {exc} (check [smtp] starttls / ssl)")
    if isinstance(exc, smtplib.SMTPResponseException):
        code, reply = exc.smtp_code, _text(exc.smtp_error)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return PermanentDeliveryError(
                f"{where} refused the login for [smtp] username: {code} {reply} (password from MEDIAWATCH_SMTP_PASSWORD)"
            )
        if 400 <= code < 500:
            return TemporaryDeliveryError(f"{where} answered {code} {reply}")
        if code == -1:  # smtplib's "connection unexpectedly closed"
            return TemporaryDeliveryError(f"{where} closed the connection: {reply}")
        return PermanentDeliveryError(f"{where} answered {code} {reply}")
    if isinstance(exc, ssl.SSLError):  # before OSError: SSLError is one, but retrying won't fix a bad certificate
        return PermanentDeliveryError(f"{where}: TLS failed: {exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TemporaryDeliveryError(f"{where} disconnected: {exc}")
    if isinstance(exc, ConnectionRefusedError):
        return TemporaryDeliveryError(f"{where} refused the connection (is it running?)")
    if isinstance(exc, TimeoutError):
        return TemporaryDeliveryError(f"{where} timed out")
    if isinstance(exc, OSError):
        return TemporaryDeliveryError(f"{where} unreachable: {exc.strerror or exc}")
    if isinstance(exc, smtplib.SMTPException):
        return PermanentDeliveryError(f"{where}: {exc}")
    raise exc


def _quit_quietly(client: smtplib.SMTP) -> None:
    # QUIT waits for the server's 221; with the message already accepted nothing it
    # says matters, so a slow or silent server only costs this connection's timeout.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return one_line(text)

