"""Plain Engine.IO WebSockets served from uvicorn's protocol object
(townhall.transport.lean_websocket): the Socket.IO protocol as before, no task per idle
connection, pings, limits, and every other handshake handed to the stock path."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import socketio
from engineio.async_socket import AsyncSocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason

from tests.conftest import WAIT_S, Live, forum_programme, serve, wait_until
from townhall.identity import COOKIE_NAME, cookie_name
from townhall.transport.lean_socket import Endpoint, LeanSocket

SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket"


class RawPhone:
    """A WebSocket client made of a TCP stream and wsproto: no task of its own, so the tasks
    left in this process are the server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.messages: list[str] = []
        self.closed: CloseConnection | None = None

    @classmethod
    async def open(
        cls, url: str, cookie: str = "", path: str = SOCKET_PATH, origin: str = ""
    ) -> tuple[RawPhone, AcceptConnection | RejectConnection]:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        phone = cls(reader, writer)
        headers = [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())] if cookie else []
        if origin:
            headers.append((b"origin", origin.encode()))
        writer.write(
            phone.ws.send(Request(host=f"{host}:{port}", target=path, extra_headers=headers))
        )
        reply = await phone._next(lambda e: isinstance(e, AcceptConnection | RejectConnection))
        return phone, reply

    async def _next(self, wanted: Any) -> Any:
        async with asyncio.timeout(WAIT_S):
            while True:
                for event in self.ws.events():
                    if isinstance(event, TextMessage):
                        self.messages.append(event.data)
                    if isinstance(event, CloseConnection):
                        self.closed = event
                    if wanted(event):
                        return event
                data = await self.reader.read(65536)
                if not data:
                    return None
                self.ws.receive_data(data)

    async def message(self, check: Any = lambda m: True) -> str:
        """The next message the server sends that passes `check` (earlier ones are kept)."""
        found = [m for m in self.messages if check(m)]
        if found:
            self.messages.remove(found[0])
            return found[0]
        event = await self._next(lambda e: isinstance(e, TextMessage) and check(e.data))
        assert event is not None, "the server closed the connection"
        self.messages.remove(event.data)
        return str(event.data)

    def send(self, text: str) -> None:
        self.writer.write(self.ws.send(TextMessage(data=text)))

    async def call(self, ack_id: int, event: str, data: Any) -> Any:
        self.send(f"42{ack_id}" + json.dumps([event, data]))
        reply = await self.message(lambda m: m.startswith(f"43{ack_id}["))
        return json.loads(reply[len(f"43{ack_id}") :])[0]

    async def until_closed(self) -> CloseConnection | None:
        """Read until the server closes; its close frame, if it sent one."""
        await self._next(lambda e: isinstance(e, CloseConnection))
        self.close()
        return self.closed

    def close(self) -> None:
        self.writer.close()


async def join(live: Live, cookie: str | None = None) -> RawPhone:
    """A phone connected to the forum through the plain WebSocket path."""
    cookie = cookie or await live.new_cookie()
    phone, reply = await RawPhone.open(live.url, cookie)
    assert isinstance(reply, AcceptConnection)
    opened = json.loads((await phone.message(lambda m: m.startswith("0")))[1:])
    assert opened["upgrades"] == [] and opened["maxPayload"] == 16 * 1024
    phone.send("40" + json.dumps({"role": "participant", "code": live.code}))
    assert (await phone.message(lambda m: m.startswith("40"))).startswith('40{"sid":')
    return phone


def endpoint_of(live: Live) -> Endpoint:
    assert live.townhall is not None and live.townhall.websockets is not None
    return live.townhall.websockets


def server_tasks() -> int:
    return len(asyncio.all_tasks())


async def test_a_websocket_phone_speaks_socketio_as_before(live: Live) -> None:
    host = await live.open_poll("vote")
    assert (await host.call("results_show", {"poll": "vote"}))["ok"]
    endpoint = endpoint_of(live)
    assert len(endpoint.sockets) == 1  # the host's
    before = set(endpoint.sockets)
    phone = await join(live)
    (sid,) = set(endpoint.sockets) - before
    socket = endpoint.sockets[sid]
    assert live.sio.eio.sockets[sid] is socket
    ack = await phone.call(1, "vote", {"poll": "vote", "choices": ["b"], "op": "1"})
    assert ack["ok"] is True
    tally = json.loads(
        (await phone.message(lambda m: m.startswith('42["tally",') and '"b":1' in m))[2:]
    )[1]
    assert tally["version"] >= ack["version"]
    refused = await phone.call(2, "vote", {"poll": "nope", "choices": ["b"], "op": "2"})
    assert refused["ok"] is False and refused["error"]["code"]
    phone.close()
    await wait_until(lambda: len(live.hub.connections) == 1, "the phone's disconnect")
    assert sid not in endpoint.sockets and sid not in live.sio.eio.sockets


async def test_idle_phones_hold_no_task_on_the_server(live: Live) -> None:
    first = await join(live)
    endpoint = endpoint_of(live)
    await wait_until(lambda: not endpoint.tasks, "the first phone's handling to finish")
    before = server_tasks()
    phones = [await join(live) for _ in range(20)]
    await wait_until(lambda: not endpoint.tasks, "the phones' handling to finish")
    assert len(live.hub.connections) == 21
    # The stock path holds four tasks per WebSocket (uvicorn's, Engine.IO's reader, writer and
    # ping); here twenty more phones are twenty sockets and no task.
    assert server_tasks() == before
    for phone in (first, *phones):
        phone.close()


