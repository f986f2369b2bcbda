"""Ballot codes through a real server: real Socket.IO phones with real cookies."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import socketio

from tests.conftest import WAIT_S, Live
from tests.jury_room import Codes, served_jury
from townhall.codes import format as code_format
from townhall.codes.book import CodeBook
from townhall.hub import CODE_TRIES_PER_ADDRESS, CODE_TRIES_PER_CONNECTION
from townhall.identity import COOKIE_NAME
from townhall.model.state import MIN_GROUP


@pytest.fixture
async def jury(tmp_path: Path) -> AsyncIterator[tuple[Live, Codes]]:
    async with served_jury(tmp_path) as served:
        yield served


async def test_thirty_fresh_cookies_without_codes_move_nothing(jury: tuple[Live, Codes]) -> None:
    live, codes = jury
    await live.open_poll("pre")
    for _ in range(30):
        phone, _cookie = await live.phone()
        ack = await phone.call("vote", {"poll": "pre", "choices": ["yes"], "op": "v"})
        assert ack["error"]["code"] == "not_eligible"
        await phone.close()
    assert live.forum.polls["pre"].tally()["counts"] == {"yes": 0, "no": 0}

    phone, cookie = await live.phone()
    snapshot = await phone.call("snapshot", {})
    assert snapshot["eligibility"] == {
        "mode": "codes",
        "codes": True,
        "voter": None,
        "group": None,
    }
    redeemed = await phone.call("redeem", {"code": code_format.shown(codes.jury[0])})
    assert redeemed == {"ok": True, "voter": "jury-1", "group": "jury", "duplicate": False}
    assert (await phone.call("vote", {"poll": "pre", "choices": ["yes"], "op": "v"}))["ok"]
    assert live.forum.polls["pre"].tally()["counts"] == {"yes": 1, "no": 0}
    # Another tab of the same phone is the same voter: it sees the ballot as its own.
    tab, _ = await live.phone(cookie)
    again = await tab.call("snapshot", {})
    assert again["mine"]["pre"]["choices"] == ["yes"]
    assert again["eligibility"]["voter"] == "jury-1"


async def test_guessing_is_slowed_per_connection_and_per_address(
    jury: tuple[Live, Codes],
) -> None:
    live, codes = jury
    phone, _ = await live.phone()
    # Typos cost nothing: a code whose check character is wrong could never be a way in.
    typo = codes.jury[0][:-1] + next(ch for ch in code_format.ALPHABET if ch != codes.jury[0][-1])
    for _ in range(4):  # (a connection's messages are limited too: 10 at once)
        assert (await phone.call("redeem", {"code": typo}))["error"]["code"] == "code_typo"
    per_connection = int(CODE_TRIES_PER_CONNECTION[1])
    for _ in range(per_connection):
        wrong = await phone.call("redeem", {"code": code_format.make()})
        assert wrong["error"]["code"] == "unknown_code"
    # Out of tries: even the right code waits now, so guessing costs time whatever it finds.
    held = await phone.call("redeem", {"code": codes.jury[0]})
    assert held["error"]["code"] == "rate_limited"
    # A new connection from the same address shares the address's tries.
    tried = per_connection
    refused = None
    while tried <= CODE_TRIES_PER_ADDRESS[1]:
        other, _ = await live.phone()
        for _ in range(per_connection):
            reply = await other.call("redeem", {"code": code_format.make()})
            if reply["error"]["code"] == "rate_limited":
                refused = tried
                break
            tried += 1
        await other.close()
        if refused is not None:
            break
    assert refused == CODE_TRIES_PER_ADDRESS[1], "the address is out of tries"
    assert live.forum.codes.voter_of == {}, "nothing was bound"


async def test_the_host_sees_codes_and_revokes_one(jury: tuple[Live, Codes]) -> None:
    live, codes = jury
    host = await live.host()
    phone, _ = await live.phone()
    await phone.call("redeem", {"code": codes.audience[0]})
    state = (await host.call("snapshot", {}))["state"]
    assert state["codes"]["groups"]["audience"]["redeemed"] == 1
    assert state["codes"]["groups"]["jury"]["issued"] == 3
    revoked = await host.call("code_revoke", {"card": "audience-4"})
    assert revoked["ok"]
    refused = await phone.call("vote", {"poll": "pre", "choices": ["yes"], "op": "v"})
    assert refused["error"]["code"] == "not_eligible"
    screen = await live.screen()
    assert "codes" not in (await screen.call("snapshot", {}))["state"], "for the host only"
    assert (await phone.call("code_revoke", {"card": "jury-1"}))["error"]["code"] == "forbidden"


async def test_the_results_export_has_each_groups_counts(jury: tuple[Live, Codes]) -> None:
    live, codes = jury
    host = await live.open_poll("pre")
    for code, choice in ((codes.jury[0], "yes"), (codes.audience[0], "no")):
        phone, _ = await live.phone()
        await phone.call("redeem", {"code": code})
        assert (await phone.call("vote", {"poll": "pre", "choices": [choice], "op": "v"}))["ok"]
    assert (await host.call("poll_close", {"poll": "pre"}))["ok"]
    bearer = {"Authorization": f"Bearer {live.host_key}"}
    async with httpx.AsyncClient(base_url=live.url) as http:
        exported = (await http.get(f"/export/{live.code}/results.json", headers=bearer)).json()
        sheet = (await http.get(f"/export/{live.code}/results.csv", headers=bearer)).text
    pre, final = exported["polls"][0], exported["polls"][1]
    assert pre["groups"] == {"audience": {"yes": 0, "no": 1}, "jury": {"yes": 1, "no": 0}}
    assert (final["groups"], final["voter_groups"]) == (None, ["jury"])
    rows = list(csv.DictReader(io.StringIO(sheet.removeprefix("\ufeff"))))
    jury_rows = [(r["option"], r["count"]) for r in rows if r["group"] == "jury"]
    assert jury_rows == [("yes", "1"), ("no", "0")]


async def phone_from(live: Live, address: str, transports: list[str]) -> socketio.AsyncClient:
    """A phone connecting from another loopback address: another phone in the hall."""
    cookie = await live.new_cookie()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
    sio = socketio.AsyncClient(reconnection=False, http_session=session)
    await sio.connect(
        live.url,
        auth={"role": "participant", "code": live.code},
        headers={"Cookie": f"{COOKIE_NAME}={cookie}"},
        transports=transports,
        wait_timeout=WAIT_S,
    )
    return sio


# Straight to a WebSocket (the lean path), or long-polling first (python-engineio's own path).
@pytest.mark.parametrize("transports", [["websocket"], ["polling", "websocket"]])
async def test_an_address_out_of_tries_leaves_every_other_address_its_own(
    jury: tuple[Live, Codes], transports: list[str]
) -> None:
    live, codes = jury
    per_connection = int(CODE_TRIES_PER_CONNECTION[1])
    spent = 0
    while spent < CODE_TRIES_PER_ADDRESS[1]:
        guesser = await phone_from(live, "127.0.0.1", transports)
        for _ in range(per_connection):
            reply = await guesser.call("redeem", {"code": code_format.make()}, timeout=WAIT_S)
            assert reply["error"]["code"] == "unknown_code"
            spent += 1
        await closed(guesser)
    late = await phone_from(live, "127.0.0.1", transports)
    refused = await late.call("redeem", {"code": codes.jury[1]}, timeout=WAIT_S)
    await closed(late)
    assert refused["error"]["code"] == "rate_limited"
    # A phone on another address has its own tries: one guesser does not shut the hall out.
    other = await phone_from(live, "127.0.0.2", transports)
    redeemed = await other.call("redeem", {"code": codes.jury[0]}, timeout=WAIT_S)
    await closed(other)
    assert redeemed == {"ok": True, "voter": "jury-1", "group": "jury", "duplicate": False}


async def closed(phone: socketio.AsyncClient) -> None:
    await phone.disconnect()
    await phone.eio.http.close()


async def test_the_room_sees_groups_only_when_none_is_small(jury: tuple[Live, Codes]) -> None:
    """A group of one or two would show how its members voted: the projector and phones get the
    groups only once every group has three voters (MIN_GROUP); the host always gets them."""
    live, codes = jury
    host = await live.open_poll("pre")
    assert (await host.call("results_show", {"poll": "pre"}))["ok"]
    screen = await live.screen()
    phones = []
    for code in (*codes.jury, codes.audience[0]):
        phone, _ = await live.phone()
        await phone.call("redeem", {"code": code})
        phones.append(phone)
    for n, phone in enumerate(phones):
        assert (await phone.call("vote", {"poll": "pre", "choices": ["yes"], "op": f"v{n}"}))["ok"]
    last = live.forum.polls["pre"].version
    shown = await screen.wait_for("tally", lambda t: t["version"] >= last)
    assert "groups" not in shown and shown["groups_hidden"] == MIN_GROUP
    hosted = await host.wait_for("tally", lambda t: t["version"] >= last)
    assert hosted["groups"] == {"audience": {"yes": 1, "no": 0}, "jury": {"yes": 3, "no": 0}}
    assert "groups" not in (await screen.call("snapshot", {}))["state"]["polls"]["pre"]["tally"]

    book = live.forum.programme.codes
    assert isinstance(book, CodeBook)
    more = [c.code for c in book.issue(1, "audience", "jury-forum")]  # issued at the door
    for code in (*codes.audience[1:], *more):
        phone, _ = await live.phone()
        await phone.call("redeem", {"code": code})
        assert (await phone.call("vote", {"poll": "pre", "choices": ["no"], "op": "v"}))["ok"]
    last = live.forum.polls["pre"].version
    shown = await screen.wait_for("tally", lambda t: t["version"] >= last)
    assert shown["groups"] == {"audience": {"yes": 1, "no": 2}, "jury": {"yes": 3, "no": 0}}


async def test_the_host_gives_a_networks_phones_their_code_tries_back(
    jury: tuple[Live, Codes],
) -> None:
    """One guesser behind a shared address spends the tries of every phone behind it; the host
    (and only the host) gives them back."""
    live, codes = jury
    tried = 0
    while tried < CODE_TRIES_PER_ADDRESS[1]:
        guesser, _ = await live.phone()
        for _ in range(int(CODE_TRIES_PER_CONNECTION[1])):
            if tried < CODE_TRIES_PER_ADDRESS[1]:
                await guesser.call("redeem", {"code": code_format.make()})
                tried += 1
        await guesser.close()
    neighbour, _ = await live.phone()
    held = await neighbour.call("redeem", {"code": codes.jury[0]})
    assert held["error"]["code"] == "rate_limited"
    refused = await neighbour.call("code_tries_reset", {})
    assert refused["error"]["code"] == "forbidden"
    host = await live.host()
    assert (await host.call("code_tries_reset", {"x": 1}))["error"]["code"] == "invalid_payload"
    assert await host.call("code_tries_reset", {}) == {"ok": True}
    assert (await neighbour.call("redeem", {"code": codes.jury[0]}))["ok"]
