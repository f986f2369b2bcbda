"""The stock path (python-engineio's sockets, uvicorn's protocols) keeps nothing of a closed
connection, however it ended, even under Townhall's collector.

The collector (townhall.collector) freezes whatever survives a young collection, every half second,
and runs a full collection only when the forum is quiet. So a connection that lived longer than
half a second and dies in a reference cycle is never freed while phones come and go: every
closed connection must be freed by reference counting alone. Each batch of connections here is
frozen while open, as the collector would; once all are closed, the frozen objects are unfrozen
and counted, uncollected cycles included.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import socket
import struct
import types
import weakref
from asyncio import selector_events
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

from tests.conftest import WAIT_S, Live, forum_programme, serve, wait_until
from townhall import hub
from townhall.identity import COOKIE_NAME
from townhall.transport import lean_socket, servers, socket_rules

BATCHES = 8  # after one more to warm up
PER_VARIANT = 8  # connections per ending per batch: 8 x 8 x 12 = 768 counted
# Types of which a closed connection leaves an instance behind if anything of it leaks.
PER_CONNECTION = {
    "AsyncSocket",  # python-engineio's socket
    "SocketRules",
    "_CheckedWebSocket",
    "_RequestBody",
    "WebSocket",  # python-engineio's ASGI WebSocket wrapper
    "WSProtocol",  # uvicorn's
    "H11Protocol",
    "HttpToolsProtocol",
    "RequestResponseCycle",
    "TCPTransport",  # uvloop's
    "_SelectorSocketTransport",  # asyncio's (open ones)
    "Task",
    "Queue",
}


class Raw:
    """A loopback client on a bare socket, with nothing of its own in a reference cycle."""

    def __init__(self, sock: socket.socket, data: bytes = b"") -> None:
        self.sock, self.data = sock, data

    @classmethod
    async def open(cls, port: int, request: bytes) -> Raw:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, request)
        return cls(sock)

    async def _more(self) -> bool:
        async with asyncio.timeout(WAIT_S):
            data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        self.data += data
        return bool(data)

    async def head(self) -> bytes:
        while b"\r\n\r\n" not in self.data:
            assert await self._more(), "closed during the handshake"
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        return head

    async def rest(self) -> bytes:
        """Everything until the server closes (a response sent with `Connection: close`)."""
        while await self._more():
            pass
        return self.data

    async def frame(self) -> tuple[int, bytes] | None:
        """The server's next WebSocket frame (opcode, payload); None once it has closed."""
        while True:
            data = self.data
            if len(data) >= 2:
                size, start = data[1] & 0x7F, 2
                if size == 126:
                    size, start = (
                        (struct.unpack("!H", data[2:4])[0], 4) if len(data) >= 4 else (0, -1)
                    )
                elif size == 127:
                    size, start = (
                        (struct.unpack("!Q", data[2:10])[0], 10) if len(data) >= 10 else (0, -1)
                    )
                if start > 0 and len(data) >= start + size:
                    self.data = data[start + size :]
                    return data[0] & 0x0F, data[start : start + size]
            if not await self._more():
                return None

    async def text(self, check: Callable[[str], bool] = lambda _: True) -> str:
        while True:
            frame = await self.frame()
            assert frame is not None and frame[0] != 0x8, "the server closed the connection"
            if frame[0] == 0x1 and check(frame[1].decode()):
                return frame[1].decode()

    async def send(self, payload: str | bytes, opcode: int = 0x1) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        size = len(data)
        if size < 126:
            head = bytes((0x80 | opcode, 0x80 | size))
        elif size < 1 << 16:
            head = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", size)
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        await asyncio.get_running_loop().sock_sendall(self.sock, head + mask + masked)

    async def until_closed(self) -> None:
        """Read until the server ends the WebSocket (its close frame or the end of the stream)."""
        while (frame := await self.frame()) is not None and frame[0] != 0x8:
            pass
        self.close()

    def close(self) -> None:
        self.sock.close()


