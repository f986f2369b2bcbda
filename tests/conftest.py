"""Fixtures: a real Townhall on uvicorn on a free loopback port, and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import httpx
import pytest
import socketio
import uvicorn
from playwright.async_api import Browser, async_playwright

from tests.browser import CHROMIUM_FLAGS, chromium_path
from tests.redis_server import RedisServer
from townhall.app import Server, Townhall, build, build_server
from townhall.config import Settings
from townhall.engine import Engine, open_engine
from townhall.hub import ForumHub
from townhall.identity import COOKIE_NAME, cookie_name
from townhall.model.agenda import Programme
from townhall.model.forum import Forum
from townhall.programme import parse_programme
from townhall.transport.lean_websocket import EngineIOWebSocket

WAIT_S = 10.0

# A small forum: a talk, an on-reveal single-choice poll, a live multiple-choice poll, a Q&A.
TEST_ROOM = """
[forum]
id = "test-forum"
title = "시험 토론회"
language = "ko"
code = "TEST42"

[[items]]
id = "opening"
kind = "talk"
title = "Opening"
notes = "host-only notes"
minutes = 5

[[items]]
id = "vote"
kind = "poll"
title = "Candidate vote"
question = "Which proposal?"
results = "on_reveal"
options = [
  { id = "a", label = "Proposal A" },
  { id = "b", label = "Proposal B" },
  { id = "c", label = "Proposal C" },
]

[[items]]
id = "multi"
kind = "poll"
title = "Several choices"
choice = "multiple"
max_choices = 2
results = "live"
options = [
  { id = "x", label = "X" },
  { id = "y", label = "Y" },
  { id = "z", label = "Z" },
]

[[items]]
id = "qna"
kind = "qna"
title = "Questions"
"""


def free_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def forum_programme() -> Programme:
    return parse_programme(TEST_ROOM, source="test.toml")


async def wait_until(check: Callable[[], bool], what: str) -> None:
    """Wait for a condition that an event will make true; fail naming it if it never does."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Refused(Exception):
    """The server refused a connection; `data` is what it said: {message, data: {code}}."""

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.data = data

    @property
    def code(self) -> str:
        return str(self.data.get("data", {}).get("code", ""))


@dataclass
class Client:
    """A real Socket.IO client that records every message it receives, by event name."""

    sio: socketio.AsyncClient
    received: dict[str, list[Any]] = field(default_factory=dict)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data if data is not None else {}, timeout=WAIT_S)

    async def wait_for(
        self, event: str, check: Callable[[Any], bool] = lambda _: True, what: str = ""
    ) -> Any:
        """The first message of `event` (received so far or later) that passes `check`."""
        found: list[Any] = []

        def seen() -> bool:
            found[:] = [m for m in self.received.get(event, []) if check(m)]
            return bool(found)

        await wait_until(seen, what or f"{event} message")
        return found[0]

    async def close(self) -> None:
        await self.sio.disconnect()
        if self.sio.eio.external_http:
            await self.sio.eio.http.close()


class _ReadResponse(aiohttp.ClientResponse):
    """A response read whole as it arrives: python-engineio's client never reads its POSTs'
    answers, and aiohttp would warn of each unreleased connection when it is collected."""

    async def start(self, connection: Any) -> aiohttp.ClientResponse:
        await super().start(connection)
        await self.read()
        return self


