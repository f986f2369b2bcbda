"""Engine.IO v4 and Socket.IO v5 as their published protocol texts say, against a real Townhall
on uvicorn: raw HTTP for long-polling, raw WebSockets, on the lean WebSocket path and on the
stock one. Also what Townhall refuses on top: binary, malformed packets, a client that never
connects a namespace."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.conftest import WAIT_S, Live, forum_programme, serve, wait_until
from townhall.identity import COOKIE_NAME
from townhall.transport.servers import SocketIOServer
from townhall.transport.socket_rules import SocketRules

POLLING = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET = "/socket.io/?EIO=4&transport=websocket"
OPEN_FIELDS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
PATHS = ["lean", "stock"]


@pytest.fixture(params=PATHS)
async def forum(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    """A Townhall whose plain WebSockets take the lean path, or all the stock one."""
    async with serve(forum_programme(), tmp_path, lean_websocket=request.param == "lean") as (
        townhall,
        url,
    ):
        yield Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)


@pytest.fixture
async def http(forum: Live) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=forum.url, timeout=WAIT_S) as client:
        yield client


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def sio_of(forum: Live) -> SocketIOServer:
    server = forum.sio
    assert isinstance(server, SocketIOServer)
    return server


def screen_auth(forum: Live) -> str:
    return json.dumps({"role": "screen", "code": forum.code})


def opened(body: str) -> dict[str, Any]:
    assert body.startswith("0"), body
    value: dict[str, Any] = json.loads(body[1:])
    return value


class Socket:
    """A raw WebSocket client that keeps what it receives until a test asks for it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[str | bytes] = []

    @classmethod
    async def open(
        cls, session: aiohttp.ClientSession, url: str, cookie: str = "", path: str = WEBSOCKET
    ) -> Socket:
        headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
        ws = await session.ws_connect(url + path, headers=headers, autoping=True)
        return cls(ws)

    async def next(self, check: Any = lambda m: True) -> str:
        """The next text message that passes `check` (pings included, unless `check` skips)."""
        async with asyncio.timeout(WAIT_S):
            while True:
                found = [m for m in self.seen if isinstance(m, str) and check(m)]
                if found:
                    self.seen.remove(found[0])
                    return found[0]
                msg = await self.ws.receive()
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self.seen.append(msg.data)
                else:
                    raise AssertionError(f"closed while waiting for a message: {msg.type}")

    async def closed(self) -> list[str | bytes]:
        """Read until the server closes the WebSocket; what it sent before."""
        async with asyncio.timeout(WAIT_S):
            while True:
                msg = await self.ws.receive()
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self.seen.append(msg.data)
                elif msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    return self.seen

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def handshake(self) -> dict[str, Any]:
        return opened(await self.next(lambda m: m.startswith("0")))

    async def connect(self, auth: str) -> str:
        """Engine.IO's OPEN, then Socket.IO's CONNECT; the server's reply."""
        await self.handshake()
        await self.send("40" + auth)
        return await self.next(lambda m: m.startswith("4"))


async def joined(session: aiohttp.ClientSession, forum: Live) -> Socket:
    socket = await Socket.open(session, forum.url)
    assert (await socket.connect(screen_auth(forum))).startswith('40{"sid":')
    return socket


async def still_serving(session: aiohttp.ClientSession, forum: Live) -> None:
    """Another client connects and is answered: what happened to one touched no other."""
    other = await joined(session, forum)
    await other.send('421["snapshot",{}]')
    assert (await other.next(lambda m: m.startswith("431["))).startswith('431[{"ok":true')
    await other.ws.close()


async def polling_session(http: httpx.AsyncClient) -> str:
    response = await http.get(POLLING)
    assert response.status_code == 200
    return str(opened(response.text)["sid"])


def quick_pings(forum: Live, interval: float, timeout: float) -> None:
    """Shorter heartbeats for sockets opened from now on; the lean path's pinger restarts."""
    eio = forum.sio.eio
    eio.ping_interval, eio.ping_timeout = interval, timeout
    assert forum.townhall is not None
    endpoint = forum.townhall.websockets
    if endpoint is not None and endpoint._pinger is not None:
        endpoint._pinger.cancel()
        endpoint.start()


def polling(eio: Any, sid: str) -> bool:
    """Whether a long-polling GET of this session waits on the server."""
    method = getattr(eio.sockets.get(sid), "handle_get_request", None)
    rules = getattr(method, "__self__", None)
    return isinstance(rules, SocketRules) and rules.getting


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


