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
