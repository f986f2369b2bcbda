"""A live session over a real server: join, vote, change, resend, reconnect, host control."""

from __future__ import annotations

import asyncio

from tests.conftest import Client, Live


async def open_vote_poll(live: Live, poll: str = "vote") -> Client:
    return await live.open_poll(poll)


async def test_participant_joins_and_gets_a_snapshot(live: Live) -> None:
    phone, _ = await live.phone()
    reply = await phone.call("snapshot")
    assert reply["ok"] is True
    assert reply["forum"]["code"] == live.code
    assert reply["forum"]["title"] == "시험 토론회"
    assert reply["state"]["current"] == 0
    assert [item["id"] for item in reply["state"]["items"]] == ["opening", "vote", "multi", "qna"]
    assert "notes" not in reply["state"]["items"][0], "host notes must not reach phones"
    assert reply["mine"] == {}


async def test_vote_is_acked_with_the_version_the_tally_reaches(live: Live) -> None:
    host = await open_vote_poll(live)
    phone, _ = await live.phone()
    ack = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "op-1"})
    assert ack["ok"] is True
    assert ack["choices"] == ["b"]
    assert ack["duplicate"] is False
    tally = await host.wait_for(
        "tally", lambda t: t["poll"] == "vote" and t["version"] >= ack["version"]
    )
    assert tally["counts"] == {"a": 0, "b": 1, "c": 0}
    assert tally["voters"] == 1


async def test_changing_a_vote_replaces_the_ballot(live: Live) -> None:
    host = await open_vote_poll(live)
    phone, _ = await live.phone()
    await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "op-1"})
    ack = await phone.call("vote", {"poll": "vote", "choices": ["c"], "op": "op-2"})
    assert ack["choices"] == ["c"]
    tally = await host.wait_for("tally", lambda t: t["version"] >= ack["version"])
    assert tally["counts"] == {"a": 0, "b": 0, "c": 1}
    assert tally["voters"] == 1


async def test_a_resent_vote_counts_once_and_cannot_undo_a_later_change(live: Live) -> None:
    host = await open_vote_poll(live)
    phone, _ = await live.phone()
    first = await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "op-1"})
    again = await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "op-1"})
    assert again["ok"] and again["duplicate"] is True
    assert again["version"] == first["version"]
    change = await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "op-2"})
    late = await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "op-1"})
    assert late["duplicate"] is True
    assert late["choices"] == ["b"], "a late resend of an old message must not revert the ballot"
    tally = await host.wait_for("tally", lambda t: t["version"] >= change["version"])
    assert tally["counts"] == {"a": 0, "b": 1, "c": 0}
    assert live.forum.seq == change["version"]


async def test_double_tap_and_two_tabs_make_one_ballot(live: Live) -> None:
    host = await open_vote_poll(live)
    tab1, cookie = await live.phone()
    tab2, _ = await live.phone(cookie)
    acks = await asyncio.gather(
        tab1.call("vote", {"poll": "vote", "choices": ["a"], "op": "tap-1"}),
        tab1.call("vote", {"poll": "vote", "choices": ["a"], "op": "tap-2"}),
        tab2.call("vote", {"poll": "vote", "choices": ["a"], "op": "tab-2"}),
    )
    assert all(ack["ok"] for ack in acks)
    version = max(ack["version"] for ack in acks)
    tally = await host.wait_for("tally", lambda t: t["version"] >= version)
    assert tally["counts"] == {"a": 1, "b": 0, "c": 0}
    assert tally["voters"] == 1


async def test_reconnecting_phone_sees_its_own_vote(live: Live) -> None:
    await open_vote_poll(live)
    phone, cookie = await live.phone()
    ack = await phone.call("vote", {"poll": "vote", "choices": ["c"], "op": "op-1"})
    await phone.close()
    again, _ = await live.phone(cookie)
    snapshot = await again.call("snapshot")
    assert snapshot["mine"] == {"vote": {"choices": ["c"], "version": ack["version"]}}
    stranger, _ = await live.phone()
    assert (await stranger.call("snapshot"))["mine"] == {}