async def test_pings_are_answered_and_a_silent_phone_is_dropped(live: Live) -> None:
    endpoint = endpoint_of(live)
    eio = live.sio.eio
    await endpoint.stop()
    eio.ping_interval, eio.ping_timeout = 0.05, 0.1
    endpoint.start()
    phone = await join(live)
    for _ in range(3):  # answered pings keep it connected
        await phone.message(lambda m: m == "2")
        phone.send("3")
    assert len(live.hub.connections) == 1
    closed = await phone.until_closed()  # now it stays silent
    assert closed is not None and closed.code == CloseReason.NORMAL_CLOSURE
    assert "1" in phone.messages  # Engine.IO's CLOSE before the WebSocket close
    await wait_until(lambda: not live.hub.connections, "the silent phone to be dropped")


async def test_an_oversized_message_closes_the_connection(live: Live) -> None:
    phone = await join(live)
    phone.send('42["vote",' + json.dumps({"poll": "vote", "pad": "x" * 20_000}) + "]")
    closed = await phone.until_closed()
    assert closed is not None and closed.code == CloseReason.MESSAGE_TOO_BIG
    await wait_until(lambda: not live.hub.connections, "the connection to be dropped")


async def test_endless_empty_fragments_count_towards_the_limit(live: Live) -> None:
    phone = await join(live)
    phone.writer.write(phone.ws.send(TextMessage(data="4", message_finished=False)))
    empty = phone.ws.send(TextMessage(data="", message_finished=False))
    for _ in range(20):
        phone.writer.write(empty * 1000)
        await phone.writer.drain()
    closed = await phone.until_closed()
    assert closed is not None and closed.code == CloseReason.MESSAGE_TOO_BIG
    await wait_until(lambda: not live.hub.connections, "the connection to be dropped")


async def test_a_packet_that_is_not_engineio_ends_the_connection(live: Live) -> None:
    phone, other = await join(live), await join(live)
    phone.send("")
    assert await phone.until_closed() is not None
    await wait_until(lambda: len(live.hub.connections) == 1, "the connection to be dropped")
    assert (await other.call(1, "snapshot", {}))["forum"]["code"] == live.code
    other.close()


async def test_a_close_frame_disconnects_and_a_shutdown_closes_with_1012(tmp_path: Path) -> None:
    async with serve(forum_programme(), tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        leaving, staying = await join(live), await join(live)
        leaving.writer.write(leaving.ws.send(CloseConnection(code=1000)))
        assert (await leaving.until_closed()) is not None
        await wait_until(lambda: len(live.hub.connections) == 1, "the closed phone to leave")
    closed = await staying.until_closed()
    assert closed is not None and closed.code == CloseReason.SERVICE_RESTART


async def test_other_handshakes_go_the_stock_way(live: Live) -> None:
    endpoint = endpoint_of(live)
    # Long-polling first, then an upgrade naming the session: python-engineio's own socket.
    sio = socketio.AsyncClient(reconnection=False)
    cookie = await live.new_cookie()
    await sio.connect(
        live.url,
        auth={"role": "participant", "code": live.code},
        headers={"Cookie": f"{COOKIE_NAME}={cookie}"},
        transports=["polling", "websocket"],
        wait_timeout=WAIT_S,
    )
    try:
        await wait_until(lambda: sio.transport() == "websocket", "the upgrade to WebSocket")
        (eio_socket,) = live.sio.eio.sockets.values()
        assert type(eio_socket) is AsyncSocket and eio_socket.upgraded
        assert not endpoint.sockets
        snapshot = await sio.call("snapshot", {}, timeout=WAIT_S)
        assert snapshot["forum"]["code"] == live.code
    finally:
        await sio.disconnect()
    # An origin python-engineio refuses is refused the same way.
    foreign, reply = await RawPhone.open(live.url, cookie, origin="http://elsewhere.example")
    assert isinstance(reply, RejectConnection) and reply.status_code == 403
    foreign.close()
    # Another Engine.IO version, likewise.
    old, reply = await RawPhone.open(live.url, cookie, path="/socket.io/?EIO=3&transport=websocket")
    assert isinstance(reply, RejectConnection) and reply.status_code == 403
    old.close()
    assert not endpoint.sockets


async def test_the_lean_path_can_be_turned_off(tmp_path: Path) -> None:
    async with serve(forum_programme(), tmp_path, lean_websocket=False) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            assert townhall.websockets is None
            phone, _ = await live.phone()
            (eio_socket,) = live.sio.eio.sockets.values()
            assert type(eio_socket) is AsyncSocket
            assert (await phone.call("snapshot"))["forum"]["code"] == live.code
        finally:
            await live.close_clients()


async def test_the_page_script_reaches_the_lean_path(live: Live) -> None:
    """The join page's cookie is what the lean path's connection reads, as the stock one did."""
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{live.url}/j/{live.code}")
    phone = await join(live, page.cookies[cookie_name(live.code)])
    assert isinstance(next(iter(endpoint_of(live).sockets.values())), LeanSocket)
    phone.close()