# Engine.IO: the handshake


async def test_polling_handshake(http: httpx.AsyncClient) -> None:
    response = await http.get(POLLING)
    assert response.status_code == 200
    value = opened(response.text)
    assert set(value) == OPEN_FIELDS and isinstance(value["sid"], str)
    assert value["upgrades"] == ["websocket"]
    assert (value["pingInterval"], value["pingTimeout"]) == (25_000, 20_000)
    assert value["maxPayload"] == 16 * 1024


async def test_websocket_handshake(forum: Live, session: aiohttp.ClientSession) -> None:
    socket = await Socket.open(session, forum.url)
    value = await socket.handshake()
    assert set(value) == OPEN_FIELDS and value["upgrades"] == []
    assert (value["pingInterval"], value["pingTimeout"]) == (25_000, 20_000)
    assert value["maxPayload"] == 16 * 1024
    await socket.ws.close()


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("GET", "transport=polling"),  # no EIO
        ("GET", "EIO=abc&transport=polling"),
        ("GET", "EIO=3&transport=polling"),
        ("GET", "EIO=4"),  # no transport
        ("GET", "EIO=4&transport=abc"),
        ("POST", "EIO=4&transport=polling"),  # a POST opens no session
        ("PUT", "EIO=4&transport=polling"),
        ("DELETE", "EIO=4&transport=polling"),
        ("GET", "EIO=4&transport=polling&sid=unknown"),
        ("POST", "EIO=4&transport=polling&sid=unknown"),
    ],
)
async def test_bad_polling_requests_get_400(
    http: httpx.AsyncClient, method: str, query: str
) -> None:
    response = await http.request(method, f"/socket.io/?{query}", content=b"40")
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4"])
async def test_bad_websocket_handshakes_are_refused(
    forum: Live, session: aiohttp.ClientSession, query: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(f"{forum.url}/socket.io/?{query}")


# Engine.IO: messages over long-polling


async def test_polling_carries_socketio_both_ways(forum: Live, http: httpx.AsyncClient) -> None:
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    posted = await http.post(url, content="40" + screen_auth(forum))
    assert (posted.status_code, posted.text) == (200, "ok")
    assert (await http.get(url)).text.startswith('40{"sid":')
    # Several packets in one payload, separated by the record separator.
    posted = await http.post(url, content='421["snapshot",{}]\x1e422["snapshot",{}]')
    assert (posted.status_code, posted.text) == (200, "ok")
    replies: list[str] = []
    while len([r for r in replies if r.startswith("43")]) < 2:
        replies += (await http.get(url)).text.split("\x1e")
    acks = sorted(r for r in replies if r.startswith("43"))
    assert [a[:3] for a in acks] == ["431", "432"]
    assert all(json.loads(a[3:])[0]["ok"] for a in acks)


async def test_a_payload_that_is_not_engineio_closes_the_session(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    sid = await polling_session(http)
    assert (await http.post(f"{POLLING}&sid={sid}", content="abc")).status_code == 400
    assert (await http.get(f"{POLLING}&sid={sid}")).status_code == 400
    no_tracebacks(caplog)


async def test_two_polls_at_once_close_the_session(forum: Live, http: httpx.AsyncClient) -> None:
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    first = asyncio.create_task(http.get(url))
    eio = forum.sio.eio
    await wait_until(lambda: polling(eio, sid), "the first poll")
    assert (await http.get(url)).status_code == 400
    response = await first
    assert (response.status_code, response.text) == (200, "1")  # Engine.IO's CLOSE
    assert (await http.get(url)).status_code == 400


async def test_the_client_closes_a_polling_session(forum: Live, http: httpx.AsyncClient) -> None:
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    poll = asyncio.create_task(http.get(url))
    eio = forum.sio.eio
    await wait_until(lambda: polling(eio, sid), "the poll")
    posted = await http.post(url, content="1")
    assert (posted.status_code, posted.text) == (200, "ok")
    response = await poll
    assert (response.status_code, response.text) == (200, "6")  # NOOP ends the poll cleanly
    assert (await http.get(url)).status_code == 400


async def test_polling_ping_pong_and_expiry(forum: Live, http: httpx.AsyncClient) -> None:
    quick_pings(forum, 0.1, 1.0)
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    for _ in range(3):
        response = await http.get(url)
        assert (response.status_code, response.text) == (200, "2")
        assert (await http.post(url, content="3")).status_code == 200
    # Now no pong: once the ping timeout has passed, the session is over when next asked.
    eio = forum.sio.eio
    socket = eio.sockets[sid]
    await wait_until(lambda: socket.last_ping is not None, "the next ping")
    await wait_until(
        lambda: time.time() - socket.last_ping > eio.ping_timeout, "the ping timeout to pass"
    )
    assert (await http.get(url)).status_code == 400


# Engine.IO: WebSocket


async def test_websocket_ping_pong_and_timeout(forum: Live, session: aiohttp.ClientSession) -> None:
    quick_pings(forum, 0.2, 0.2)
    socket = await joined(session, forum)
    for _ in range(3):
        await socket.next(lambda m: m == "2")
        await socket.send("3")
    # Silent from now on: closed (the lean path sends Engine.IO's CLOSE first; the stock one's
    # read times out at the same moment and ends the socket without one).
    await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the silent client to be dropped")


async def test_the_client_closes_a_websocket(forum: Live, session: aiohttp.ClientSession) -> None:
    socket = await joined(session, forum)
    await socket.send("1")
    await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the disconnect")


async def test_a_websocket_message_that_is_not_engineio_closes_it(
    forum: Live, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    socket = await joined(session, forum)
    await socket.send("abc")
    await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the disconnect")
    no_tracebacks(caplog)
    await still_serving(session, forum)


async def test_upgrade_from_polling(
    forum: Live, http: httpx.AsyncClient, session: aiohttp.ClientSession
) -> None:
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    socket = await Socket.open(session, forum.url, path=f"{WEBSOCKET}&sid={sid}")
    await socket.send("2probe")
    assert await socket.next() == "3probe"
    response = await http.get(url)
    assert (response.status_code, response.text) == (200, "6")  # ends the poll for the upgrade
    await socket.send("5")
    await socket.send("40" + screen_auth(forum))
    assert (await socket.next(lambda m: m.startswith("4"))).startswith('40{"sid":')
    # Once upgraded, long-polling and a second WebSocket for the session are refused.
    assert (await http.get(url)).status_code == 400
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await session.ws_connect(f"{forum.url}{WEBSOCKET}&sid={sid}")
    await socket.send('421["snapshot",{}]')
    assert (await socket.next(lambda m: m.startswith("431["))).startswith('431[{"ok":true')
    await socket.ws.close()


# Socket.IO


async def test_connect_needs_townhall_auth(forum: Live, session: aiohttp.ClientSession) -> None:
    socket = await Socket.open(session, forum.url)
    await socket.handshake()
    # Townhall refuses a CONNECT without auth (the protocol's example accepts it): who connects
    # decides what they may see.
    await socket.send("40")
    refused = await socket.next(lambda m: m.startswith("44"))
    assert json.loads(refused[2:])["data"]["code"] == "bad_auth"
    # The same Engine.IO session may try again.
    await socket.send("40" + screen_auth(forum))
    assert (await socket.next(lambda m: m.startswith("40"))).startswith('40{"sid":')
    await socket.ws.close()


async def test_a_participant_connects_with_the_join_cookie(
    forum: Live, session: aiohttp.ClientSession
) -> None:
    socket = await Socket.open(session, forum.url, cookie=await forum.new_cookie())
    auth = json.dumps({"role": "participant", "code": forum.code})
    assert (await socket.connect(auth)).startswith('40{"sid":')
    await socket.ws.close()


async def test_an_unknown_namespace_is_refused(forum: Live, session: aiohttp.ClientSession) -> None:
    socket = await Socket.open(session, forum.url)
    await socket.handshake()
    await socket.send("40/random,")
    assert await socket.next() == '44/random,{"message":"Invalid namespace"}'
    await socket.ws.close()


async def test_event_ack_and_disconnect(forum: Live, session: aiohttp.ClientSession) -> None:
    socket = await joined(session, forum)
    await socket.send('42456["snapshot",{}]')
    ack = await socket.next(lambda m: m.startswith("43456["))
    assert json.loads(ack[5:])[0]["forum"]["code"] == forum.code
    await wait_until(lambda: len(forum.hub.connections) == 1, "the connection")
    await socket.send("41")
    await wait_until(lambda: not forum.hub.connections, "the namespace disconnect")
    await socket.ws.close()


@pytest.mark.parametrize(
    "packet",
    [
        "4abc",  # unknown Socket.IO packet type
        "42{}",  # an EVENT's payload must be a non-empty array
        "42[]",
        '42abc["snapshot",{}]',  # an ack id that is not a number
        "43",  # an ACK needs an id and an array
        "431{}",
        '44{"message":"x"}',  # CONNECT_ERROR is the server's
        "47",
        "42" + "[" * 5000 + "]" * 5000,  # nested past the decoder's depth
    ],
)
async def test_a_malformed_packet_closes_the_connection(
    forum: Live,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    packet: str,
) -> None:
    caplog.set_level(logging.INFO, logger="townhall.transport.servers")
    socket = await joined(session, forum)
    await socket.send(packet)
    await socket.send(packet)  # sent again before the close: not logged again
    assert "1" in await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the connection to be dropped")
    no_tracebacks(caplog)
    lines = [r.getMessage() for r in caplog.records if r.name == "townhall.transport.servers"]
    assert len(lines) == 1 and len(lines[0]) < 200, lines
    await still_serving(session, forum)


async def test_a_client_that_never_connects_is_closed(tmp_path: Path) -> None:
    async with (
        serve(forum_programme(), tmp_path, connect_timeout_ms=300) as (townhall, url),
        aiohttp.ClientSession() as session,
        httpx.AsyncClient(base_url=url, timeout=WAIT_S) as http,
    ):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        idle = await Socket.open(session, url)
        await idle.handshake()
        assert "1" in await idle.closed()
        # Over long-polling: the poll under way takes the CLOSE; the session is gone.
        sid = await polling_session(http)
        response = await http.get(f"{POLLING}&sid={sid}")
        assert (response.status_code, response.text) == (200, "1")
        assert (await http.get(f"{POLLING}&sid={sid}")).status_code == 400
        # A client that connects in time is not timed out.
        socket = await joined(session, forum)
        sio = sio_of(forum)
        await wait_until(lambda: not sio._deadlines, "every deadline to be settled")
        await socket.send('421["snapshot",{}]')
        assert (await socket.next(lambda m: m.startswith("431["))).startswith('431[{"ok":true')
        await socket.ws.close()


# Binary: Townhall never uses it


@pytest.mark.parametrize(
    "sent",
    [
        b"\x01\x02\x03\x04",  # a binary WebSocket frame
        '451-["vote",{"_placeholder":true,"num":0}]',  # BINARY_EVENT
        '461-1[{"_placeholder":true,"num":0}]',  # BINARY_ACK
    ],
)
async def test_binary_closes_the_connection(
    forum: Live, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, sent: Any
) -> None:
    socket = await joined(session, forum)
    await socket.send(sent)
    assert "1" in await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the connection to be dropped")
    assert not sio_of(forum)._binary_packet
    no_tracebacks(caplog)
    await still_serving(session, forum)


async def test_binary_over_polling_closes_the_session(forum: Live, http: httpx.AsyncClient) -> None:
    sid = await polling_session(http)
    url = f"{POLLING}&sid={sid}"
    assert (await http.post(url, content="40" + screen_auth(forum))).status_code == 200
    assert (await http.get(url)).text.startswith("40")
    assert (await http.post(url, content="bAQIDBA==")).status_code == 400
    assert (await http.get(url)).status_code == 400
    await wait_until(lambda: not forum.hub.connections, "the connection to be dropped")


async def test_announced_attachments_are_not_kept(
    forum: Live, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The attack: announce nearly 10^10 attachments, then stream 16 KB binary frames. The
    connection ends on the announcement; nothing is held for it."""
    caplog.set_level(logging.INFO, logger="townhall.transport.servers")
    socket = await joined(session, forum)
    await socket.send('59999999999-["vote",{"_placeholder":true,"num":0}]')
    frame = b"\xff" * (16 * 1024 - 1)
    with contextlib.suppress(ConnectionError):  # the server may have closed the socket by now
        for _ in range(64):
            await socket.send(frame)
    assert "1" in await socket.closed()
    await wait_until(lambda: not forum.hub.connections, "the connection to be dropped")
    assert not sio_of(forum)._binary_packet
    lines = [r.getMessage() for r in caplog.records if r.name == "townhall.transport.servers"]
    assert len(lines) <= 1
    no_tracebacks(caplog)
    await still_serving(session, forum)