async def test_results_reach_phones_and_projector_only_when_revealed(live: Live) -> None:
    host = await open_vote_poll(live)
    screen = await live.screen()
    phone, _ = await live.phone()
    ack = await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "op-1"})
    await host.wait_for("tally", lambda t: t["version"] >= ack["version"])
    snapshot = await screen.call("snapshot")
    assert snapshot["state"]["polls"]["vote"]["tally"] is None
    assert "tally" not in screen.received, "a hidden poll's tally went to the projector"
    assert "tally" not in phone.received, "a hidden poll's tally went to a phone"

    assert (await host.call("results_show", {"poll": "vote"}))["ok"]
    state = await screen.wait_for("state", lambda s: s["polls"]["vote"]["results_visible"])
    assert state["polls"]["vote"]["tally"]["counts"] == {"a": 1, "b": 0, "c": 0}
    second, _ = await live.phone()
    ack2 = await second.call("vote", {"poll": "vote", "choices": ["b"], "op": "op-2"})
    tally = await screen.wait_for("tally", lambda t: t["version"] >= ack2["version"])
    assert tally["counts"] == {"a": 1, "b": 1, "c": 0}
    await phone.wait_for("tally", lambda t: t["version"] >= ack2["version"])


async def test_live_poll_shows_results_at_once(live: Live) -> None:
    await open_vote_poll(live, "multi")
    screen = await live.screen()
    phone, _ = await live.phone()
    ack = await phone.call("vote", {"poll": "multi", "choices": ["z", "x"], "op": "op-1"})
    assert ack["choices"] == ["x", "z"], "choices come back in the poll's option order"
    tally = await screen.wait_for("tally", lambda t: t["version"] >= ack["version"])
    assert tally["counts"] == {"x": 1, "y": 0, "z": 1}


async def test_host_drives_agenda_polls_and_timer(live: Live) -> None:
    host = await live.host()
    phone, _ = await live.phone()
    assert (await host.call("next"))["ok"]
    state = await phone.wait_for("state", lambda s: s["current"] == 1)
    assert state["items"][1]["id"] == "vote"
    assert (await host.call("prev"))["ok"]
    await phone.wait_for("state", lambda s: s["current"] == 0)
    assert (await host.call("goto", {"item": "multi"}))["ok"]
    await phone.wait_for("state", lambda s: s["current"] == 2)

    assert (await host.call("poll_open", {"poll": "multi"}))["ok"]
    await phone.wait_for("state", lambda s: s["polls"]["multi"]["status"] == "open")
    assert (await host.call("poll_close", {"poll": "multi"}))["ok"]
    await phone.wait_for("state", lambda s: s["polls"]["multi"]["status"] == "closed")
    closed = await phone.call("vote", {"poll": "multi", "choices": ["x"], "op": "late"})
    assert closed["error"]["code"] == "poll_not_open"

    assert (await host.call("timer_reset", {"seconds": 90}))["ok"]
    await phone.wait_for("state", lambda s: s["timer"]["duration_ms"] == 90_000)
    assert (await host.call("timer_start"))["ok"]
    running = await phone.wait_for("state", lambda s: s["timer"]["running"])
    assert running["timer"]["remaining_ms"] == 90_000
    assert (await host.call("timer_pause"))["ok"]
    paused = await phone.wait_for(
        "state", lambda s: s["seq"] > running["seq"] and not s["timer"]["running"]
    )
    assert 0 < paused["timer"]["remaining_ms"] <= 90_000


async def test_host_sees_presence_and_ballot_counts(live: Live) -> None:
    host = await live.host()
    snapshot = await host.call("snapshot")
    assert snapshot["presence"]["host"] == 1
    assert "notes" in snapshot["state"]["items"][0]
    await live.phone()
    await live.phone()
    await live.screen()
    presence = await host.wait_for("presence", lambda p: p["participant"] == 2 and p["screen"] == 1)
    assert presence["host"] == 1


async def test_tallies_are_coalesced_not_sent_per_vote(live: Live) -> None:
    host = await open_vote_poll(live)
    phones = [(await live.phone())[0] for _ in range(30)]
    acks = await asyncio.gather(
        *(
            p.call("vote", {"poll": "vote", "choices": ["a"], "op": f"op-{i}"})
            for i, p in enumerate(phones)
        )
    )
    last = max(ack["version"] for ack in acks)
    tally = await host.wait_for("tally", lambda t: t["version"] >= last)
    assert tally["counts"] == {"a": 30, "b": 0, "c": 0}
    sent = len(host.received["tally"])
    assert sent < len(acks), f"{sent} tally messages for {len(acks)} votes: not coalesced"
