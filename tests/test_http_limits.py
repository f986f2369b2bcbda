"""Slow and many connections (townhall.transport.http_limits): a request head left unfinished is
cut at its deadline, one address holds at most its cap of connections, and `townhall serve` raises
its open-file limit or says why it could not. Servers run with the options `townhall serve` gives
uvicorn, in this process and as `python -m townhall serve`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import uvicorn

from tests.conftest import TEST_ROOM, WAIT_S, Live, forum_programme, free_socket, wait_until
from tests.processes import ServerProcess
from tests.test_eio_websocket import RawPhone, endpoint_of, join
from townhall.app import build
from townhall.cli import uvicorn_options
from townhall.config import Settings, SettingsError
from townhall.identity import COOKIE_NAME
from townhall.transport.http_limits import (
    OWN_FILES,
    PHONES_PER_WORKER,
    connections_from,
    files_wanted,
    raise_file_limit,
)

LOOPBACK = "127.0.0.1"
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: townhall\r\nX-Slow: "
WHOLE_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: townhall\r\n\r\n"


@contextlib.asynccontextmanager
async def townhall_serve(tmp_path: Path, **more: Any) -> AsyncIterator[tuple[Live, Any]]:
    """Townhall under uvicorn in this loop, with `townhall serve`'s uvicorn options; `more` are
    settings. Yields the forum and uvicorn's server state."""
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = Settings(host=LOOPBACK, port=port, data_dir=tmp_path, tick_ms=50, **more)
    townhall = build(forum_programme(), settings)
    options = uvicorn_options(settings)
    del options["host"], options["port"]
    options.update(log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(uvicorn.Config(townhall.asgi, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_until(lambda: server.started or task.done(), "uvicorn to start")
    if task.done():
        task.result()
    live = Live(
        f"http://{LOOPBACK}:{port}", townhall.keys.code, townhall.keys.host_key, townhall=townhall
    )
    try:
        yield live, server.server_state
    finally:
        await live.close_clients()
        server.should_exit = True
        await task
        sock.close()


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (a reset ends it too)."""
    received = b""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                return received
            if not data:
                return received
            received += data


async def response(reader: asyncio.StreamReader) -> bytes:
    """One whole HTTP response with a Content-Length: its status line and headers, and body."""
    async with asyncio.timeout(WAIT_S):
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        assert length is not None, head
        return head + await reader.readexactly(int(length.group(1)))


async def cut_after(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trickle: bytes = b""
) -> tuple[bytes, float]:
    """What the server said before it closed the connection, and after how long; meanwhile
    the client sends `trickle` a byte at a time, as a slow client does."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def send_slowly() -> None:
        while trickle:
            for byte in trickle:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

    sender = asyncio.create_task(send_slowly())
    try:
        said = await until_closed(reader)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    return said, loop.time() - started


async def test_an_unfinished_head_is_cut_at_its_deadline_and_the_rest_goes_on(
    tmp_path: Path,
) -> None:
    timeout = 0.5
    async with townhall_serve(tmp_path, header_timeout=timeout) as (live, _):
        phone, cookie = await live.phone()  # a WebSocket, on the lean path

        async def silent() -> tuple[bytes, float]:
            return await cut_after(*await connect(live.url))

        async def stopped() -> tuple[bytes, float]:
            reader, writer = await connect(live.url)
            writer.write(PARTIAL_HEAD)
            return await cut_after(reader, writer)

        async def trickling() -> tuple[bytes, float]:
            reader, writer = await connect(live.url)
            writer.write(PARTIAL_HEAD)
            return await cut_after(reader, writer, trickle=b"abcdefgh")

        async def stopped_after_a_request() -> tuple[bytes, float]:
            reader, writer = await connect(live.url)
            writer.write(WHOLE_REQUEST)
            assert (await response(reader)).startswith(b"HTTP/1.1 200")
            writer.write(PARTIAL_HEAD)
            return await cut_after(reader, writer)

        async def crlf_after_a_request() -> tuple[bytes, float]:
            reader, writer = await connect(live.url)
            writer.write(WHOLE_REQUEST)
            assert (await response(reader)).startswith(b"HTTP/1.1 200")
            # uvicorn's keep-alive timer stops at these, and no request begins
            return await cut_after(reader, writer, trickle=b"\r\n")

        cuts = await asyncio.gather(
            silent(), stopped(), trickling(), stopped_after_a_request(), crlf_after_a_request()
        )
        (silence, _), (stop, _), _, (stop_after, _), _ = cuts
        for said, after in cuts:
            assert timeout * 0.9 <= after < timeout + 3, (said, after)
        assert silence == b""  # as an idle keep-alive connection is closed
        assert stop.startswith(b"HTTP/1.1 408 ") and stop_after.startswith(b"HTTP/1.1 408 ")

        # Connected for longer than the deadline, which covers only request heads.
        assert phone.sio.connected
        assert (await phone.call("snapshot"))["forum"]["code"] == live.code
        async with httpx.AsyncClient(cookies={COOKIE_NAME: cookie}) as http:
            page = await http.get(f"{live.url}/j/{live.code}")
        assert page.status_code == 200 and "<html" in page.text.lower()


async def hold(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that has been admitted: it answers a request."""
    reader, writer = await connect(url)
    writer.write(WHOLE_REQUEST)
    assert (await response(reader)).startswith(b"HTTP/1.1 200")
    return reader, writer


async def test_one_address_holds_at_most_its_cap_whichever_protocol_ends_a_connection(
    tmp_path: Path,
) -> None:
    cap = 2
    async with townhall_serve(tmp_path, max_connections_per_address=cap) as (live, state):

        async def holding(n: int) -> None:
            await wait_until(lambda: connections_from(state, LOOPBACK) == n, f"{n} held")

        async def refused() -> None:
            reader, writer = await connect(live.url)
            said = await until_closed(reader)
            writer.close()
            assert said.startswith(b"HTTP/1.1 503 ") and b"too many connections" in said, said

        # Plain HTTP connections: the third is refused; closing one frees its slot.
        first, second = await hold(live.url), await hold(live.url)
        await holding(2)
        await refused()
        first[1].close()
        await holding(1)
        third = await hold(live.url)
        await holding(2)
        second[1].close()
        third[1].close()
        await holding(0)

        # Lean WebSockets: counted by the HTTP protocol, released by EngineIOWebSocket.
        phones: list[RawPhone] = []
        for _ in range(cap):
            cookie = await live.new_cookie()
            await holding(len(phones))  # the page request's connection has gone
            phones.append(await join(live, cookie))
        assert len(endpoint_of(live).sockets) == cap
        await holding(cap)
        await refused()
        phones.pop().close()
        await holding(cap - 1)
        cookie = await live.new_cookie()
        await holding(cap - 1)
        phones.append(await join(live, cookie))
        await holding(cap)
        for phone in phones:
            phone.close()
        await holding(0)

        # Long-polling, then the upgrade handed to uvicorn's own WebSocket protocol.
        cookie = await live.new_cookie()
        await holding(0)
        upgraded = socketio.AsyncClient(reconnection=False)
        await upgraded.connect(
            live.url,
            auth={"role": "participant", "code": live.code},
            headers={"Cookie": f"{COOKIE_NAME}={cookie}"},
            transports=["polling", "websocket"],
            wait_timeout=WAIT_S,
        )
        await wait_until(lambda: upgraded.transport() == "websocket", "the upgrade")
        snapshot = await upgraded.call("snapshot", {}, timeout=WAIT_S)
        assert snapshot["forum"]["code"] == live.code
        await upgraded.disconnect()
        await holding(0)

        # Every slot is free again, and no more than that.
        held = [await hold(live.url) for _ in range(cap)]
        await refused()
        for _, writer in held:
            writer.close()
        await holding(0)


async def test_with_no_cap_nothing_is_counted(tmp_path: Path) -> None:
    async with townhall_serve(tmp_path, max_connections_per_address=0) as (live, state):
        held = [await hold(live.url) for _ in range(5)]
        assert connections_from(state, LOOPBACK) == 0
        for _, writer in held:
            writer.close()


def test_the_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {"TOWNHALL_HEADER_TIMEOUT": "2.5", "TOWNHALL_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    )
    assert settings.header_timeout == 2.5 and settings.max_connections_per_address == 0
    assert Settings().header_timeout == 10 and Settings().max_connections_per_address == 5000
    for name, value in [
        ("HEADER_TIMEOUT", "0"),
        ("HEADER_TIMEOUT", "nan"),
        ("HEADER_TIMEOUT", "soon"),
        ("HEADER_TIMEOUT", "301"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "-1"),
        ("MAX_CONNECTIONS_PER_ADDRESS", "many"),
    ]:
        with pytest.raises(SettingsError, match=f"TOWNHALL_{name}"):
            Settings.from_env({f"TOWNHALL_{name}": value})


def test_the_file_limit_is_raised_as_far_as_the_hard_limit_allows() -> None:
    wanted = files_wanted(5000)
    assert wanted == PHONES_PER_WORKER + 5000 + OWN_FILES
    assert raise_file_limit(5000, limits=(1024, 1 << 20)) is None
    assert raise_file_limit(5000, limits=(wanted, wanted)) is None
    assert raise_file_limit(5000, limits=(1 << 20, 1 << 20)) is None  # never lowered
    short = raise_file_limit(5000, limits=(1024, 4096))
    assert short is not None and "\n" not in short
    assert "open-file limit is 4096 (hard limit 4096)" in short
    assert f"room for about {4096 - OWN_FILES:,} phones per worker" in short
    assert f"ulimit -n {wanted}" in short and f"LimitNOFILE={wanted}" in short
    uncapped = raise_file_limit(0, limits=(1024, 1024))
    assert uncapped is not None and f"ulimit -n {files_wanted(0)}" in uncapped
    assert "one address" not in uncapped


# `python -m townhall serve`, started with the given open-file limits (soft, hard)
WITH_LIMITS = (
    "import os, resource, sys;"
    " resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])));"
    " os.execv(sys.executable, [sys.executable, *sys.argv[3:]])"
)


class LimitedServer(ServerProcess):
    """`python -m townhall serve` as an organiser starts it, under given open-file limits and
    with `TOWNHALL_*` settings from its environment."""

    def __init__(
        self,
        room: Path,
        data_dir: Path,
        *extra: str,
        files: tuple[int, int],
        settings: dict[str, str],
    ) -> None:
        super().__init__(room, data_dir, *extra)
        self.files = files
        self.settings = settings

    async def start(self) -> None:
        command = [
            sys.executable,
            "-c",
            WITH_LIMITS,
            *map(str, self.files),
            "-m",
            "townhall",
            "serve",
            str(self.room),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        env.update({f"TOWNHALL_{name}": value for name, value in self.settings.items()})
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        await self.wait_healthy()


def open_files(pid: int) -> tuple[int, int]:
    """A process's open-file limits (soft, hard), from /proc."""
    limits = Path(f"/proc/{pid}/limits").read_text()
    match = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits)
    assert match, limits
    return int(match.group(1)), int(match.group(2))


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "test-room.toml"
    path.write_text(TEST_ROOM, encoding="utf-8")
    yield path


async def stopped_head_is_cut(url: str, deadline: float) -> None:
    reader, writer = await connect(url)
    writer.write(PARTIAL_HEAD)
    said, after = await cut_after(reader, writer)
    assert said.startswith(b"HTTP/1.1 408 ") and deadline * 0.9 <= after < deadline + 3


async def test_townhall_serve_raises_its_file_limit_and_cuts_slow_heads(
    room: Path, tmp_path: Path
) -> None:
    _, hard = open_files(os.getpid())
    cap = 50
    server = LimitedServer(
        room,
        tmp_path / "data",
        files=(1024, hard),
        settings={"HEADER_TIMEOUT": "0.5", "MAX_CONNECTIONS_PER_ADDRESS": str(cap)},
    )
    try:
        await server.start()
        assert server.process is not None
        wanted = files_wanted(cap)
        assert open_files(server.process.pid) == (min(wanted, hard), hard)
        assert ("open-file limit" in server.output()) == (hard < wanted), server.output()
        await stopped_head_is_cut(server.url, 0.5)
        forum = server.endpoint()
        phone, _ = await forum.phone()
        assert (await phone.call("snapshot"))["forum"]["code"] == forum.code
        # uvloop's transports, as in production: the cap holds there too.
        held = [await hold(server.url) for _ in range(cap - 1)]
        reader, writer = await connect(server.url)
        said = await until_closed(reader)
        assert said.startswith(b"HTTP/1.1 503 "), said
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        await forum.close_clients()
    finally:
        server.stop()


async def test_workers_inherit_the_limit_and_a_short_one_is_reported_once(
    room: Path, tmp_path: Path, redis_url: str
) -> None:
    if open_files(os.getpid())[1] < 2048:
        pytest.skip("this machine's hard open-file limit is below 2048")
    server = LimitedServer(
        room,
        tmp_path / "data",
        "--redis",
        redis_url,
        "--workers",
        "2",
        files=(1024, 2048),
        settings={"HEADER_TIMEOUT": "0.5"},
    )
    try:
        await server.start()
        await server.wait_healthy(pids=2)
        assert server.process is not None
        workers = server.worker_pids()
        assert len(workers) >= 2
        for pid in (server.process.pid, *workers):
            assert open_files(pid) == (2048, 2048)
        warnings = [line for line in server.output().splitlines() if "open-file limit" in line]
        assert len(warnings) == 1, server.output()
        assert "open-file limit is 2048 (hard limit 2048)" in warnings[0]
        assert f"room for about {2048 - OWN_FILES:,} phones per worker" in warnings[0]
        assert f"ulimit -n {files_wanted(5000)}" in warnings[0]
        # uvicorn pickled the protocol into each worker with its deadline.
        for _ in range(4):
            await stopped_head_is_cut(server.url, 0.5)
    finally:
        server.stop()
