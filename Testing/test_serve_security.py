"""`emhassist serve` talks only to its own page: a hostile Origin or Host is refused, a session is
opened only with the launch's own secret and its WebSocket needs the session's own secret (never
wslink's public default), a busy port is one error line, and a case whose files never finish reading
(a FIFO) neither freezes the server nor holds up SIGTERM.

The server runs in a subprocess (browser.served); the tests speak wslink's protocol to it as its
page does (msgpack messages in wslink's chunks over aiohttp's WebSocket client).
"""

import asyncio
import http.client
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import msgpack
import psutil
import pytest
from browser import served
from small_case import write_small_case
from wslink.chunking import UnChunker, generate_chunks

CASE = "mds_t5_t8"
DEFAULT_WSLINK_SECRET = "wslink-secret"


class WslinkClient:
    """wslink's client protocol, as trame's page speaks it."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket_
        self._ids = itertools.count(1)
        self._unchunker = UnChunker()
        self._unchunker.set_max_message_size(64 * 1024 * 1024)  # the server's state is a few kB
        self.client_id = "c0"

    async def call(self, method: str, args: list, system: bool = False) -> dict:
        message_id = f"system:{self.client_id}:0" if system else f"rpc:{self.client_id}:{next(self._ids)}"
        packed = msgpack.packb({"wslink": "1.0", "id": message_id, "method": method, "args": args, "kwargs": {}})
        for chunk in generate_chunks(packed, 0):
            await self._socket.send_bytes(chunk)
        while True:
            message = await asyncio.wait_for(self._socket.receive(), 30)
            if message.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"the server sent {message.type.name}")
            reply = self._unchunker.process_chunk(message.data)  # the whole message, unpacked, once its last chunk is in
            if reply is not None and reply.get("id") == message_id:
                return reply

    async def hello(self, secret: str) -> dict:
        reply = await self.call("wslink.hello", [{"secret": secret}], system=True)
        if "result" in reply:
            self.client_id = reply["result"]["clientID"]
        return reply


def address(url: str) -> tuple[int, str]:
    """The port and the secret of the address `serve` printed."""
    match = re.match(r"http://127\.0\.0\.1:(\d+)/(?:\?secret=(\S+))?", url)
    return int(match.group(1)), match.group(2) or DEFAULT_WSLINK_SECRET


def new_session(port: int, launch_secret: str) -> tuple[int, str, str]:
    """Open the printed address as a page does: the launcher answers with the new session's path and
    its own secret (a redirect to /s/<session>/?secret=...)."""
    status, location = redirect(port, f"/?secret={launch_secret}")
    assert status == 302, f"the launcher answered {status}"
    match = re.fullmatch(r"(/s/[\w-]+/)\?secret=(\S+)", location)
    return port, match.group(1), match.group(2)


def redirect(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    """The status of a GET and where it redirects to (not followed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
    connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("Location") or ""


async def _session(port: int, headers: dict, secret: str, calls: list[tuple[str, list]], path: str) -> list[dict]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}{path}ws", headers=headers, max_msg_size=0) as ws:
            client = WslinkClient(ws)
            replies = [await client.hello(secret)]
            if "result" in replies[0]:
                for method, args in calls:
                    replies.append(await client.call(method, args))
            return replies


def session(port: int, headers: dict, secret: str, calls: list[tuple[str, list]] = (), path: str = "/") -> list[dict]:
    return asyncio.run(_session(port, headers, secret, list(calls), path))


def own(port: int) -> dict:
    return {"Origin": f"http://127.0.0.1:{port}", "Host": f"127.0.0.1:{port}"}


@pytest.fixture(scope="module")
def launched():
    with served(CASE) as url:
        yield address(url)


@pytest.fixture(scope="module")
def server(launched):
    """A session opened on the launcher: its port, path and the session's own secret."""
    return new_session(*launched)


def test_the_printed_address_carries_a_fresh_secret_that_opens_a_session(launched, server):
    port, launch_secret = launched
    _, path, secret = server
    assert launch_secret != DEFAULT_WSLINK_SECRET and len(launch_secret) >= 32
    assert secret != DEFAULT_WSLINK_SECRET and secret != launch_secret and len(secret) >= 32
    hello, state = session(port, own(port), secret, [("trame.state.get", [])], path)
    assert "result" in hello and "result" in state
    assert "caveat" in state["result"]["state"]


def test_no_session_opens_without_the_launch_secret(launched):
    port, launch_secret = launched
    for query in ("", "?secret=", f"?secret={DEFAULT_WSLINK_SECRET}", f"?secret={launch_secret[:-1]}"):
        assert redirect(port, f"/{query}")[0] == 403
    assert redirect(port, "/s/no-such-session/")[0] == 404


