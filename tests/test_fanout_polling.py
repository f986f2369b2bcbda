"""Long-polling phones on the fast broadcast path: a broadcast is one Engine.IO packet, encoded
once, put straight into each python-engineio socket's send queue. What they receive is what the
stock path sent them, byte for byte, in the same order as WebSocket phones receive it; a phone
that stops polling is owed only the latest message of each kind."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket
from playwright.async_api import Browser, expect
from socketio import packet as sio_packet

from tests.browser import PHONE
from tests.conftest import WAIT_S, Live, wait_until
from townhall import wire_json
from townhall.model.commands import Role
from townhall.transport.fanout import Fanout, Message, QueuePipe
from townhall.transport.long_polling import session_of
from townhall.transport.socket_rules import SocketRules

POLLING = "/socket.io/?EIO=4&transport=polling"
RS = "\x1e"  # Engine.IO's separator of packets in one long-polling body


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("tally", {"poll": "vote", "version": 7, "counts": {"a": 1, "b": 0}}),
        ("state", {"title": '가나다 "quoted" \\ \u2028', "items": [None, 1.5, True]}),
        ("board", {"posts": [{"text": "x" * 70_000}]}),
    ],
)
def test_a_broadcast_is_the_packet_python_socketio_sends(event: str, data: Any) -> None:
    server = socketio.AsyncServer(async_mode="asgi", json=wire_json)
    stock = server.packet_class(sio_packet.EVENT, namespace="/", data=[event, data]).encode()
    stock_packet = eio_packet.Packet(eio_packet.MESSAGE, stock)
    message = Message(event, data)
    assert message.packet.encode() == stock_packet.encode()
    # As a long-polling body carries it, beside another packet; and in its WebSocket frame.
    body = [message.packet, eio_packet.Packet(eio_packet.PING)]
    assert eio_payload.Payload(packets=body).encode() == stock_packet.encode() + RS + "2"
    assert message.frame.endswith(stock_packet.encode().encode())


def queued_socket() -> AsyncSocket:
    """python-engineio's own socket, with Townhall's rules, as a long-polling session has it."""
    server = socketio.AsyncServer(async_mode="asgi")
    socket = AsyncSocket(server.eio, "phone")
    SocketRules(socket)
    return socket


def texts(packets: list[Any]) -> list[Any]:
    return [json.loads(pkt.encode()[2:]) for pkt in packets]


async def test_a_phone_that_stops_polling_is_owed_only_the_latest_of_each_kind() -> None:
    socket = queued_socket()
    fanout = Fanout(queue_limit=4)
    pipe = QueuePipe(socket, fanout.queue_limit)
    fanout.members[Role.PARTICIPANT] = {"phone": pipe}
    await fanout.send(Role.PARTICIPANT, "state", Message("state", {"seq": 1}))
    for version in range(100):  # a poll's tallies, and boards, while the phone is not polling
        await fanout.send(Role.PARTICIPANT, ("tally", "vote"), Message("tally", {"v": version}))
        await fanout.send(Role.PARTICIPANT, ("board", "q"), Message("board", {"n": version}))
    assert socket.queue.qsize() == 5  # the limit, and the packet that reached it
    assert pipe.owed is not None and len(pipe.owed) == 2 and fanout.owing == 1
    fanout.settle()
    assert fanout.owing == 1, "nothing more is queued until the phone takes its queue"
    # The phone polls: it takes what was queued, in order, then what it is owed, the latest.
    first = texts(await socket.poll())
    assert first == [
        ["state", {"seq": 1}],
        ["tally", {"v": 0}],
        ["board", {"n": 0}],
        ["tally", {"v": 1}],
        ["board", {"n": 1}],
    ]
    fanout.settle()
    assert fanout.owing == 0
    assert texts(await socket.poll()) == [["tally", {"v": 99}], ["board", {"n": 99}]]


async def test_a_closed_socket_is_queued_nothing() -> None:
    socket = queued_socket()
    fanout = Fanout()
    fanout.members[Role.PARTICIPANT] = {"phone": QueuePipe(socket, fanout.queue_limit)}
    await socket.close(wait=False, abort=True)
    queued = socket.queue.qsize()
    await fanout.send(Role.PARTICIPANT, "state", Message("state", {"seq": 1}))
    assert socket.queue.qsize() == queued and fanout.owing == 0
    # What the close queued: a NOOP to end a poll under way, then the end.
    assert [pkt.packet_type for pkt in await socket.poll()] == [eio_packet.NOOP]
    assert await socket.poll() == []


@pytest.mark.parametrize("whose", ["townhall", "library"])
async def test_polling_takes_the_queue_as_the_library_does(whose: str) -> None:
    socket = queued_socket()
    poll = socket.poll if whose == "townhall" else functools.partial(AsyncSocket.poll, socket)
    queue = socket.queue
    waiting = asyncio.create_task(poll())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait(Message("state", {"seq": 2}).packet)
    assert texts(await waiting) == [["state", {"seq": 2}]]
    # Everything queued, up to the end; the end stays for the next poll, which ends.
    for packet in (*(Message("tally", {"v": v}).packet for v in range(3)), None, None):
        queue.put_nowait(packet)
    assert texts(await poll()) == [["tally", {"v": v}] for v in range(3)]
    assert await poll() == [] and queue.qsize() == 1
    assert await poll() == [] and queue.empty()
    assert queue._unfinished_tasks == 0  # every packet taken is marked done, for close(wait)
    # Nothing within the ping interval and timeout: QueueEmpty.
    socket.server.ping_interval, socket.server.ping_timeout = 0.01, 0.01
    with pytest.raises(eio_exceptions.QueueEmpty):
        await poll()


def sockets_of(live: Live) -> dict[str, Any]:
    return dict(live.sio.eio.sockets)


async def test_polling_and_websocket_phones_receive_the_same_broadcasts(live: Live) -> None:
    host = await live.open_poll("vote")
    assert (await host.call("results_show", {"poll": "vote"}))["ok"]
    websocket, _ = await live.phone()
    polling, _ = await live.phone(transports=("polling",))
    upgraded, _ = await live.phone(transports=("polling", "websocket"))
    screen = await live.connect({"role": "screen", "code": live.code}, transports=("polling",))
    channel = live.hub.transport
    await wait_until(lambda: channel.count(Role.PARTICIPANT) == 3, "the phones on the fanout")
    await wait_until(lambda: channel.count(Role.SCREEN) == 1, "the projector on the fanout")
    rooms = live.sio.manager.rooms.get("/", {})
    assert not rooms.get("test-forum/participant") and not rooms.get("test-forum/screen")
    kinds = sorted((type(s).__name__, s.upgraded) for s in sockets_of(live).values() if s.connected)
    # The host and one phone on the lean WebSocket; two phones and the projector on
    # python-engineio's own sockets, one of those upgraded to a WebSocket.
    assert kinds == [
        ("AsyncSocket", False),
        ("AsyncSocket", False),
        ("AsyncSocket", True),
        ("LeanSocket", True),
        ("LeanSocket", True),
    ]
    phones = (websocket, polling, upgraded)
    before = {id(phone): len(phone.received.get("tally", [])) for phone in phones}
    last = 0
    for round_ in range(4):
        for n, phone in enumerate(phones):
            choice = "abc"[(n + round_) % 3]
            ack = await phone.call("vote", {"poll": "vote", "choices": [choice], "op": f"{round_}"})
            assert ack["ok"], ack
            last = max(last, ack["version"])
    assert (await host.call("next"))["ok"]
    seq = live.forum.seq
    for client in (*phones, screen):
        await client.wait_for("tally", lambda t: t["version"] >= last, "the last tally")
        await client.wait_for("state", lambda s: s["seq"] == seq, "the new state")
    tallies = [phone.received["tally"][before[id(phone)] :] for phone in phones]
    assert tallies[0] == tallies[1] == tallies[2], "every phone saw the same tallies, in order"
    versions = [t["version"] for t in tallies[0]]
    assert versions == sorted(set(versions))
    states = [phone.received["state"] for phone in phones]
    assert [s["seq"] for s in states[0]].count(seq) == 1
    assert states[1][-len(states[0]) :] == states[0] and states[2][-len(states[0]) :] == states[0]
    # A polling phone that leaves leaves the fanout.
    await polling.close()
    await wait_until(lambda: channel.count(Role.PARTICIPANT) == 2, "the phone to leave")


async def test_a_polling_projector_that_stops_polling_catches_up_to_the_latest(
    live: Live,
) -> None:
    fanout = live.hub.transport.layer.fanout
    assert fanout is not None
    fanout.queue_limit = 2  # for connections from now on
    host = await live.host()
    witness = await live.screen()  # on a WebSocket: each state has gone out once it has it
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT_S) as http:
        opened = await http.get(POLLING)
        sid = json.loads(opened.text[1:])["sid"]
        url = f"{POLLING}&sid={sid}"
        auth = json.dumps({"role": "screen", "code": live.code})
        assert (await http.post(url, content="40" + auth)).text == "ok"
        received: list[str] = []

        async def take() -> None:
            received.extend((await http.get(url)).text.split(RS))

        while not any(p.startswith("40") for p in received):
            await take()
        channel = live.hub.transport
        await wait_until(lambda: channel.count(Role.SCREEN) == 2, "the projectors on the fanout")
        socket = live.sio.eio.sockets[sid]
        # It stops polling; the agenda moves on, each step broadcast before the next.
        steps = ("vote", "multi", "opening", "multi", "vote", "qna")
        for item in steps:
            assert (await host.call("goto", {"item": item}))["ok"]
            seq = live.forum.seq
            await witness.wait_for("state", seq_is(seq), "the state")
            assert socket.queue.qsize() <= fanout.queue_limit + 1, "no backlog past the limit"
        assert fanout.owing == 1, "the polling projector is owed the latest"
        received.clear()
        while seq not in state_seqs(received):
            await take()
        seen = state_seqs(received)
        assert seen[-1] == seq and len(seen) < len(steps), seen
    await wait_until(lambda: fanout.owing == 0, "nothing owed")


def seq_is(seq: int) -> Callable[[Any], bool]:
    return lambda state: bool(state["seq"] == seq)


def state_seqs(packets: list[str]) -> list[int]:
    """The seq of each `state` event among long-polling packets, in order."""
    return [json.loads(p[2:])[1]["seq"] for p in packets if p.startswith('42["state"')]


@pytest.mark.parametrize(
    ("query", "sid"),
    [
        (b"EIO=4&transport=polling&sid=abc_-1", "abc_-1"),
        (b"sid=abc&EIO=4&transport=polling&t=PXyz9", "abc"),  # the browser's cache-buster
        (b"EIO=4&sid=abc", "abc"),  # the transport defaults to long-polling, as the library's
        (b"EIO=4&transport=polling", None),  # a handshake
        (b"EIO=4&transport=websocket&sid=abc", None),
        (b"EIO=4&transport=polling&sid=abc&j=0", None),  # JSONP
        (b"EIO=4&transport=polling&sid=a%62c", None),  # to be decoded
        (b"EIO=4&transport=polling&sid=a+c", None),
        (b"EIO=4&transport=polling&sid=abc&sid=def", None),  # a field twice
        (b"EIO=4&transport=polling&sid", None),
        (b"", None),
    ],
)
def test_only_a_plain_query_naming_a_session_is_read_here(query: bytes, sid: str | None) -> None:
    assert session_of(query) == sid


async def test_an_open_sessions_requests_are_answered_as_the_library_does(live: Live) -> None:
    """The handshake is the library's (chunked); a poll and a post of the open session are
    answered here, with their length, the same status, body and headers otherwise."""
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT_S) as http:
        opened = await http.get(POLLING)
        assert opened.headers.get("transfer-encoding") == "chunked"
        sid = json.loads(opened.text[1:])["sid"]
        url = f"{POLLING}&sid={sid}&t=PAbc1"
        auth = json.dumps({"role": "screen", "code": live.code})
        posted = await http.post(url, content="40" + auth)
        assert (posted.status_code, posted.text) == (200, "ok")
        assert posted.headers["content-type"] == "text/plain"
        assert posted.headers["content-length"] == "2"
        polled = await http.get(url)
        assert polled.status_code == 200 and polled.text.startswith('40{"sid":')
        assert polled.headers["content-type"] == "text/plain; charset=UTF-8"
        assert "transfer-encoding" not in polled.headers
        assert polled.headers["content-length"] == str(len(polled.content))
        assert polled.headers["x-content-type-options"] == "nosniff"  # the guards' headers
        # A long message is compressed for a client that takes it, as the library does.
        host = await live.host()
        assert (await host.call("goto", {"item": "qna"}))["ok"]
        big = await http.get(url, headers={"Accept-Encoding": "gzip"})
        assert big.headers.get("content-encoding") == "gzip" and '"state"' in big.text
        # Another site's origin is refused, as the library does; the page's own is answered.
        foreign = await http.get(url, headers={"Origin": "http://elsewhere.example"})
        assert foreign.status_code == 400
        assert (await host.call("goto", {"item": "opening"}))["ok"]  # something to poll for
        same = await http.get(url, headers={"Origin": live.url})
        assert same.status_code == 200
        assert same.headers["access-control-allow-origin"] == live.url


async def test_a_post_that_ends_its_session_is_answered_without_waiting_for_a_poll(
    live: Live,
) -> None:
    """A POST the session cannot take (here, past the payload limit) ends the session and is
    answered 400 at once, even by a client with no poll waiting, which then never polls again:
    the library's disconnect waits for a poll to take the CLOSE, and held the request (and the
    server's shutdown) for ever. A poll that is waiting still takes the CLOSE."""
    too_big = "42" + json.dumps(["vote", {"pad": "x" * (16 * 1024)}])
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT_S) as http:
        for waiting_poll in (False, True):
            opened = await http.get(POLLING)
            sid = json.loads(opened.text[1:])["sid"]
            url = f"{POLLING}&sid={sid}"
            auth = json.dumps({"role": "screen", "code": live.code})
            assert (await http.post(url, content="40" + auth)).status_code == 200
            assert (await http.get(url)).text.startswith('40{"sid":')
            poll = asyncio.ensure_future(http.get(url)) if waiting_poll else None
            if poll is not None:
                held = functools.partial(
                    getattr, live.sio.eio.sockets[sid].poll.__self__, "getting"
                )
                await wait_until(held, "the server to hold the poll")
            posted = await http.post(url, content=too_big)
            assert posted.status_code == 400
            if poll is not None:
                assert (await poll).text == "1"  # Engine.IO's CLOSE
            assert (await http.get(url)).status_code == 400  # the session is gone


