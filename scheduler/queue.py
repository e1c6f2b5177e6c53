"""The shared crawl queue: the daemon enqueues due sources, `mediawatch worker` processes crawl them.

Built on a Redis stream with a consumer group, Redis's own job queue:

- `enqueue` adds "crawl source X" once: a marker key (`SET NX`) keeps a source that is
  still queued or being crawled from being queued again by the next tick.
- `take` hands a worker one job. A job stays *pending* (delivered, not acknowledged)
  until `done`; while the worker lives it `touch`es the job, so its idle time stays low.
- A worker that dies stops touching: once a pending job has been idle for `claim_after`,
  the next worker to ask claims it (`XCLAIM` with a minimum idle time, atomic, so two
  workers cannot both win) and learns whose it was, to free that worker's source lease.
  Nothing a dead worker held is lost.
- Per-host politeness across workers: one crawl per host at a time, held by a lock key
  that expires if its holder dies (`lock_host`, `release_host`).

Why not scrapy-redis or Dramatiq/Celery: see README "Distributed crawling".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from storage.errors import QueueError

logger = logging.getLogger(__name__)

GROUP = "workers"

# Delete the lock only if we still hold it (it may have expired and been taken since).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Take the lock, or extend it if we already hold it.
_LOCK = (
    "local v = redis.call('get', KEYS[1]) "
    "if v == false then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end return 0"
)


@dataclass(frozen=True)
class Job:
    """One delivered job: crawl `source`. `previous_owner` is set when it was claimed from a dead worker."""

    id: str
    source: str
    previous_owner: str | None = None


class CrawlQueue:
    """A crawl queue on the Redis at `url`, its keys under `prefix`."""

    def __init__(self, url: str, *, prefix: str = "mediawatch", claim_after: timedelta = timedelta(seconds=60),
                 client: Any = None) -> None:
        import redis

        # Any: redis-py's return types are unions of every RESP shape; these commands return one each.
        self.redis: Any = client or redis.Redis.from_url(url, decode_responses=True, socket_timeout=30)
        self.prefix = prefix
        self.stream = f"{prefix}:crawl"
        self.claim_after_ms = int(claim_after.total_seconds() * 1000)
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:  # the group exists already: another process made it
            if "BUSYGROUP" not in str(exc):
                raise
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # redis-py's message names host and port, never the URL's password.
            raise QueueError(f"cannot reach the crawl queue ([queue] url): {exc}") from exc

    def _marker(self, source: str) -> str:
        return f"{self.prefix}:queued:{source}"

    def enqueue(self, source: str, ttl: timedelta) -> bool:
        """Queue a crawl of `source` unless one is queued or running; True if queued now.

        The marker expires after `ttl` so a job lost outside Redis's care cannot block the source for ever.
        """
        if not self.redis.set(self._marker(source), "1", nx=True, ex=max(1, int(ttl.total_seconds()))):
            return False
        self.redis.xadd(self.stream, {"source": source})
        return True

    def take(self, consumer: str, block: timedelta = timedelta(seconds=1)) -> Job | None:
        """A job for `consumer`: first one a dead worker left behind, else a new one (waiting up to `block`)."""
        orphan = self._claim_orphan(consumer)
        if orphan is not None:
            return orphan
        answer = self.redis.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=1,
                                       block=max(1, int(block.total_seconds() * 1000)))
        for _, entries in answer or ():
            for entry_id, fields in entries:
                return Job(entry_id, fields.get("source", ""))
        return None

    def _claim_orphan(self, consumer: str) -> Job | None:
        pending = self.redis.xpending_range(self.stream, GROUP, min="-", max="+", count=10,
                                            idle=self.claim_after_ms)
        for entry in pending:
            if entry["consumer"] == consumer:
                continue
            claimed = self.redis.xclaim(self.stream, GROUP, consumer, self.claim_after_ms, [entry["message_id"]])
            for entry_id, fields in claimed:
                if fields is None:  # deleted meanwhile
                    continue
                logger.warning("job %s (source=%s) of %s was idle %.0fs: taking it over", entry_id,
                               fields.get("source"), entry["consumer"], entry["time_since_delivered"] / 1000)
                return Job(entry_id, fields.get("source", ""), previous_owner=str(entry["consumer"]))
        return None

    def touch(self, consumer: str, job: Job) -> None:
        """Reset the job's idle time: it is still being worked on."""
        self.redis.xclaim(self.stream, GROUP, consumer, 0, [job.id], justid=True)

    def done(self, job: Job) -> None:
        """The job is finished (or cannot run): acknowledge it and let the source be queued again."""
        pipe = self.redis.pipeline()
        pipe.xack(self.stream, GROUP, job.id)
        pipe.xdel(self.stream, job.id)
        pipe.delete(self._marker(job.source))
        pipe.execute()

    def put_back(self, job: Job) -> None:
        """Return a job to the end of the queue (its host is busy); its marker stays."""
        pipe = self.redis.pipeline()
        pipe.xadd(self.stream, {"source": job.source})
        pipe.xack(self.stream, GROUP, job.id)
        pipe.xdel(self.stream, job.id)
        pipe.execute()

    def lock_host(self, host: str, consumer: str, ttl: timedelta) -> bool:
        """Take (or extend) the one-crawl-per-host lock for `host`."""
        return bool(self.redis.eval(_LOCK, 1, f"{self.prefix}:host:{host}", consumer,
                                    int(ttl.total_seconds() * 1000)))

    def release_host(self, host: str, consumer: str) -> None:
        self.redis.eval(_RELEASE, 1, f"{self.prefix}:host:{host}", consumer)

    def depth(self) -> int:
        """Jobs queued or being worked on."""
        info = self.redis.xinfo_groups(self.stream)
        lag = next((g.get("lag") or 0 for g in info if g["name"] == GROUP), 0)
        pending = next((g.get("pending") or 0 for g in info if g["name"] == GROUP), 0)
        return int(lag) + int(pending)

    def close(self) -> None:
        self.redis.close()
