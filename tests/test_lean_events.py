"""The lean WebSocket's short way for a phone's common message (townhall/transport/lean_events.py
and lean_frames.py): through a real server and real sockets, the same bytes back and the same
forum as the library's way, for valid votes, resends and every refusal, in order; and the
common frame read as wsproto reads it."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from wsproto.events import TextMessage
from wsproto.frame_protocol import FrameProtocol, Opcode
from wsproto.frame_protocol import ParseFailed as WsParseFailed

from tests.conftest import Live, forum_programme, serve, wait_until
from tests.test_eio_websocket import RawPhone, endpoint_of, join
from townhall import hub as hub_module
from townhall.model.commands import Role
from townhall.transport import lean_websocket
from townhall.transport.lean_events import Shortcut, ShortEvent, drive
from townhall.transport.lean_frames import idle, simple_text

# The three ways a message can take: the short way; the lean WebSocket as it was (wsproto's
# frames, python-engineio's and python-socketio's packets); the stock ASGI WebSocket.
WAYS = ("short", "lean", "stock")


def vote(ack: str, choice: Any, op: str, escape: bool = False, **more: Any) -> str:
    payload = {"poll": "vote", "choices": choice, "op": op, **more}
    return f"42{ack}" + json.dumps(["vote", payload], ensure_ascii=escape)


# One phone's messages, sent in one write without waiting for any ack. With a burst of 10 and
# no refill, the bucket refuses the last two; the rest is one kind of each outcome.
PIPELINED = [
    vote("1", ["a"], "o1"),  # accepted
    vote("2", ["a"], "o1"),  # a resend: the same ack, marked duplicate
    '42/other,3["vote",{}]',  # a namespace never connected: no ack
    '424["nope",{}]',  # unknown event
    vote("", ["b"], "o2"),  # no ack id: handled, nothing said
    vote("5", "zz", "o3"),  # a bad payload
    vote("6", ["c"], "o4", pad="가" * 2800),  # 8.4 KB as UTF-8 (2,800 characters): too large
    # 8.4 KB as sent, 4.2 KB as UTF-8: measured again, not too large (and then refused, as
    # a vote has no such field)
    vote("7", ["c"], "o4", escape=True, pad="가" * 1400),
    '428["connect",{}]',  # a client's event by a reserved name
    "429[5,{}]",  # a name that is not a string
    "4210" + json.dumps(["vote", {"poll": "vote", "choices": ["a"], "op": "o5"}, {}]),
    vote("11", ["c"], "o6"),
    vote("12", ["b"], "o7"),  # the tenth token
    vote("13", ["a"], "o8"),  # rate limited
    vote("0014", ["a"], "o9"),  # rate limited, its ack id as a number: 14
]
# Each ends the connection, the same way on every path.
MALFORMED = [
    '42["vote"',
    "421[]",
    '421{"vote":1}',
    "42x",
    '421["vote",{"poll":"vote","choices":["a"],"op":"q"}',
    "421" + "[" * 3000 + "]" * 3000,  # too deep for orjson, and for the standard library
]


@dataclass
class Transcript:
    """What each phone was sent, but for broadcasts and pings, and how its connection ended;
    and the forum's poll afterwards."""

    phones: dict[str, list[str]] = field(default_factory=dict)
    closes: dict[str, int | None] = field(default_factory=dict)
    poll: dict[str, Any] = field(default_factory=dict)


def kept(messages: list[str]) -> list[str]:
    """The replies: acks, CONNECT replies (without their random sid), Engine.IO's CLOSE."""
    return [
        "40" if m.startswith('40{"sid":') else m
        for m in messages
        if not m.startswith(("42", "2", "0{"))
    ]


async def drain(phone: RawPhone, until: str) -> list[str]:
    """The replies up to and with the one that starts with `until`."""
    last = await phone.message(lambda m: m.startswith(until))
    return kept([*phone.messages, last])


@pytest.fixture
def no_refill(monkeypatch: pytest.MonkeyPatch) -> None:
    """A participant's bucket as usual but never refilled, so the refusals do not hang on time."""
    monkeypatch.setitem(hub_module.RATES, Role.PARTICIPANT, (0.0, 10.0))


