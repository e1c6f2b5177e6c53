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
