"""Debian's headless Chromium driven over the DevTools protocol (aiohttp websocket), for end-to-end tests.

A served trame app draws its views only after its websocket session is up, so a page is screenshot
only after waiting in real time for what the test expects; `chromium --screenshot` alone would
capture the loading splash.
"""

import asyncio
import base64
import io
import itertools
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import aiohttp
import numpy as np
from PIL import Image

# Flags this closed network needs: no sandbox as root, no GPU, no calls home.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or (str(Path("/usr/bin/chromium")) if Path("/usr/bin/chromium").exists() else None)


@contextmanager
def served(source: str, *options: str, listen_within_s: float = 30) -> Iterator[str]:
    """`emhassist serve SOURCE [OPTIONS]` on a free port in a subprocess; its address once it listens
    (within `listen_within_s`: longer when the options ask for work before the server starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile("w+") as log:  # a pipe nobody reads could fill and stall the server
        server = subprocess.Popen(
            [sys.executable, "-m", "EMHAssistLib.frontends.cli", "serve", source, "--port", str(port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        yield from _listening(server, log, source, port, listen_within_s)


def _listening(server: subprocess.Popen, log, source: str, port: int, listen_within_s: float = 30) -> Iterator[str]:
    try:
        deadline = time.monotonic() + listen_within_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if server.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"emhassist serve {source} exited: {log.read()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"emhassist serve {source} did not listen within {listen_within_s:g} s") from None
                time.sleep(0.2)
        yield _printed_url(log)
    except BaseException:
        log.seek(0)  # shown by pytest beside the failure: the server's (and its sessions') own account
        print(f"--- emhassist serve {source} printed ---\n{log.read()[-6000:]}", file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(10)


def _printed_url(log) -> str:
    """The address `serve` prints when it starts, with the launch's secret the page needs."""
    log.seek(0)
    match = re.search(r" at (http://\S+)", log.read())
    if match is None:
        raise RuntimeError("emhassist serve listens but printed no address")
    return match.group(1)


class Browser:
    """One Chromium process with one page, driven from synchronous test code."""

    def __init__(self, width: int = 1400, height: int = 900) -> None:
        executable = chromium_path()
        if executable is None:
            raise RuntimeError("Debian's chromium is not installed (/usr/bin/chromium): `make test` installs it, or apt-get install chromium")
        self._profile = tempfile.TemporaryDirectory(prefix="emhassist-chromium-", ignore_cleanup_errors=True)
        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._socket = None
        self._run(self._connect(self._devtools_port(), width, height))

    def navigate(self, url: str) -> None:
        self.command("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')} in {expression!r}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float, what: str, shown: str = "null"):
        """Poll a page expression until it is truthy; its value, or an error naming `what` and giving
        the value of the page expression `shown` (what the page shows instead)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        raise TimeoutError(f"page never showed {what} within {timeout_s:.0f} s; it shows {self.evaluate(shown)!r}")

    def screenshot(self) -> np.ndarray:
        """The page as an RGB uint8 array (CSS pixels at device scale 1)."""
        data = self.command("Page.captureScreenshot", format="png")["data"]
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def print_to_pdf(self, url: str) -> bytes:
        """The page at url printed to PDF with a browser's default print settings (no background
        graphics; paper size and margins from the page's own @page rule)."""
        self.navigate(url)
        self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete' && [...document.images].every(i => i.complete)",
            20,
            f"{url} loaded",
        )
        data = self.command("Page.printToPDF", printBackground=False, preferCSSPageSize=True)["data"]
        return base64.b64decode(data)

    def command(self, method: str, **params) -> dict:
        return self._run(self._command(method, params))

    def close(self) -> None:
        if self._socket is not None:
            self._run(self._socket.close())
        if self._session is not None:
            self._run(self._session.close())
        self._loop.close()
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._profile.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def _run(self, coroutine):
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, 30))

    def _devtools_port(self) -> int:
        # Chromium writes the port it chose into the profile once DevTools listens.
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._process.returncode} before DevTools started")
            time.sleep(0.1)
        raise RuntimeError("chromium's DevTools did not start within 20 s")

    async def _connect(self, port: int, width: int, height: int) -> None:
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(target for target in targets if target["type"] == "page")
        self._socket = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self._command("Page.enable", {})
        await self._command("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    async def _command(self, method: str, params: dict) -> dict:
        message_id = next(self._ids)
        await self._socket.send_str(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads((await self._socket.receive()).data)
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})


def sagittal_rect(browser: "Browser") -> tuple[int, int, int, int]:
    return tuple(
        round(v)
        for v in browser.evaluate("(() => {const r = document.querySelector('#views img').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];})()")
    )


def mass_handle(browser: "Browser") -> tuple[float, float]:
    """The page position of the mass ROI's centre handle. The viewer draws a case's ROIs as green
    outlines (quiz.json's reference colour); in the sagittal view through the mass, the mass's box is
    the most posterior (rightmost) of them, apart from the marrow's and the disc's in the body."""
    left, top, right, bottom = sagittal_rect(browser)
    crop = browser.screenshot()[top:bottom, left:right].astype(int)
    from EMHAssistLib.knowledge import load

    green = np.all(np.abs(crop - np.asarray(load("quiz")["reference_color"]) * 255) < 60, axis=-1)
    boxes = []  # (rows, columns) of each group of green pixels apart from the others
    for rows in _runs(np.nonzero(green.any(axis=1))[0]):
        for columns in _runs(np.nonzero(green[rows.min() : rows.max() + 1].any(axis=0))[0]):
            box_rows = rows.min() + np.nonzero(green[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1].any(axis=1))[0]
            boxes.append((box_rows, columns))
    if not boxes:
        raise RuntimeError("no green ROI outline in the sagittal view")
    rows, columns = max(boxes, key=lambda box: box[1].mean())
    return left + (columns.min() + columns.max()) / 2, top + (rows.min() + rows.max()) / 2


def _runs(indices: np.ndarray, gap: int = 8) -> list[np.ndarray]:
    """Sorted pixel indices split where more than `gap` pixels lie between neighbours."""
    return np.split(indices, np.nonzero(np.diff(indices) > gap)[0] + 1) if len(indices) else []


def drag_vertically(browser: "Browser", x: float, y: float, dy: float) -> None:
    """Press on (x, y), move `dy` pixels down (up when negative) in 6-pixel steps 0.15 s
    apart (the view's interaction drops faster moves), let go."""

    def mouse(kind: str, offset: float, buttons: int) -> None:
        browser.command("Input.dispatchMouseEvent", type=kind, x=float(x), y=float(y + offset), button="left", buttons=buttons, clickCount=1)

    mouse("mouseMoved", 0, 0)
    mouse("mousePressed", 0, 1)
    steps = max(1, round(abs(dy) / 6))
    for step in range(1, steps + 1):
        mouse("mouseMoved", dy * step / steps, 1)
        time.sleep(0.15)
    # The last move again after a pause: on a loaded machine the view can drop it, leaving the ROI short.
    time.sleep(0.5)
    mouse("mouseMoved", dy, 1)
    time.sleep(0.3)
    mouse("mouseReleased", dy, 0)
