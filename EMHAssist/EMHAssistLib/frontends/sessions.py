"""`emhassist serve`'s front door: one app process per browser session, behind one port.

trame keeps one state per server process, and every client of that process sees it: the same
page state and, from trame-slicer, the same rendered slice views of the one scene (a scene holds
one quiz). Two tabs sharing a process therefore share a quiz: one reveals, both are revealed. So
each browser session gets a process of its own (serve.run_session: a CaseViewer on a private
loopback port, its own scene, views and quiz), and this launcher, the only thing listening on the
address the user gave, hands sessions out and passes each one's HTTP and WebSocket traffic through:

- `/?secret=<launch secret>` (the address `serve` prints) starts a session and redirects to
  `/s/<session>/?secret=<session secret>`; each opening of that address is a new session;
- `/s/<session>/...` is passed to that session's process: its page, its assets and its WebSocket
  (`/s/<session>/ws`, where trame's page looks for it). The session's name is drawn afresh and is
  the key to it: opened again (a reload) it gives the session's secret again, so the page reconnects
  to the same quiz.

Why processes and not per-session state in one process: trame-slicer renders each view once for all
clients, VTK rendering and the MRML scene are single-threaded, and the engine's analysis holds the
GIL, so sessions in one process would share views and wait on each other's reveals; separate
processes share nothing and let the two cores serve two reveals at once. The price is memory and a
start of several seconds, paid ahead: `spares` processes are kept started and idle, so a new tab
gets one at once. A session's process ends when no page has been connected to it for `idle_minutes`,
and at most `max` run at once (data/quiz.json, `sessions`). Every process dies with the launcher.
"""

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from aiohttp import ClientSession, WSMsgType, web

from ..teaching.quiz_settings import SessionSettings, quiz_settings

# The environment variable that carries a session's source, earlier exams, port and secret to its
# process as JSON (never its command line, which other users of the machine can read).
SESSION_ENVIRONMENT = "EMHASSIST_SERVE_SESSION"
# Headers of a session process's HTTP answers passed on to the browser (the body is passed decoded).
_PASSED_HEADERS = ("Content-Type", "Cache-Control", "Last-Modified", "ETag")