class Phones:
    """Participants reaching the forum the stock way: WebSocket or long-polling."""

    def __init__(self, live: Live, port: int, cookie: str) -> None:
        self.live, self.port, self.cookie = live, port, cookie
        self.auth = "40" + json.dumps({"role": "participant", "code": live.code})

    def _headers(self) -> bytes:
        return f"Host: 127.0.0.1:{self.port}\r\nCookie: {COOKIE_NAME}={self.cookie}\r\n".encode()

    async def websocket(self, query: str = "") -> Raw:
        request = (
            f"GET /socket.io/?EIO=4&transport=websocket{query} HTTP/1.1\r\n".encode()
            + self._headers()
            + b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        raw = await Raw.open(self.port, request)
        assert b" 101 " in (await raw.head()).split(b"\r\n")[0]
        return raw

    async def http(self, method: str, query: str, body: str = "", status: int = 200) -> str:
        request = (
            f"{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.0\r\n".encode()
            + self._headers()
            + f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n".encode()
            + body.encode()
        )
        raw = await Raw.open(self.port, request)
        head = await raw.head()
        data = await raw.rest()
        raw.close()
        assert f" {status} ".encode() in head.split(b"\r\n")[0], (head, data)
        if b"transfer-encoding: chunked" in head.lower():
            chunks = []
            while True:
                size, _, data = data.partition(b"\r\n")
                if not int(size, 16):
                    break
                chunks.append(data[: int(size, 16)])
                data = data[int(size, 16) + 2 :]
            data = b"".join(chunks)
        return data.decode()

    async def joined_websocket(self) -> Raw:
        raw = await self.websocket()
        assert (await raw.text()).startswith("0{")
        await raw.send(self.auth)
        await raw.text(lambda m: m.startswith('40{"sid"'))
        return raw

    async def joined_polling(self) -> str:
        opened = await self.http("GET", "")
        sid = json.loads(opened[1:])["sid"]
        assert await self.http("POST", f"&sid={sid}", self.auth) == "ok"
        assert '40{"sid"' in await self.http("GET", f"&sid={sid}")
        return str(sid)

    async def upgraded(self) -> Raw:
        """Long-polling first, then the session upgraded to a WebSocket."""
        sid = await self.joined_polling()
        raw = await self.websocket(f"&sid={sid}")
        await raw.send("2probe")
        await raw.text(lambda m: m == "3probe")
        await raw.send("5")
        return raw


async def _close(raw: Raw) -> None:
    raw.close()


async def _close_frame(raw: Raw) -> None:
    await raw.send(struct.pack("!H", 1000), opcode=0x8)
    await raw.until_closed()


async def _then_wait(raw: Raw, *messages: str | bytes, opcode: int = 0x1) -> None:
    for message in messages:
        await raw.send(message, opcode)
    await raw.until_closed()


async def _then_close(raw: Raw, *messages: str) -> None:
    for message in messages:
        await raw.send(message)
    raw.close()


def _endings(phones: Phones) -> list[Callable[[], Awaitable[Any]]]:
    """One coroutine function per way a connection can end; each returns what is still open."""

    async def websocket(end: Callable[[Raw], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        raw = await phones.joined_websocket()
        return lambda: end(raw)

    async def upgraded(end: Callable[[Raw], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        raw = await phones.upgraded()
        return lambda: end(raw)

    async def polling() -> Callable[[], Awaitable[None]]:
        sid = await phones.joined_polling()

        async def end() -> None:
            assert await phones.http("POST", f"&sid={sid}", "1") == "ok"
            # python-engineio forgets a closed long-polling session when it is next named, or
            # else when its service task next passes (within a ping timeout, 20 s by default).
            await phones.http("GET", f"&sid={sid}", status=400)

        return end

    ways: list[Callable[[Raw], Awaitable[None]]] = [
        _close,  # the phone vanishes
        _close_frame,
        lambda raw: _then_wait(raw, "1"),  # Engine.IO's CLOSE
        lambda raw: _then_close(raw, "41", "1"),  # Socket.IO's DISCONNECT, then Engine.IO's
        lambda raw: _then_wait(raw, b"\x04x", opcode=0x2),  # binary: refused
        lambda raw: _then_wait(raw, "4zzz"),  # a malformed Socket.IO packet
        lambda raw: _then_wait(raw, "x"),  # not Engine.IO
        lambda raw: _then_wait(raw, "4" + "x" * 20_000),  # over the size limit
        lambda raw: _then_close(raw, '421["vote",1]'),  # an event the hub refuses, then gone
    ]
    endings: list[Callable[[], Awaitable[Any]]] = [functools.partial(websocket, w) for w in ways]
    endings += [
        functools.partial(upgraded, _close),
        functools.partial(upgraded, _close_frame),
        polling,
    ]
    return endings


def _all_in(live: Live, count: int) -> bool:
    return len(live.hub.connections) == count


def _uvicorn_state() -> uvicorn.server.ServerState:
    """The state of the uvicorn server running in this loop: its open connections."""
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        server = frame.f_locals.get("self") if frame is not None else None
        if isinstance(server, uvicorn.Server):
            return server.server_state
    raise AssertionError("no uvicorn server is running")


def _census() -> Counter[str]:
    """Every object the collector tracks, by type name, frozen ones included; nothing collected.

    Left out: asyncio's own cycle, a closed selector transport holding a bound method of itself
    (with its `extra` dict and socket objects). The test's loop is asyncio's; uvicorn runs on
    uvloop, whose transports have no such cycle, and the cycle holds nothing of the connection
    (the transport lets go of its protocol when the connection is lost)."""
    gc.unfreeze()
    objects = gc.get_objects()
    asyncio_own: set[int] = set()
    for o in objects:
        if isinstance(o, selector_events._SelectorSocketTransport) and o.is_closing():  # type: ignore[attr-defined]
            extra = o._extra
            wrapped = extra.get("socket")
            parts = (o, extra, wrapped, getattr(wrapped, "_sock", None))
            asyncio_own.update(id(part) for part in parts if part is not None)
    for o in objects:
        if isinstance(o, types.MethodType) and id(o.__self__) in asyncio_own:
            asyncio_own.add(id(o))
    # and the loop's map of its transports by file descriptor, which keeps an entry for each
    transports = getattr(asyncio.get_running_loop(), "_transports", None)
    if isinstance(transports, weakref.WeakValueDictionary):
        asyncio_own.update(id(entry) for entry in getattr(transports, "data", {}).values())
    return Counter(type(o).__name__ for o in objects if id(o) not in asyncio_own)


async def test_closed_stock_connections_leave_nothing_behind(tmp_path: Path) -> None:
    async with serve(forum_programme(), tmp_path, lean_websocket=False) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        sio = live.sio
        eio = sio.eio
        # The default ping interval, 25 s: a closed socket is not kept until its next ping.
        assert eio.ping_interval > 2 * WAIT_S
        phones = Phones(live, int(url.rsplit(":", 1)[1]), await live.new_cookie())
        endings = _endings(phones)

        async def churn(batches: int) -> None:
            for _ in range(batches):
                ends = await asyncio.gather(*(e() for e in endings for _ in range(PER_VARIANT)))
                joined = functools.partial(_all_in, live, len(ends))
                await wait_until(joined, "the joins")
                gc.collect(1)  # what the collector does every half second
                gc.freeze()
                await asyncio.gather(*(end() for end in ends))
                del ends
                await wait_until(settled, "every connection to be dropped")

        state = _uvicorn_state()
        # The test freezes at known points instead: once every connection of a batch is open,
        # as the collector would after half a second. (A tick that lands mid-handshake would
        # also freeze uvicorn's HTTP protocol, which is in a cycle with its httptools parser.)
        for task in asyncio.all_tasks():
            if getattr(task.get_coro(), "__qualname__", "") == "Collector._run":
                task.cancel()

        def settled() -> bool:
            return (
                not state.connections  # every transport's connection_lost has run
                and not state.tasks
                and not live.hub.connections
                and not eio.sockets
                and not sio.environ
                and len(asyncio.all_tasks()) <= tasks
            )

        # A batch first: whatever is made once (caches, the ping service) is made now.
        tasks = len(asyncio.all_tasks()) + 1  # and Engine.IO's service task, from the first
        await churn(1)
        gc.unfreeze()
        gc.collect()
        before = _census()
        limiters = (servers._limited, socket_rules._limited, hub.limited, lean_socket.limited)
        logged = [set(limiter._seen) for limiter in limiters]  # other tests' lines, if any
        try:
            await churn(BATCHES)
            after = _census()
        finally:
            gc.collect()
        closed = BATCHES * PER_VARIANT * len(endings)
        grown = {name: after[name] - before[name] for name in after}
        # Not one per batch (a task of the forum's own may come and go meanwhile).
        assert {name: grown[name] for name in PER_CONNECTION if grown.get(name, 0) >= BATCHES} == {}
        # Nothing else either: no type has grown by one object for each ten connections, nor
        # all of them together by one for each two.
        assert {name: n for name, n in grown.items() if n >= closed // 10} == {}
        assert sum(grown.values()) < closed // 2
        # And the tables kept per connection are empty again.
        manager = sio.manager
        assert not live.hub.open_connections and not live.hub.board_buckets
        assert live.hub.transport.layer.fanout is not None
        assert (
            not any(live.hub.transport.layer.fanout.members.values())
            and not live.hub.transport.layer.fanout.joining
        )
        assert not manager.eio_to_sid and not manager.callbacks
        assert not manager.pending_disconnect
        assert not manager.rooms.get("/")
        assert not sio._binary_packet and not sio._deadlines
        for limiter, kept in zip(limiters, logged, strict=True):
            assert set(limiter._seen) <= kept  # nothing of a connection
