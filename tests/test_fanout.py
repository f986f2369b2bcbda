"""The fast broadcast path: frames as a WebSocket peer reads them, a slow socket that keeps only
the latest message of each kind, and phones on a real server taking broadcasts from it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from tests.conftest import Live, forum_programme, serve, wait_until
from townhall.model.commands import Role
from townhall.transport.fanout import BUFFER_LIMIT, Fanout, Message, Pipe, event_frame


def read_frames(data: bytes) -> list[str]:
    """The text messages a WebSocket client reads from `data`, by wsproto's own parser."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(data)
    return [event.data for event in client.events() if isinstance(event, TextMessage)]


@pytest.mark.parametrize("size", [0, 100, 125, 126, 1000, 65535, 65536, 200_000])
def test_a_frame_is_one_socketio_event_whatever_its_length(size: int) -> None:
    data = {"text": "가" * size}
    (message,) = read_frames(event_frame("state", data))
    assert message.startswith("42")
    assert json.loads(message[2:]) == ["state", data]


@pytest.fixture
async def slow_pipe() -> AsyncIterator[tuple[Pipe, socket.socket]]:
    """A real socket whose reader does not read: the server's writes pile up in its buffer."""
    ours, theirs = socket.socketpair()
    for sock in (ours, theirs):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    try:
        yield Pipe(transport, 16 * 1024), theirs
    finally:
        transport.close()
        theirs.close()


async def test_a_slow_socket_is_owed_only_the_latest_message_of_each_kind(
    slow_pipe: tuple[Pipe, socket.socket],
) -> None:
    pipe, reader = slow_pipe
    fanout = Fanout(buffer_limit=16 * 1024)
    fanout.members[Role.PARTICIPANT] = {"phone": pipe}
    big = "x" * 8000
    sent = 0
    while pipe.transport.get_write_buffer_size() <= fanout.buffer_limit:
        await fanout.send(Role.PARTICIPANT, ("board", "q"), Message("board", {"n": sent, "t": big}))
        sent += 1
        assert sent < 1000, "the socket never filled"
    buffered = pipe.transport.get_write_buffer_size()
    for version in range(500):  # a burst of tallies while the phone is not reading
        await fanout.send(Role.PARTICIPANT, ("tally", "vote"), Message("tally", {"v": version}))
    await fanout.send(Role.PARTICIPANT, ("board", "q"), Message("board", {"n": "last"}))
    assert fanout.owing == 1
    assert pipe.transport.get_write_buffer_size() == buffered, "nothing more was written"
    assert pipe.owed is not None and len(pipe.owed) == 2  # one tally and one board: the latest
    # The phone reads again: the buffer drains, and it is sent what it is owed.
    reader.setblocking(False)
    received = bytearray()

    def drained() -> bool:
        try:
            while chunk := reader.recv(65536):
                received.extend(chunk)
        except BlockingIOError:
            pass
        fanout.settle()
        return fanout.owing == 0 and pipe.transport.get_write_buffer_size() == 0

    await wait_until(drained, "the slow socket to drain")
    await asyncio.sleep(0)
    drained()
    messages = [json.loads(m[2:]) for m in read_frames(bytes(received))]
    assert len(messages) == sent + 2
    assert messages[-2:] == [["tally", {"v": 499}], ["board", {"n": "last"}]]


async def phones_on_the_fanout(live: Live, count: int) -> list[Any]:
    phones = [(await live.phone())[0] for _ in range(count)]
    fanout = live.hub.transport  # the forum's channel: its rooms on the fanout
    assert fanout is not None
    await wait_until(
        lambda: fanout.count(Role.PARTICIPANT) == count, "the phones to join the fanout"
    )
    return phones


async def test_phones_and_the_projector_take_tallies_from_the_fanout(live: Live) -> None:
    host = await live.open_poll("vote")
    assert (await host.call("results_show", {"poll": "vote"}))["ok"]
    screen = await live.screen()
    phones = await phones_on_the_fanout(live, 3)
    fanout = live.hub.transport  # the forum's channel: its rooms on the fanout
    assert fanout is not None
    await wait_until(lambda: fanout.count(Role.SCREEN) == 1, "the projector to join")
    # Nobody on the fanout is left in the stock path's room too: no message arrives twice.
    rooms = live.sio.manager.rooms.get("/", {})
    assert not rooms.get("test-forum/participant") and not rooms.get("test-forum/screen")
    acks = []
    for n, phone in enumerate(phones):
        choice = "abc"[n]
        acks.append(await phone.call("vote", {"poll": "vote", "choices": [choice], "op": "1"}))
    last = max(ack["version"] for ack in acks)
    tally = await screen.wait_for("tally", lambda t: t["version"] >= last, "the projector tally")
    assert tally["counts"] == {"a": 1, "b": 1, "c": 1}
    for phone in phones:
        seen = await phone.wait_for("tally", lambda t: t["version"] >= last, "a phone's tally")
        assert seen["counts"] == {"a": 1, "b": 1, "c": 1}
    # A state change reaches everyone once, by seq.
    assert (await host.call("next"))["ok"]
    seq = live.forum.seq
    for client in (*phones, screen):
        await client.wait_for("state", lambda s: s["seq"] == seq, "the new state")
        assert [s["seq"] for s in client.received["state"]].count(seq) == 1
    # A phone that leaves leaves the fanout.
    await phones[0].close()
    await wait_until(lambda: fanout.count(Role.PARTICIPANT) == 2, "the phone to leave")


async def test_the_stock_path_serves_alone_when_the_fanout_is_off(tmp_path: Path) -> None:
    async with serve(forum_programme(), tmp_path, fast_broadcast=False) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            assert live.hub.transport.layer.fanout is None
            host = await live.open_poll("vote")
            assert (await host.call("results_show", {"poll": "vote"}))["ok"]
            phone, _ = await live.phone()
            ack = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "1"})
            tally = await phone.wait_for("tally", lambda t: t["version"] >= ack["version"])
            assert tally["counts"]["b"] == 1
        finally:
            await live.close_clients()


def test_the_buffer_limit_holds_several_tallies_but_not_a_backlog() -> None:
    tally = event_frame("tally", {"poll": "vote", "version": 10**9, "counts": {"a": 10**6}})
    assert 100 * len(tally) < BUFFER_LIMIT < 1024 * 1024


def test_every_role_is_sent_to_and_the_projector_first() -> None:
    from townhall.broadcast import SEND_ORDER

    assert sorted(SEND_ORDER) == sorted(Role) and len(SEND_ORDER) == len(Role)
    assert SEND_ORDER[0] is Role.SCREEN and SEND_ORDER[-1] is Role.PARTICIPANT