@dataclass
class SessionProcess:
    """One app process on a loopback port, and how many pages are connected to it."""

    process: subprocess.Popen
    port: int
    secret: str
    connections: int = 0
    idle_since: float = field(default_factory=time.monotonic)

    async def ready(self, limit_s: float) -> bool:
        """Whether the process listens within the limit (False: it ended or is still starting)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            return True
        return False

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Launcher:
    """The aiohttp app in front of the session processes."""

    def __init__(
        self,
        source: str,
        launch_secret: str,
        settings: SessionSettings,
        earlier: dict[str, str] | None = None,
        command: tuple[str, ...] = (sys.executable, "-m", __name__),
    ) -> None:
        self._source = source
        self._command = command  # a session's process: this module's entry point, which runs serve.run_session
        self._earlier = earlier or {}  # label -> stored report JSON: the earlier exams the page offers
        self._launch_secret = launch_secret
        self._settings = settings
        self._sessions: dict[str, SessionProcess] = {}
        self._spares: list[SessionProcess] = []
        self._client: ClientSession | None = None

    def app(self, guard) -> web.Application:
        """The app, its requests first checked by `guard` (serve.own_origin_only)."""
        app = web.Application(middlewares=[guard])
        app.router.add_get("/", self._new_session)
        app.router.add_get("/s/{session}", self._with_slash)
        app.router.add_get("/s/{session}/ws", self._websocket)
        app.router.add_get("/s/{session}/{tail:.*}", self._http)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    # --- sessions ------------------------------------------------------------------------------
    async def _start(self, _app) -> None:
        self._client = ClientSession(auto_decompress=True)
        self._keep_spares()
        self._reaper = asyncio.create_task(self._reap())

    async def _stop(self, _app) -> None:
        self._reaper.cancel()
        for session in [*self._sessions.values(), *self._spares]:
            session.end()
        await self._client.close()

    def _spawn(self) -> SessionProcess:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        secret = secrets.token_urlsafe(32)
        session = {"parent": os.getpid(), "port": port, "secret": secret, "source": self._source, "earlier": self._earlier}
        environment = {**os.environ, SESSION_ENVIRONMENT: json.dumps(session)}
        process = subprocess.Popen(list(self._command), env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return SessionProcess(process, port, secret)

    def _keep_spares(self) -> None:
        self._spares = [spare for spare in self._spares if spare.process.poll() is None]
        while len(self._spares) < self._settings.spares:
            self._spares.append(self._spawn())

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self._settings.idle_minutes * 60 / 4))
            self.reap(time.monotonic())

    def reap(self, now: float) -> list[str]:
        """End the sessions whose process has ended or no page has been connected to for idle_minutes
        at `now` (time.monotonic), and start spares again; the names of the sessions ended."""
        ended = []
        for name, session in list(self._sessions.items()):
            idle = session.connections == 0 and now - session.idle_since > self._settings.idle_minutes * 60
            if idle or session.process.poll() is not None:
                session.end()
                del self._sessions[name]
                ended.append(name)
        self._keep_spares()
        return ended

    def _session(self, request: web.Request) -> SessionProcess:
        session = self._sessions.get(request.match_info["session"])
        if session is None or session.process.poll() is not None:
            raise web.HTTPNotFound(text="This quiz session has ended. Open the address `emhassist serve` printed for a new one.\n")
        return session

    # --- requests ------------------------------------------------------------------------------
    async def _new_session(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.query.get("secret", ""), self._launch_secret):
            raise web.HTTPForbidden(text="Open the whole address `emhassist serve` printed, with its secret.\n")
        self._sessions = {name: s for name, s in self._sessions.items() if s.process.poll() is None}
        if len(self._sessions) >= self._settings.max:
            raise web.HTTPServiceUnavailable(text=full_message(self._settings))
        self._keep_spares()
        session = self._spares.pop(0) if self._spares else self._spawn()
        self._keep_spares()
        if not await session.ready(self._settings.start_time_limit_s):
            session.end()
            raise web.HTTPServiceUnavailable(text=f"The session did not start within {self._settings.start_time_limit_s:g} s; try again.\n")
        name = secrets.token_urlsafe(16)
        self._sessions[name] = session
        raise web.HTTPFound(f"/s/{name}/?secret={session.secret}")

    async def _with_slash(self, request: web.Request) -> web.Response:
        self._session(request)
        raise web.HTTPFound(f"/s/{request.match_info['session']}/")

    async def _http(self, request: web.Request) -> web.Response:
        session = self._session(request)
        tail = request.match_info["tail"]
        if tail in ("", "index.html") and "secret" not in request.query:
            # The page drops the secret from its address once read: a reload asks for it again.
            raise web.HTTPFound(f"/s/{request.match_info['session']}/?secret={session.secret}")
        async with self._client.get(f"http://127.0.0.1:{session.port}/{tail}", params=request.query) as answer:
            body = await answer.read()
            headers = {name: answer.headers[name] for name in _PASSED_HEADERS if name in answer.headers}
            return web.Response(body=body, status=answer.status, headers=headers)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        session = self._session(request)
        page = web.WebSocketResponse(max_msg_size=0)
        await page.prepare(request)
        session.connections += 1
        try:
            async with self._client.ws_connect(f"ws://127.0.0.1:{session.port}/ws", max_msg_size=0) as app:
                pumps = [asyncio.create_task(_pump(page, app)), asyncio.create_task(_pump(app, page))]
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for pump in pumps:
                    pump.cancel()
        finally:
            session.connections -= 1
            session.idle_since = time.monotonic()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await page.close()
        return page


def full_message(settings: SessionSettings) -> str:
    """What a new page is told when every session this server allows is taken."""
    return (
        f"This server is full: all {settings.max} of its sessions (data/quiz.json) are in use. A session ends "
        f"{settings.idle_minutes:g} minutes after its last page is closed; try again then, or ask whoever started "
        "`emhassist serve` to close a tab.\n"
    )


async def _pump(source, target) -> None:
    """Pass one WebSocket's messages to another until either closes."""
    async for message in source:
        if message.type == WSMsgType.BINARY:
            await target.send_bytes(message.data)
        elif message.type == WSMsgType.TEXT:
            await target.send_str(message.data)
        else:
            break
    await target.close()


def run_launcher(source: str, host: str, port: int, launch_secret: str, guard, earlier: dict[str, str] | None = None) -> None:
    """Serve until the process is ended (SIGTERM or SIGINT keep their default action)."""
    app = Launcher(source, launch_secret, quiz_settings().sessions, earlier).app(guard)
    web.run_app(app, host=host, port=port, print=None, handle_signals=False)


def die_with_parent() -> None:
    """This process is killed when its parent ends, even by SIGKILL (Linux prctl PR_SET_PDEATHSIG): a
    session's process or a case's test load never outlives `serve`."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":  # a session's process, started by Launcher._spawn
    _session = json.loads(os.environ.pop(SESSION_ENVIRONMENT))
    # Bound to the launcher before the slow imports of serve.py (a few seconds), and gone at once
    # if the launcher ended before the binding.
    die_with_parent()
    if os.getppid() != int(_session["parent"]):
        sys.exit(0)
    from .serve import run_session

    run_session(_session["source"], int(_session["port"]), _session["secret"], _session["earlier"])
