"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (standard
library only): headless Chromium reads commands on fd 3 and writes answers and events on
fd 4, each a JSON message followed by a NUL byte.

Enough for the page tests: open a file, wait for it to load, evaluate JavaScript, take a
screenshot. Chromium is Debian's (``/usr/bin/chromium``, package ``chromium``), which
``.ci/run`` installs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("FRAUD_CHROMIUM", "/usr/bin/chromium"))
# Without these Chromium stalls on the closed network or on its first-run chores.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
)
TIMEOUT_SECONDS = 30


class CdpError(RuntimeError):
    """Chromium answered an error, or did not answer in time."""


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, binary: Path = CHROMIUM, width: int = 1100, height: int = 900) -> None:
        self.binary = binary
        self.size = (width, height)
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()

        def wire() -> None:  # the child's fds 3 and 4 are the protocol's pipes
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self.process = subprocess.Popen(
            [
                str(self.binary),
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={self.size[0]},{self.size[1]}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=wire,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=self.session)
        self.call("Runtime.enable", session=self.session)
        return self

    def __exit__(self, *_: Any) -> None:
        with contextlib.suppress(CdpError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._out)
        os.close(self._in)
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events met meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise CdpError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise CdpError("Chromium did not answer")
            chunk = os.read(self._in, 65536)
            if not chunk:
                raise CdpError("Chromium closed the protocol pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def open(self, path: Path) -> None:
        """Load a local file and wait until its load event fired."""
        self.events.clear()
        self.call("Page.navigate", session=self.session, url=path.resolve().as_uri())
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read(deadline))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.call(
            "Runtime.evaluate", session=self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", session=self.session, captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
