"""`emhassist serve`'s session launcher (frontends/sessions.py) on its own: the limit on sessions at
once, with the message a page gets when the server is full, and the reaping of idle sessions.

The launcher runs as it does under `serve`, behind its own-origin guard, on a loopback port; its
session processes are real processes started the launcher's way (the session's JSON in the
environment) but are a plain HTTP server instead of the Slicer app, so each starts in a fraction of
a second: what is tested is the launcher's bookkeeping, not the app behind it.
"""

import asyncio
import sys
import time

from aiohttp.test_utils import TestClient, TestServer

from EMHAssistLib.frontends.serve import own_origin_only
from EMHAssistLib.frontends.sessions import SESSION_ENVIRONMENT, Launcher, SessionSettings, full_message

SECRET = "launch-secret"
# A session process that listens on the port the launcher gave it, as serve.run_session does.
STAND_IN_SESSION = (
    sys.executable,
    "-c",
    "import http.server, json, os\n"
    f"port = json.loads(os.environ[{SESSION_ENVIRONMENT!r}])['port']\n"
    "http.server.HTTPServer(('127.0.0.1', port), http.server.SimpleHTTPRequestHandler).serve_forever()\n",
)


def settings(max_sessions: int) -> SessionSettings:
    return SessionSettings(max=max_sessions, spares=0, idle_minutes=20, start_time_limit_s=60)


def launched(launcher: Launcher, scenario) -> None:
    """Run `scenario(client)` against the launcher's app on a loopback port, then stop it (its
    session processes end with it)."""

    async def run() -> None:
        async with TestClient(TestServer(launcher.app(own_origin_only("127.0.0.1")), host="127.0.0.1")) as client:
            await scenario(client)

    asyncio.run(run())


async def new_session(client: TestClient) -> tuple[int, str]:
    """Open the printed address: the status and the session's path (redirect) or the page's text."""
    response = await client.get("/", params={"secret": SECRET}, allow_redirects=False)
    return response.status, response.headers.get("Location", "") or await response.text()


def test_a_full_server_says_so_and_a_session_reaped_frees_its_place():
    launcher = Launcher("case", SECRET, settings(max_sessions=2), command=STAND_IN_SESSION)

    async def scenario(client: TestClient) -> None:
        first, second = await new_session(client), await new_session(client)
        assert first[0] == second[0] == 302 and first[1].startswith("/s/") and first[1] != second[1]
        status, text = await new_session(client)
        assert (status, text) == (503, full_message(launcher._settings))
        assert text.startswith("This server is full: all 2 of its sessions (data/quiz.json) are in use. A session ends 20 minutes after")

        # Nobody connected to the first for longer than idle_minutes: the reaper ends it (not the
        # second, younger one), its address says the session ended, and a new page gets its place.
        sessions = dict(launcher._sessions)
        first_name = first[1].split("/")[2]
        sessions[first_name].idle_since -= 20 * 60 + 1
        assert launcher.reap(time.monotonic()) == [first_name]
        assert sessions[first_name].process.poll() is not None
        assert sessions[second[1].split("/")[2]].process.poll() is None
        ended = await client.get(f"/s/{first_name}/", allow_redirects=False)
        assert ended.status == 404 and (await ended.text()).startswith("This quiz session has ended.")
        assert (await new_session(client))[0] == 302

    launched(launcher, scenario)


def test_a_session_with_a_page_connected_is_never_reaped_however_old():
    launcher = Launcher("case", SECRET, settings(max_sessions=1), command=STAND_IN_SESSION)

    async def scenario(client: TestClient) -> None:
        status, path = await new_session(client)
        assert status == 302
        session = launcher._sessions[path.split("/")[2]]
        session.connections, session.idle_since = 1, session.idle_since - 10 * 20 * 60
        assert launcher.reap(time.monotonic()) == []
        assert session.process.poll() is None
        session.connections = 0  # the page closed just now: idle from now on, not from its start
        session.idle_since = time.monotonic()
        assert launcher.reap(time.monotonic() + 20 * 60 - 1) == []
        assert launcher.reap(time.monotonic() + 20 * 60 + 1) == [path.split("/")[2]]

    launched(launcher, scenario)


def test_a_session_whose_process_ended_is_reaped_at_once():
    launcher = Launcher("case", SECRET, settings(max_sessions=1), command=STAND_IN_SESSION)

    async def scenario(client: TestClient) -> None:
        status, path = await new_session(client)
        session = launcher._sessions[path.split("/")[2]]
        session.connections = 1  # a page still shown, but its process is gone
        session.process.kill()
        session.process.wait()
        assert launcher.reap(time.monotonic()) == [path.split("/")[2]]
        assert (await new_session(client))[0] == 302

    launched(launcher, scenario)
