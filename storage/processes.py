"""Whether a process that holds a lease or a heartbeat is still alive (no ORM: `status` imports it)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path


def process_is_gone(host: str, pid: int, *, this_host: str | None = None) -> bool:
    """Whether process `pid` of `host` is known to have exited: only a process on this host can be checked."""
    if host != (this_host or socket.gethostname()):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return _is_zombie(pid)


def holder_is_dead(owner: str, host: str | None = None) -> bool:
    """Whether a lease owner ("host:pid:suffix") is a process on this host that no longer exists.

    Only a process on this host can be checked; any other owner counts as alive
    until its lease expires. A reused pid makes a dead holder look alive, which
    only delays the takeover to the lease's expiry.
    """
    parts = owner.split(":")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    return process_is_gone(parts[0], int(parts[1]), this_host=host)


def lease_is_held(owner: str | None, expires_at: datetime | None, *, now: datetime) -> bool:
    """Whether a source's crawl lease belongs to a live process: held, not expired, its holder not gone.

    A run left `running` whose source's lease is not held was cut short: nobody is crawling it.
    """
    return owner is not None and expires_at is not None and expires_at > now and not holder_is_dead(owner)


def heartbeat_is_alive(host: str, pid: int, heartbeat_at: datetime, *, now: datetime, interval: timedelta) -> bool:
    """Whether a process that records a heartbeat every `interval` still runs.

    Alive while its last heartbeat is at most three intervals (and a few seconds) old, so one
    slow beat is not a death; a process on this host that has exited is dead at once.
    """
    return now - heartbeat_at <= interval * 3 + timedelta(seconds=5) and not process_is_gone(host, pid)


def _is_zombie(pid: int) -> bool:
    """A child killed but not yet reaped still answers signal 0; /proc says it is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]
