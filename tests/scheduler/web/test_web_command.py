"""`mediawatch web` says why it cannot serve in one line, and announces an address only once it listens there."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, run_cli, write_config
from tests.scheduler.web.support import PASSWORD, console_environ

TOPICS = [{"name": "nanjing-six-dragons", "keywords": ["六小龙"]}]


def test_web_without_a_way_to_sign_in_fails_before_announcing_an_address(tmp_path: Path) -> None:
    # It used to print "web console on http://…" and then the configuration error: a reader saw both.
    config = write_config(tmp_path / "mediawatch.toml", {"topics": TOPICS})
    result = run_cli("web", "--port", "0", config=config, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "MEDIAWATCH_WEB_PASSWORD_HASH" in result.stderr
    assert "web console on" not in result.stderr
    assert "Traceback" not in result.stderr


def test_web_on_a_port_in_use_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    # It used to announce the address, then print uvicorn's "ERROR: [Errno 98] …" and exit 3.
    config = write_config(tmp_path / "mediawatch.toml", {"topics": TOPICS})
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("web", "--port", str(port), config=config, env=console_environ(), timeout=60)
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines[0]


def test_hash_password_prints_only_the_hash_on_stdout(tmp_path: Path) -> None:
    # `export MEDIAWATCH_WEB_PASSWORD_HASH="$(mediawatch web --hash-password)"` captured the prompts
    # too ("password:Repeat for confirmation:$argon2id…"), an unusable value; prompts go to stderr.
    import os
    import subprocess
    import sys

    from argon2 import PasswordHasher

    from tests.conftest import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    result = subprocess.run([sys.executable, "-m", "scheduler", "web", "--hash-password"], input="s3cret-pass\ns3cret-pass\n",
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={**env, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("$argon2id$")
    assert PasswordHasher().verify(result.stdout.strip(), "s3cret-pass")
    assert "password" in result.stderr


def test_web_on_an_ipv6_address_announces_a_url_that_opens(tmp_path: Path) -> None:
    # It printed "http://::1:PORT/", which no browser or curl reads as a host and a port.
    import os
    import subprocess
    import sys

    import httpx

    from tests.conftest import REPO_ROOT

    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        import pytest

        pytest.skip("no IPv6 loopback here")
    config = write_config(tmp_path / "mediawatch.toml", {"topics": TOPICS})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), "web", "--host", "::1", "--port", "0"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**env, **console_environ(), "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("mediawatch web console on http://[::1]:"), line
        url = line.split(" on ", 1)[1].split()[0]
        for _ in range(100):
            try:
                response = httpx.get(url + "healthz", timeout=2)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.1)
        assert response.status_code == 200 and response.text == "ok"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _serve(config: Path, tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), *options, "web", "--port", "0"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, env={**env, **console_environ(), "PYTHONPATH": str(REPO_ROOT)},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("mediawatch web console on http://127.0.0.1:"), line
    return process, int(line.split("127.0.0.1:", 1)[1].split("/", 1)[0])


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, err = process.communicate(timeout=30)
    return err


def _hang_up_mid_form(port: int) -> None:
    """A POST whose body never arrives in full: the client goes away (a closed tab, a dropped line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       b"Content-Length: 100\r\n\r\nname=a")
        time.sleep(0.3)


def _broken_database_config(tmp_path: Path) -> tuple[Path, Path]:
    database = tmp_path / "x.db"
    config = write_config(tmp_path / "mediawatch.toml", {"topics": TOPICS, "database": {"url": f"sqlite:///{database}"}})
    assert run_cli("db", "upgrade", config=config).returncode == 0
    with sqlite3.connect(database) as connection:  # a real server error: a table the console reads is gone
        connection.execute("DROP TABLE article_topic")
    return config, database


def test_ordinary_request_errors_log_no_traceback_and_a_server_error_one_line(tmp_path: Path) -> None:
    # At the default level, a client hanging up during a form printed uvicorn's "Exception in ASGI
    # application" and a 40-line traceback ending in ClientDisconnect; a garbled request printed
    # uvicorn's own "WARNING:  Invalid HTTP request received." outside mediawatch's log format.
    config, _ = _broken_database_config(tmp_path)
    process, port = _serve(config, tmp_path)
    try:
        _hang_up_mid_form(port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GARBAGE\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 400")
        failed = httpx.get(f"http://127.0.0.1:{port}/api/articles", auth=("x", PASSWORD), timeout=30)
        assert failed.status_code == 500
        assert "Traceback" not in failed.text and "article_topic" not in failed.text  # nothing internal shown
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).text == "ok"  # and it still serves
    finally:
        err = _stop(process)
    assert "Traceback" not in err, err
    assert "ClientDisconnect" not in err and "Invalid HTTP request" not in err, err
    [line] = [line for line in err.splitlines() if "/api/articles" in line]
    assert " ERROR scheduler.web" in line and "GET /api/articles failed" in line and "OperationalError" in line, err


def test_a_server_error_keeps_its_traceback_at_debug_and_a_hang_up_is_one_line(tmp_path: Path) -> None:
    config, _ = _broken_database_config(tmp_path)
    process, port = _serve(config, tmp_path, "--log-level", "debug")
    try:
        _hang_up_mid_form(port)
        assert httpx.get(f"http://127.0.0.1:{port}/api/articles", auth=("x", PASSWORD), timeout=30).status_code == 500
        time.sleep(0.3)
    finally:
        err = _stop(process)
    assert "ERROR scheduler.web.app: GET /api/articles failed\nTraceback (most recent call last)" in err, err
    assert "no such table: article_topic" in err and "Exception in ASGI application" not in err, err
    [hang_up] = [line for line in err.splitlines() if "POST /login" in line]
    assert "went away" in hang_up, err


def test_hash_password_without_two_matching_passwords_is_a_usage_error(tmp_path: Path) -> None:
    # Input that ended ("< /dev/null", or one line) exited 130, "mediawatch: aborted", the status
    # of Ctrl-C; two different passwords were asked for again until the input ended, the same way.
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    for given, reason in [("", "the input ended"), ("s3cret-pass\n", "the input ended"),
                          ("s3cret-pass\nsecret-pass\n", "the two passwords differ")]:
        result = subprocess.run([sys.executable, "-m", "scheduler", "web", "--hash-password"], input=given,
                                capture_output=True, text=True, timeout=60, cwd=tmp_path,
                                env={**env, "PYTHONPATH": str(REPO_ROOT)})
        assert result.returncode == 2, (given, result.returncode, result.stderr)
        assert result.stdout == ""
        assert reason in result.stderr and "aborted" not in result.stderr, result.stderr
