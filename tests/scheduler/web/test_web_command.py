"""`mediawatch web` says why it cannot serve in one line, and announces an address only once it listens there."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.scheduler.web.support import console_environ

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
