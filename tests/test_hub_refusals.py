"""Bad input over a real server: each refusal is an error ack with a code; nothing changes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import Client, Live, Refused, wait_until


def state_of(live: Live) -> Any:
    forum = live.forum
    return (
        forum.seq,
        forum.current,
        {p: (s.status, len(s.ballots)) for p, s in forum.polls.items()},
    )


async def open_poll(live: Live) -> Client:
    host = await live.host()
    assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
    return host


def code_of(ack: Any) -> str:
    assert ack["ok"] is False, ack
    assert ack["error"]["message"], "every refusal says why"
    return str(ack["error"]["code"])


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"poll": "nope", "choices": ["a"], "op": "1"}, "unknown_poll"),
        ({"poll": "vote", "choices": ["zz"], "op": "1"}, "unknown_option"),
        ({"poll": "vote", "choices": ["a", "b"], "op": "1"}, "too_many_choices"),
        ({"poll": "vote", "choices": [], "op": "1"}, "invalid_choice"),
        ({"poll": "vote", "choices": ["a", "a"], "op": "1"}, "invalid_choice"),
        ({"poll": "multi", "choices": ["x"], "op": "1"}, "poll_not_open"),
        ({"poll": "vote", "choices": ["a"]}, "invalid_payload"),
        ({"poll": "vote", "choices": "a", "op": "1"}, "invalid_payload"),
        ({"poll": "vote", "choices": [1], "op": "1"}, "invalid_payload"),
        ({"poll": "vote", "choices": ["a"], "op": "1", "extra": True}, "invalid_payload"),
        ({"poll": "vote", "choices": ["a"], "op": ""}, "invalid_payload"),
        ({"poll": "vote", "choices": ["a"], "op": "x" * 65}, "invalid_payload"),
        (["vote", "a"], "invalid_payload"),
        ("vote", "invalid_payload"),
        (None, "invalid_payload"),
        ({"poll": "vote", "choices": ["a"], "op": "1", "pad": "x" * 9000}, "payload_too_large"),
    ],
)
async def test_bad_votes_are_refused_and_change_nothing(
    live: Live, payload: Any, code: str
) -> None:
    await open_poll(live)
    phone, _ = await live.phone()
    before = state_of(live)
    ack = await phone.sio.call("vote", payload, timeout=10)
    assert code_of(ack) == code
    assert state_of(live) == before


@pytest.mark.parametrize(
    ("characters", "code"), [(2600, "invalid_payload"), (2800, "payload_too_large")]
)
async def test_the_size_limit_is_on_the_text_not_on_how_a_client_escapes_it(
    live: Live, characters: int, code: str
) -> None:
    """python-socketio's client, like other clients, writes each Korean character as a six-byte
    `\\uXXXX` escape: 2,600 of them (7,800 bytes of text) are under the limit, and so refused only
    for the unexpected field; 2,800 (8,400 bytes) are over it."""
    await open_poll(live)
    phone, _ = await live.phone()
    payload = {"poll": "vote", "choices": ["a"], "op": "1", "pad": "가" * characters}
    assert len(json.dumps(payload)) > 15_000  # escaped on the wire, twice the text's size
    ack = await phone.sio.call("vote", payload, timeout=10)
    assert code_of(ack) == code


async def test_vote_on_a_closed_poll_is_refused(live: Live) -> None:
    host = await open_poll(live)
    phone, _ = await live.phone()
    assert (await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "1"}))["ok"]
    await host.call("poll_close", {"poll": "vote"})
    before = state_of(live)
    ack = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "2"})
    assert code_of(ack) == "poll_not_open"
    assert state_of(live) == before


HOST_COMMANDS = [
    ("goto", {"item": "vote"}),
    ("next", {}),
    ("poll_open", {"poll": "vote"}),
    ("results_show", {"poll": "vote"}),
    ("timer_start", {}),
    ("timer_reset", {"seconds": 5}),
]


@pytest.mark.parametrize(("event", "payload"), HOST_COMMANDS)
async def test_host_commands_from_a_phone_or_projector_are_refused(
    live: Live, event: str, payload: Any
) -> None:
    phone, _ = await live.phone()
    screen = await live.screen()
    before = state_of(live)
    assert code_of(await phone.call(event, payload)) == "forbidden"
    assert code_of(await screen.call(event, payload)) == "forbidden"
    assert state_of(live) == before


async def test_host_key_is_checked_at_connect(live: Live) -> None:
    for auth in (
        {"role": "host", "code": live.code, "key": "wrong-key"},
        {"role": "host", "code": live.code},
        {"role": "host", "code": live.code, "key": live.host_key[:-1]},
    ):
        with pytest.raises(Refused) as refused:
            await live.connect(auth)
        assert refused.value.code == "bad_key"
        assert "host key" in refused.value.data["message"]
    assert live.hub.presence()["host"] == 0


@pytest.mark.parametrize(
    ("auth", "cookie", "code"),
    [
        ({"role": "participant", "code": "TEST42"}, None, "no_identity"),
        ({"role": "participant", "code": "TEST42"}, "forged.cookie", "no_identity"),
        ({"role": "participant", "code": "WRONG1"}, None, "unknown_forum"),
        ({"role": "judge", "code": "TEST42"}, None, "bad_auth"),
        ("not-an-object", None, "bad_auth"),
    ],
)
async def test_bad_connections_are_refused_with_a_reason(
    live: Live, auth: Any, cookie: str | None, code: str
) -> None:
    with pytest.raises(Refused) as refused:
        await live.connect(auth, cookie)
    assert refused.value.code == code
    assert refused.value.data["message"]


async def test_unknown_events_and_extra_arguments_are_refused(live: Live) -> None:
    phone, _ = await live.phone()
    assert code_of(await phone.call("launch_rockets", {})) == "unknown_event"
    ack = await phone.sio.call("vote", ({"poll": "vote"}, "second-arg"), timeout=10)
    assert code_of(ack) == "invalid_payload"


async def test_a_flood_is_rate_limited_and_the_connection_survives(live: Live) -> None:
    await open_poll(live)
    phone, _ = await live.phone()
    acks = await asyncio.gather(*(phone.call("snapshot") for _ in range(30)))
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    assert sum(1 for a in acks if a["ok"]) >= 5
    assert phone.sio.connected


async def test_oversized_message_drops_only_that_connection(live: Live) -> None:
    phone, _ = await live.phone()
    bystander, _ = await live.phone()
    await phone.sio.emit("vote", {"op": "x" * 100_000})
    await wait_until(lambda: not phone.sio.connected, "the oversized sender to be dropped")
    assert (await bystander.call("snapshot"))["ok"]


async def test_malformed_socketio_frames_do_not_take_the_server_down(live: Live) -> None:
    ws_url = live.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    frames: list[str | bytes] = [
        "40",  # connect without auth
        "42garbage",
        '42["vote", {"poll": ',
        "4",
        "9999",
        '42["vote"' + "[" * 5000,
        "2probe",
        b"\x00\xff\xfe binary junk",
        '421["snapshot"]',
        "",
    ]
    for frame in frames:
        try:
            async with websockets.connect(ws_url, open_timeout=5, close_timeout=1) as ws:
                await asyncio.wait_for(ws.recv(), 5)  # the Engine.IO open packet
                await ws.send(frame)
                await ws.send("41")
        except (websockets.ConnectionClosed, OSError, TimeoutError):
            pass
    phone, _ = await live.phone()
    assert (await phone.call("snapshot"))["ok"]


async def test_a_client_cannot_fake_connect_or_disconnect_events(live: Live) -> None:
    phone, _ = await live.phone()
    spent = [await phone.call("snapshot") for _ in range(10)]
    assert all(reply["ok"] for reply in spent)
    fake_connect = await phone.sio.call("connect", {"role": "host"}, timeout=10)
    assert code_of(fake_connect) == "unknown_event"
    assert code_of(await phone.call("snapshot")) == "rate_limited", "the bucket was not refilled"
    await phone.sio.call("disconnect", {}, timeout=10)
    assert live.hub.presence()["participant"] == 1, "a fake disconnect dropped a live socket"
    assert phone.sio.connected


async def test_a_resend_of_a_counted_vote_is_acked_after_the_poll_closes(live: Live) -> None:
    host = await open_poll(live)
    phone, _ = await live.phone()
    first = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "lost-ack"})
    await host.call("poll_close", {"poll": "vote"})
    resend = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "lost-ack"})
    assert resend["ok"] and resend["duplicate"] is True
    assert resend["version"] == first["version"]


async def test_non_string_event_names_get_an_error_ack(live: Live) -> None:
    ws_url = live.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url, open_timeout=5) as ws:
        assert str(await asyncio.wait_for(ws.recv(), 5)).startswith("0")
        await ws.send("40" + json.dumps({"role": "screen", "code": live.code}))
        assert str(await asyncio.wait_for(ws.recv(), 5)).startswith("40")
        await ws.send("427[1, {}]")
        reply = str(await asyncio.wait_for(ws.recv(), 5))
    assert reply.startswith("437[")
    assert '"unknown_event"' in reply


async def test_oversized_headers_are_refused_before_any_parsing(live: Live) -> None:
    # Over Townhall's 8 KiB limit, under uvicorn's own header-line limit (past which it drops
    # the handshake itself).
    huge = 'townhall_pid="' + "\\\\" * 4_050 + '"'
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get(f"/j/{live.code}", headers={"cookie": huge})
        assert page.status_code == 431
        assert (await http.get("/healthz")).status_code == 200
    ws_url = live.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(ws_url, additional_headers={"cookie": huge}, open_timeout=5):
            pass