# A WebSocket that every network on the way refuses: it fails as it opens, as a browser's does.
BLOCKED_WEBSOCKET = """
window.WebSocket = class extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      const error = new Event("error");
      this.onerror?.(error);
      this.dispatchEvent(error);
      const closed = new CloseEvent("close", { code: 1006 });
      this.onclose?.(closed);
      this.dispatchEvent(closed);
    }, 0);
  }
  send() {}
  close() {}
};
"""


@pytest.mark.browser
async def test_the_phone_page_falls_back_to_long_polling_and_takes_broadcasts(
    browser: Browser, live: Live
) -> None:
    """A network that blocks WebSockets: the page's Socket.IO client goes on long-polling, its
    vote is counted, and the broadcasts reach it from the fanout."""
    host = await live.open_poll("vote")
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale="en")
    await context.add_init_script(BLOCKED_WEBSOCKET)
    phone = await context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    await phone.goto(f"{live.url}/j/{live.code}")
    await expect(phone.locator("#item-title")).to_have_text("Candidate vote")
    channel = live.hub.transport
    await wait_until(lambda: channel.count(Role.PARTICIPANT) == 1, "the phone on the fanout")
    kinds = [(type(s).__name__, s.upgraded) for s in sockets_of(live).values() if s.connected]
    assert kinds.count(("AsyncSocket", False)) == 1, kinds
    await phone.get_by_label("Proposal B").check()
    await phone.get_by_role("button", name="Vote").click()
    await expect(phone.locator("#vote-state")).to_contain_text("Your vote is counted")
    assert (await host.call("next"))["ok"]  # a state broadcast, through the socket's queue
    await expect(phone.locator("#item-title")).to_have_text("Several choices")
    assert not errors
    await context.close()