@dataclass
class Endpoint:
    """A running Townhall, in this process or another, and ways to connect to it."""

    url: str
    code: str
    host_key: str
    clients: list[Client] = field(default_factory=list)

    async def new_cookie(self) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.url}/j/{self.code}")
        assert response.status_code == 200
        return response.cookies[cookie_name(self.code)]

    async def connect(
        self,
        auth: dict[str, Any],
        cookie: str | None = None,
        events: tuple[str, ...] = (),
        reconnect: bool = False,
        transports: tuple[str, ...] = ("websocket",),
    ) -> Client:
        # python-engineio's client sends `headers` with its handshake only; a long-polling session
        # sends its cookie with every request, as a browser does, from the session's own jar.
        http = (
            aiohttp.ClientSession(
                cookies={COOKIE_NAME: cookie} if cookie else None, response_class=_ReadResponse
            )
            if "polling" in transports
            else None
        )
        sio = socketio.AsyncClient(
            reconnection=reconnect, reconnection_delay=0.2, http_session=http
        )
        client = Client(sio)
        for event in ("state", "tally", "board", "presence", "resync", "connect_error", *events):
            sio.on(event, _recorder(client, event))

        # A callable, because the client consumes a Cookie header on the first connect and a
        # reconnect would go without it; a browser sends its cookie every time.
        def headers() -> dict[str, str]:
            return {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}

        try:
            await sio.connect(
                self.url,
                auth=auth,
                headers=headers,
                transports=list(transports),
                wait_timeout=WAIT_S,
            )
        except socketio.exceptions.ConnectionError as exc:
            if http is not None:
                await http.close()
            reasons = client.received.get("connect_error", [])
            raise Refused(reasons[0] if reasons else {}) from exc
        self.clients.append(client)
        return client

    async def phone(
        self,
        cookie: str | None = None,
        reconnect: bool = False,
        transports: tuple[str, ...] = ("websocket",),
    ) -> tuple[Client, str]:
        """A phone with its own participant cookie; `transports` as python-socketio's client
        takes them (("polling",): long-polling, never upgraded)."""
        cookie = cookie or await self.new_cookie()
        auth = {"role": "participant", "code": self.code}
        client = await self.connect(auth, cookie, reconnect=reconnect, transports=transports)
        return client, cookie

    async def host(self) -> Client:
        return await self.connect({"role": "host", "code": self.code, "key": self.host_key})

    async def screen(self) -> Client:
        return await self.connect({"role": "screen", "code": self.code})

    async def open_poll(self, poll: str) -> Client:
        """A host that has moved the agenda to `poll` and opened it."""
        host = await self.host()
        assert (await host.call("goto", {"item": poll}))["ok"]
        assert (await host.call("poll_open", {"poll": poll}))["ok"]
        return host

    async def close_clients(self) -> None:
        for client in self.clients:
            if client.sio.connected or client.sio.eio.external_http:
                await client.close()


@dataclass
class Live(Endpoint):
    """A Townhall served by uvicorn inside the test's own event loop."""

    townhall: Townhall | None = None

    @property
    def forum(self) -> Forum:
        assert self.townhall is not None
        return self.townhall.engine.forum

    @property
    def hub(self) -> ForumHub:
        assert self.townhall is not None
        return self.townhall.hub

    @property
    def sio(self) -> Any:
        """The server's python-socketio server, which every forum on it shares."""
        assert self.townhall is not None
        return self.townhall.transport.sio


def _recorder(client: Client, event: str) -> Callable[[Any], Awaitable[None]]:
    async def record(data: Any) -> None:
        client.received.setdefault(event, []).append(data)

    return record


@contextlib.asynccontextmanager
async def serve(
    programme: Programme, data_dir: Path, tick_ms: int = 50, port: int = 0, **more: Any
) -> AsyncIterator[tuple[Townhall, str]]:
    """Run Townhall under uvicorn on a loopback port (a free one by default) for the block;
    `more` are further settings."""
    sock = free_socket(port)
    port = sock.getsockname()[1]
    settings = Settings(host="127.0.0.1", port=port, data_dir=data_dir, tick_ms=tick_ms, **more)
    townhall = build(programme, settings)
    async with running(townhall.asgi, sock) as url:
        yield townhall, url


@contextlib.asynccontextmanager
async def serve_forums(
    rooms: list[Programme], data_dir: Path, tick_ms: int = 50, port: int = 0, **more: Any
) -> AsyncIterator[tuple[Server, str]]:
    """Run a server holding the forums of `rooms` (and its registry's) for the block."""
    sock = free_socket(port)
    port = sock.getsockname()[1]
    settings = Settings(host="127.0.0.1", port=port, data_dir=data_dir, tick_ms=tick_ms, **more)
    server = build_server([(programme, None) for programme in rooms], settings)
    server.load()
    async with running(server.asgi, sock) as url:
        yield server, url


@contextlib.asynccontextmanager
async def running(asgi: Any, sock: socket.socket) -> AsyncIterator[str]:
    """uvicorn serving `asgi` on `sock` for the block; its URL."""
    config = uvicorn.Config(
        asgi,
        log_level="warning",
        ws_per_message_deflate=False,
        ws=EngineIOWebSocket,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_until(lambda: server.started or task.done(), "uvicorn to start")
    if task.done():
        task.result()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Debian Chromium for the test; closed after it."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; each test that asks for `redis_url` gets it empty."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    server = RedisServer(tmp_path_factory.mktemp("redis"), port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(forum_programme(), tmp_path) as (townhall, url):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield forum
        finally:
            await forum.close_clients()


ENGINES = ["memory", "redis"]


class EngineFactory(Protocol):
    def __call__(self, programme: Programme | None = None) -> Engine: ...


def engine_url(request: pytest.FixtureRequest, kind: str) -> str:
    return "memory://" if kind == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=ENGINES)
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> EngineFactory:
    """A factory of engines sharing one store, so a second engine is a restart of the first.

    Engines run the test programme unless given another."""
    url = engine_url(request, request.param)

    def make(programme: Programme | None = None) -> Engine:
        return open_engine(url, programme or forum_programme(), tmp_path)

    return make
