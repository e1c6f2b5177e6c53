"""A small driver for headless Chromium over the DevTools protocol (no Playwright, no downloaded browser).

It starts Debian's `chromium` with `--remote-debugging-port=0`, reads the DevTools
address from its stderr, and talks to the first page target over a WebSocket: navigate,
evaluate, click, wait for a navigation, screenshot at a given window size.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_DEVTOOLS = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)")


class Browser:
    def __init__(self, profile: Path, *, width: int = 1280, height: int = 900) -> None:
        assert CHROMIUM is not None, "chromium is not installed"
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--disable-quic", "--hide-scrollbars",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        port = self._devtools_port()
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self._next_id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _devtools_port(self) -> int:
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            found = _DEVTOOLS.search(line)
            if found:
                return int(found.group(2))
        raise RuntimeError("chromium did not start: " + "".join(seen)[-2000:])

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol ----------------------------------------------------------------
    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        wanted = self._next_id
        self.socket.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- pages -------------------------------------------------------------------
    def _wait_loaded(self, previous: str | None, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                state = self.evaluate("[document.readyState, location.href, String(performance.timeOrigin)]")
            except RuntimeError:  # the context went away mid-navigation
                state = None
            if state and state[0] == "complete" and state[2] != previous:
                return str(state[1])
            time.sleep(0.05)
        raise TimeoutError("page did not load")

    def _origin(self) -> str:
        return str(self.evaluate("String(performance.timeOrigin)"))

    def goto(self, url: str, timeout: float = 20) -> str:
        previous = self._origin()
        self.send("Page.navigate", url=url)
        return self._wait_loaded(previous, timeout)

    def click(self, selector: str, timeout: float = 20) -> str:
        """Click the element (a link or a submit button) and wait for the page it leads to."""
        previous = self._origin()
        clicked = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                                "if (!e) return false; e.click(); return true; })()")
        assert clicked, f"nothing matches {selector!r} on {self.evaluate('location.href')}"
        return self._wait_loaded(previous, timeout)

    def fill(self, selector: str, value: str) -> None:
        filled = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                               f"if (!e) return false; e.value = {json.dumps(value)}; return true; }})()")
        assert filled, f"nothing matches {selector!r}"

    def texts(self, selector: str) -> list[str]:
        found = self.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector)}), e => e.textContent.trim())")
        return list(found or [])

    def wait_until(self, expression: str, timeout: float = 40) -> None:
        """Wait until `expression` is true on the current page, across the page's own reloads."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{expression} never became true on {self.evaluate('location.href')}")

    def screenshot(self, path: Path, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        time.sleep(0.2)  # one layout at the new width
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        self.send("Emulation.clearDeviceMetricsOverride")