async def play(live: Live) -> Transcript:
    transcript = Transcript()
    host = await live.open_poll("vote")
    # Pipelined: every message in one write, the acks in the order sent.
    first = await join(live)
    first.writer.write(b"".join(first.ws.send(TextMessage(data=m)) for m in PIPELINED))
    transcript.phones["pipelined"] = await drain(first, "4314[")
    # Not connected yet: an event before the CONNECT gets no ack, the CONNECT its reply.
    cookie = await live.new_cookie()
    early, _ = await RawPhone.open(live.url, cookie)
    early.send(vote("1", ["b"], "e1"))
    early.send("40" + json.dumps({"role": "participant", "code": live.code}))
    early.send(vote("2", ["b"], "e1"))
    transcript.phones["early"] = await drain(early, "432[")
    # One at a time, and a vote after the poll closes.
    second = await join(live)
    second.send(vote("1", ["c"], "s1"))
    await second.message(lambda m: m.startswith("431["))
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
    second.send(vote("2", ["a"], "s2"))
    transcript.phones["after_close"] = await drain(second, "432[")
    for number, text in enumerate(MALFORMED):
        phone = await join(live)
        phone.send(text)
        closed = await phone.until_closed()
        name = f"malformed {number}"
        transcript.phones[name] = kept(phone.messages)
        transcript.closes[name] = closed.code if closed is not None else None
    for phone in (first, early, second):
        phone.close()
    await wait_until(lambda: len(live.hub.connections) == 1, "the phones to leave")
    poll = live.forum.polls["vote"]
    transcript.poll = {
        "counts": dict(poll.counts),
        "ballots": len(poll.ballots),
        "version": poll.version,
        "status": poll.status.value,
        "seq": live.forum.seq,
    }
    return transcript


async def transcript_of(
    request: pytest.FixtureRequest, way: str, engine: str
) -> tuple[Transcript, int]:
    """The transcript of `play` on a fresh server, and how many messages went the short way."""
    tmp = Path(request.getfixturevalue("tmp_path_factory").mktemp(f"{way}-{engine}"))
    settings: dict[str, Any] = {"lean_websocket": way != "stock"}
    if engine == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
        request.getfixturevalue("redis_server").flush()  # each way starts from an empty store
    patch = pytest.MonkeyPatch()
    short: list[ShortEvent] = []
    call = Shortcut.call

    def counted(self: Shortcut, event: ShortEvent) -> Any:
        short.append(event)
        return call(self, event)

    patch.setattr(Shortcut, "call", counted)
    if way == "lean":  # every frame to wsproto, every message to the libraries
        patch.setattr(lean_websocket, "idle", lambda frames: False)
    try:
        async with serve(forum_programme(), tmp, **settings) as (townhall, url):
            live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
            if way == "lean":
                endpoint_of(live).shortcut = None
            try:
                return await play(live), len(short)
            finally:
                await live.close_clients()
    finally:
        patch.undo()


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_the_short_way_answers_byte_for_byte_as_the_libraries_do(
    request: pytest.FixtureRequest, engine: str, no_refill: None
) -> None:
    short, taken = await transcript_of(request, "short", engine)
    # The ways the libraries take, on the lean WebSocket and on the stock one.
    lean, not_taken = await transcript_of(request, "lean", engine)
    assert lean == short
    stock, _ = await transcript_of(request, "stock", engine)
    assert stock.phones == short.phones and stock.poll == short.poll
    # Every event with an ack id from a connected client went the short way: 13 of the first
    # phone's 15 messages, the second's 2, the early phone's second, the host's 3.
    assert (taken, not_taken) == (19, 0)
    pipelined = short.phones["pipelined"]
    assert [m[: m.index("[")] for m in pipelined] == [
        f"43{n}" for n in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
    ]
    outcomes = [json.loads(m[m.index("[") :])[0] for m in pipelined]
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in outcomes]
    assert codes == [
        "ok",
        "ok",
        "unknown_event",
        "invalid_payload",
        "payload_too_large",
        "invalid_payload",
        "unknown_event",
        "unknown_event",
        "invalid_payload",
        "ok",
        "ok",
        "rate_limited",
        "rate_limited",
    ]
    assert outcomes[1]["duplicate"] is True and outcomes[1]["version"] == outcomes[0]["version"]
    early = short.phones["early"]
    assert early[0] == "40" and len(early) == 2 and json.loads(early[1][3:])[0]["ok"] is True
    assert short.poll["status"] == "closed"
    assert all(code is not None for code in short.closes.values())


