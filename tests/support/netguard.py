"""The tests' network guard: a socket may connect to this machine's loopback only.

Tests talk to servers they start on 127.0.0.1 and to the services of `.ci/run`
(PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379), never the internet. Once `install()` has
run, `socket.socket.connect` and `connect_ex` refuse any other address at once with
`NetworkBlocked`, instead of waiting for a timeout or, on a machine with a route out,
quietly reaching a real site. Everything that connects goes through those two methods:
`socket.create_connection`, `ssl`, asyncio's `sock_connect` and Twisted's TCP client
(`connect_ex`), so Scrapy's downloads are caught too. `socket.create_connection` is
wrapped as well, to refuse a name other than localhost before it is looked up in DNS.
Unix sockets and other families pass.

`NetworkBlocked` is a RuntimeError, not an OSError, so code that treats a network
failure as an ordinary one (`except OSError`, a fetcher's retry) does not swallow it.
Code that catches everything still can: so every refusal is also appended to the file
named by `$TESTS_NETGUARD_RECORD`, which `tests/conftest.py` reads after each test (not a
`MEDIAWATCH_` name: `run_cli` drops those from a subprocess's environment).

Stdlib only, and cheap to import: `sitecustomize.py` in `netguard_site/` loads this file in
every Python subprocess the tests start (the CLI, forkserver workers), and
`tests/scheduler/test_startup.py` counts what start-up imports.
"""

from __future__ import annotations

import os
import socket
from typing import Any

RECORD_ENV = "TESTS_NETGUARD_RECORD"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""})
# The loopback range, and the "any" addresses, which Linux connects to this machine.
_LOCAL_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class NetworkBlocked(RuntimeError):
    """A test tried to connect somewhere other than this machine's loopback."""


def is_local(host: str) -> bool:
    """Whether `host` (an address literal or a name) is this machine's loopback."""
    import ipaddress  # here, not at import: subprocess start-up stays as it was

    name = host.split("%", 1)[0].strip("[]").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: refused without resolving it, which would itself go out
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _check(family: int, address: Any) -> None:
    if family not in _LOCAL_FAMILIES or not isinstance(address, tuple) or not address:
        return
    host = address[0] if isinstance(address[0], str) else str(address[0])
    if is_local(host):
        return
    port = address[1] if len(address) > 1 else "?"
    message = (f"network guard: connect to {host}:{port} refused (pid {os.getpid()}); "
               "tests only reach 127.0.0.1, ::1 and localhost")
    record = os.environ.get(RECORD_ENV)
    if record:
        try:
            with open(record, "a", encoding="utf-8") as handle:
                handle.write(message + "\n")
        except OSError:
            pass  # the refusal itself still raises
    raise NetworkBlocked(message)


def install() -> None:
    """Guard this process's sockets (idempotent; forked children inherit the guard)."""
    if getattr(socket.socket, "_netguard_installed", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def connect(self: socket.socket, address: Any) -> None:
        _check(self.family, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self.family, address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        _check(socket.AF_INET, address)  # before it resolves a name: the lookup itself would go out
        return real_create_connection(address, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.create_connection = create_connection  # type: ignore[assignment]
    socket.socket._netguard_installed = True  # type: ignore[attr-defined]
