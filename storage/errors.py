"""The project's exception tree: one base class, a few branches, nothing else.

    MediawatchError                  anything mediawatch raises on purpose
    ├── ConfigError                  the configuration file or environment is wrong (exit 2)
    ├── StorageError                 the database cannot be used as asked
    │   └── SchemaOutOfDateError     the schema needs `mediawatch db upgrade`
    ├── QueueError                   the shared crawl queue (Redis) cannot be reached
    ├── FetchError                   a URL may not or could not be fetched
    │   └── ForbiddenURLError        scheme or address refused by policy
    ├── ExtractionError              a page could not be turned into an article
    │   └── NoArticleError           the page holds no article text
    └── DeliveryError                a digest could not be delivered
        ├── TemporaryDeliveryError   worth retrying (connection refused, 4xx)
        │   └── UnconfirmedDeliveryError  the message went out, the reply never came: it may have arrived
        └── PermanentDeliveryError   retrying will not help (5xx, bad address)

The command line is the one place that turns these into a one-line message and
an exit status; everywhere else a failure in one source or one item is logged,
recorded and skipped.
"""

from __future__ import annotations


class MediawatchError(Exception):
    """Base class for every error mediawatch raises on purpose."""


class ConfigError(MediawatchError):
    """The configuration is invalid; the message names the file and the key."""


class StorageError(MediawatchError):
    """The database cannot be used as asked."""


class SchemaOutOfDateError(StorageError):
    """The database schema is older than this version of mediawatch."""


class DaemonRunningError(StorageError):
    """Another live daemon already schedules this database's crawls and digests."""


class QueueError(MediawatchError):
    """The shared crawl queue (`[queue] url`, Redis) cannot be reached."""


class FetchError(MediawatchError):
    """A URL may not, or could not, be fetched."""


class ForbiddenURLError(FetchError):
    """The URL's scheme or address is refused by the fetch policy."""


class ExtractionError(MediawatchError):
    """A page could not be turned into an article."""


class NoArticleError(ExtractionError):
    """The page holds no article text worth storing."""


class DeliveryError(MediawatchError):
    """A digest could not be delivered."""


class TemporaryDeliveryError(DeliveryError):
    """Delivery failed in a way that may succeed on retry."""


class UnconfirmedDeliveryError(TemporaryDeliveryError):
    """The whole message was sent but the server's reply was lost: it may have been delivered.

    A retry must repeat the same message (same Message-ID), never a new one.
    """


class PermanentDeliveryError(DeliveryError):
    """Delivery failed in a way that retrying will not fix."""