async def test_a_vote_on_the_embedded_engine_takes_no_task(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live.open_poll("vote")
    phone = await join(live)
    endpoint = endpoint_of(live)
    await wait_until(lambda: not endpoint.tasks, "the connect's task to finish")
    started: list[Any] = []
    run = endpoint.run

    def counted(work: Any) -> Any:
        started.append(work)
        return run(work)

    monkeypatch.setattr(endpoint, "run", counted)
    for number, choice in enumerate("abcab", start=1):
        ack = await phone.call(number, "vote", {"poll": "vote", "choices": [choice], "op": choice})
        assert ack["ok"] is True and ack["duplicate"] is (number > 3)
    assert (await phone.call(6, "nope", {}))["error"]["code"] == "unknown_event"
    assert not started
    assert live.forum.polls["vote"].counts == {
        "a": 0,
        "b": 0,
        "c": 1,
    }  # the resends changed nothing
    # What the short way does not take still has its task: an event without an ack id.
    phone.send('42["vote",{"poll":"vote","choices":["c"],"op":"c2"}]')
    await wait_until(lambda: bool(started), "the task of a message without an ack id")
    phone.close()


def masked_frame(payload: bytes, opcode: int = 0x1, fin: bool = True, key: bytes = b"") -> bytes:
    """A client's frame, masked, with the shortest length encoding unless told otherwise."""
    key = key or os.urandom(4)
    size = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    if size < 126:
        head += bytes((0x80 | size,))
    elif size < 1 << 16:
        head += bytes((0x80 | 126,)) + size.to_bytes(2, "big")
    else:
        head += bytes((0x80 | 127,)) + size.to_bytes(8, "big")
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def wsproto_reads(data: bytes) -> list[tuple[Opcode, Any, bool]] | str:
    frames = FrameProtocol(client=False, extensions=[])
    frames.receive_bytes(data)
    try:
        return [(f.opcode, f.payload, f.message_finished) for f in frames.received_frames()]
    except WsParseFailed as exc:
        return f"refused {exc.code}"


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536])
def test_the_common_frame_is_read_as_wsproto_reads_it(size: int) -> None:
    text = ("가나x" * size)[:size]
    frame = masked_frame(text.encode())
    found = simple_text(frame + b"\x81", 0)
    if len(text.encode()) >= 1 << 16:
        assert found is None  # left to wsproto
        return
    assert found == (text, len(frame))
    assert wsproto_reads(frame) == [(Opcode.TEXT, text, True)]


@pytest.mark.parametrize(
    "frame",
    [
        masked_frame(b"\xed\xa0\x80"),  # a surrogate in UTF-8: wsproto closes with 1007
        masked_frame(b"\xff"),
        masked_frame(b"abc", fin=False),  # a fragment
        masked_frame(b"abc", opcode=0x2),  # binary
        masked_frame(b"abc", opcode=0x9),  # a ping
        masked_frame(b"42", opcode=0x0),  # a continuation with nothing before it
        b"\x81\x03abc",  # not masked: wsproto refuses it
        b"\x81\xfe\x00\x03abcd123",  # a length in two bytes that fits in one: refused
        masked_frame(b"abcdef")[:-1],  # cut short: the rest is to come
        b"\x91" + masked_frame(b"abc")[1:],  # an extension bit: refused
    ],
)
def test_every_other_frame_is_left_to_wsproto(frame: bytes) -> None:
    assert simple_text(frame, 0) is None


def test_wsproto_is_idle_between_frames_only() -> None:
    frames = FrameProtocol(client=False, extensions=[])
    assert idle(frames)
    whole = masked_frame(b"hello")
    frames.receive_bytes(whole[:3])
    assert list(frames.received_frames()) == [] and not idle(frames)
    frames.receive_bytes(whole[3:])
    assert [f.payload for f in frames.received_frames()] == ["hello"] and idle(frames)
    frames.receive_bytes(masked_frame(b"par", fin=False))
    assert [f.payload for f in frames.received_frames()] == ["par"] and not idle(frames)
    frames.receive_bytes(masked_frame(b"t", opcode=0x0))
    assert [f.payload for f in frames.received_frames()] == ["t"] and idle(frames)


async def test_drive_runs_a_coroutine_to_its_end_without_a_task() -> None:
    loop = asyncio.get_running_loop()
    waited = loop.create_future()
    results: list[tuple[Any, BaseException | None]] = []
    tasks: list[asyncio.Task[Any] | None] = []

    async def handler(fail: bool) -> str:
        await asyncio.sleep(0)
        value = await waited
        tasks.append(asyncio.current_task())  # resumed from the future's callback: none
        if fail:
            raise ValueError(value)
        return f"done {value}"

    before = asyncio.all_tasks()
    drive(handler(False), lambda result, error: results.append((result, error)))
    drive(handler(True), lambda result, error: results.append((result, error)))
    assert asyncio.all_tasks() == before and not results
    await asyncio.sleep(0)
    waited.set_result("x")
    await wait_until(lambda: len(results) == 2, "both to finish")
    assert tasks == [None, None]
    assert results[0] == ("done x", None)
    assert results[1][0] is None and isinstance(results[1][1], ValueError)
    drive(asyncio.sleep(0, "now"), lambda result, error: results.append((result, error)))
    await wait_until(lambda: len(results) == 3, "a bare yield to be resumed")
    assert results[2] == ("now", None)
