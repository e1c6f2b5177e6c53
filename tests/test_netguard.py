"""The suite's network guard (`tests/support/netguard.py`): loopback passes, anything else is refused at once.

192.0.2.1 is TEST-NET-1, reserved for documentation: nothing answers there, so without the
guard a connect to it hangs until its timeout (or, on a machine with a route out, leaves
the machine). With the guard it fails in well under a second, in this process, in a Python
subprocess, and inside Scrapy's Twisted downloader.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.demo.site import Route, StaticSite
from tests.conftest import REPO_ROOT, run_cli, write_config
from tests.support import netguard

OUTSIDE = ("192.0.2.1", 80)


@pytest.fixture
def own_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Refusals this test provokes on purpose go to its own record, not the one that fails a test."""
    record = tmp_path / "refused.log"
    monkeypatch.setenv(netguard.RECORD_ENV, str(record))
    return record


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts one connection after another."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=10)


def test_a_connect_outside_loopback_is_refused_at_once_and_recorded(own_record: Path) -> None:
    started = time.monotonic()
    with socket.socket() as sock, pytest.raises(netguard.NetworkBlocked, match=r"192\.0\.2\.1:80"):
        sock.connect(OUTSIDE)
    with socket.socket() as sock, pytest.raises(netguard.NetworkBlocked):
        sock.connect_ex(OUTSIDE)
    with pytest.raises(netguard.NetworkBlocked):
        socket.create_connection(OUTSIDE, timeout=30)
    with pytest.raises(netguard.NetworkBlocked, match=r"example\.org"):
        socket.create_connection(("example.org", 443), timeout=30)  # a name: refused before any DNS lookup
    with socket.socket(socket.AF_INET6) as sock, pytest.raises(netguard.NetworkBlocked):
        sock.connect(("2001:db8::1", 80))
    assert time.monotonic() - started < 1
    assert own_record.read_text(encoding="utf-8").count("network guard: connect to") == 5


def test_the_refusal_is_not_an_oserror_that_network_code_would_swallow(own_record: Path) -> None:
    try:
        socket.create_connection(OUTSIDE, timeout=30)
    except OSError:  # what a fetcher catches and counts as an ordinary unreachable host
        pytest.fail("the guard's refusal was caught as an OSError")
    except netguard.NetworkBlocked:
        pass


def test_loopback_and_unix_sockets_pass(listener: int, tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost"):
        socket.create_connection((host, listener), timeout=5).close()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", listener)) == 0
    left, right = socket.socketpair()
    left.close()
    right.close()
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(str(path))
        server.listen()
        client.connect(str(path))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "::ffff:127.0.0.1", "0.0.0.0", "a.localhost"])
def test_local_addresses_are_local(host: str) -> None:
    assert netguard.is_local(host)


@pytest.mark.parametrize("host", ["192.0.2.1", "10.0.0.1", "192.168.1.1", "8.8.8.8", "2001:db8::1",
                                  "::ffff:192.0.2.1", "example.org", "localhost.example.org"])
def test_other_addresses_are_not(host: str) -> None:
    assert not netguard.is_local(host)


@pytest.mark.slow
def test_a_python_subprocess_is_guarded_even_with_an_environment_of_its_own(own_record: Path) -> None:
    script = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=60)"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    assert "NetworkBlocked" in done.stderr, done.stderr


FORKSERVER_CHILD = """
import multiprocessing
connect = "import socket; socket.socket().connect(('192.0.2.1', 80))"
child = multiprocessing.get_context("forkserver").Process(target=exec, args=(connect,))
child.start()
child.join(60)
print(child.exitcode)
"""


@pytest.mark.slow
def test_the_crawlers_forkserver_workers_are_guarded(own_record: Path) -> None:
    # crawler/pool.py starts its page workers from a forkserver: a fresh interpreter, not a fork of this one.
    done = subprocess.run([sys.executable, "-c", FORKSERVER_CHILD], capture_output=True, text=True, timeout=90,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "1", done.stderr
    assert "NetworkBlocked" in done.stderr, done.stderr
    assert own_record.read_text(encoding="utf-8").count("connect to 192.0.2.1:80 refused") == 1


@pytest.mark.slow
def test_a_crawl_through_scrapys_downloader_is_refused_outside_loopback(tmp_path: Path, own_record: Path) -> None:
    # The feed on loopback is fetched; the one on TEST-NET is refused by the guard inside Twisted's
    # TCP client, at once rather than after the download timeout.
    site = StaticSite({"feed.xml": Route(b"<rss version='2.0'><channel><title>t</title></channel></rss>",
                                         content_type="application/rss+xml")})
    sources = [{"name": "local", "kind": "feed", "url": site.url("/feed.xml"), "every": "30m", "allow_private": True},
               {"name": "outside", "kind": "feed", "url": "http://192.0.2.1/feed.xml", "every": "30m",
                "allow_private": True}]
    with site:
        config = write_config(tmp_path / "mediawatch.toml", {
            "topics": [{"name": "t", "keywords": ["六小龙"]}], "sources": sources,
            "database": {"url": f"sqlite:///{tmp_path}/x.db"}, "crawler": {"download_timeout": 60}})
        started = time.monotonic()
        result = run_cli("crawl", config=config, timeout=120)
    assert time.monotonic() - started < 50, result.stderr
    refused = own_record.read_text(encoding="utf-8")
    assert "connect to 192.0.2.1:80 refused" in refused, result.stderr
    assert all("connect to 192.0.2.1:80 refused" in line for line in refused.splitlines()), refused
    assert site.hits("/feed.xml") == 1  # loopback still passes inside the same crawl