def test_wslinks_public_default_secret_and_the_launch_secret_are_refused_by_a_session(launched, server):
    port, launch_secret = launched
    _, path, _ = server
    for secret in (DEFAULT_WSLINK_SECRET, launch_secret):
        (hello,) = session(port, own(port), secret, [("trame.state.get", [])], path)
        assert "result" not in hello and "Authentication failed" in str(hello.get("error"))


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example.com"},
        {"Origin": "http://evil.example.com", "Host": "evil.example.com"},
        {"Host": "evil.example.com:{port}"},  # DNS rebinding: another site's name resolved to 127.0.0.1
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "http://localhost.evil.example.com:{port}"},
    ],
)
def test_a_websocket_from_another_origin_or_host_is_refused_even_with_the_secret(server, headers):
    port, path, secret = server
    headers = {**own(port), **{name: value.format(port=port) for name, value in headers.items()}}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        session(port, headers, secret, [("trame.state.get", [])], path)
    assert refused.value.status == 403


def http_status(port: int, host: str, path: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}index.html", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_http_answers_only_its_own_host(server):
    port, path, _ = server
    assert http_status(port, f"127.0.0.1:{port}", path) == 200
    assert http_status(port, f"localhost:{port}", path) == 200
    assert http_status(port, "evil.example.com", path) == 403
    assert http_status(port, f"evil.example.com:{port}", path) == 403
    launch = redirect(port, "/?secret=x", host="evil.example.com")
    assert launch[0] == 403 and not launch[1]  # refused before the secret is even looked at


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(source: str, port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "EMHAssistLib.frontends.cli", "serve", source, "--port", str(port), *options]


def test_a_busy_port_is_one_error_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(serve_command(CASE, port), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: 127.0.0.1:{port}: cannot listen there: Address already in use; choose another --port"]


@pytest.fixture
def fifo_case(tmp_path, scene) -> Path:
    case = write_small_case(tmp_path / "case", scene)
    (case / "T2.nrrd").unlink()
    os.mkfifo(case / "T2.nrrd")
    return case


def test_a_case_whose_file_never_finishes_reading_is_refused_and_never_freezes_the_server(fifo_case):
    """Either the FIFO is refused (the load ends) and the server serves, answering HTTP while a page
    connects, or the load never ends and the case is refused with one error line after the limit."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(serve_command(str(fifo_case), port, "--load-time-limit", "5"), stdout=log, stderr=subprocess.PIPE, text=True)
        try:
            listening = wait_listening_or_exit(server, port, 90)
            if not listening:
                assert server.returncode == 2
                assert server.stderr.read().splitlines() == [
                    f"error: {fifo_case}: did not finish loading within 5 s (a FIFO or a stalled file system?); not served"
                ]
                return
            log.seek(0)
            _, path, secret = new_session(*address(re.search(r" at (http://\S+)", log.read()).group(1)))
            # A page connects: the session's process loads the case now. It must still answer.
            asyncio.run(_connect_in_background(port, secret, path))
            started = time.monotonic()
            assert http_status(port, f"127.0.0.1:{port}", path) == 200
            assert time.monotonic() - started < 10
        finally:
            stop(server)


def stop(server: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL when SIGTERM was ignored (the test has failed by then)."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise


async def _connect_in_background(port: int, secret: str, path: str) -> None:
    async with aiohttp.ClientSession() as session_:
        async with session_.ws_connect(f"ws://127.0.0.1:{port}{path}ws", headers=own(port)) as ws:
            client = WslinkClient(ws)
            await client.hello(secret)
            packed = msgpack.packb({"wslink": "1.0", "id": f"rpc:{client.client_id}:9", "method": "trame.lifecycle.update", "args": ["client_connected"], "kwargs": {}})
            for chunk in generate_chunks(packed, 0):
                await ws.send_bytes(chunk)
            await asyncio.sleep(1)


def wait_listening_or_exit(server: subprocess.Popen, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"serve neither listened nor exited within {timeout_s:.0f} s")


def test_sigterm_ends_serve_at_once_while_a_load_hangs_and_leaves_no_process(fifo_case):
    """SIGTERM while the case's load hangs on the FIFO: before the server starts, or after a page connected."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(serve_command(str(fifo_case), port), stdout=log, stderr=subprocess.DEVNULL, text=True)
        try:
            try:
                listening = wait_listening_or_exit(server, port, 15)
            except AssertionError:
                listening = False  # still loading the case before the server starts
            if listening:
                log.seek(0)
                _, path, secret = new_session(*address(re.search(r" at (http://\S+)", log.read()).group(1)))
                asyncio.run(_connect_in_background(port, secret, path))
            children = psutil.Process(server.pid).children(recursive=True)
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(10)
            assert time.monotonic() - started < 10
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"left running: {alive}"
