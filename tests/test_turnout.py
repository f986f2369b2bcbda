"""A hidden round's turnout: the projector is told how many have voted, live, and never how, on
both engines; the host still gets the tally and phones get neither."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Client, Live, engine_url, forum_programme, serve, wait_until

TURNOUT = ("turnout",)  # recorded by the test clients, as the built-in events are


def counted(client: Client, voters: int) -> Callable[[], bool]:
    """Whether `client` has been told of `voters` voters."""
    return lambda: voters in [m["voters"] for m in client.received.get("turnout", [])]


@pytest.mark.parametrize("kind", ENGINES)
async def test_the_projector_counts_voters_in_a_hidden_round(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    url_setting = "" if kind == "memory" else engine_url(request, kind)
    async with serve(forum_programme(), tmp_path, redis_url=url_setting) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            screen = await live.connect({"role": "screen", "code": live.code}, events=TURNOUT)
            host_auth = {"role": "host", "code": live.code, "key": live.host_key}
            host = await live.connect(host_auth, events=TURNOUT)
            assert (await host.call("goto", {"item": "vote"}))["ok"]
            assert (await host.call("poll_open", {"poll": "vote"}))["ok"]  # results on reveal
            phones = [
                await live.connect({"role": "participant", "code": live.code}, cookie, TURNOUT)
                for cookie in [await live.new_cookie() for _ in range(3)]
            ]
            for voters, (phone, choice) in enumerate(zip(phones, "aab", strict=True), 1):
                vote = {"poll": "vote", "choices": [choice], "op": "1"}
                assert (await phone.call("vote", vote))["ok"]
                await wait_until(counted(screen, voters), f"{voters} voters")
            # A changed vote is the same voter: the count stays.
            ack = await phones[0].call("vote", {"poll": "vote", "choices": ["c"], "op": "2"})
            assert ack["ok"]
            await host.wait_for("tally", lambda m: m["counts"]["c"] == 1, "the changed vote")
            await screen.wait_for(
                "turnout", lambda m: m["version"] == ack["version"], "the changed vote's turnout"
            )
            turnouts = screen.received["turnout"]
            assert turnouts[-1] == {"poll": "vote", "version": ack["version"], "voters": 3}
            assert all(set(m) == {"poll", "version", "voters"} for m in turnouts)
            assert "tally" not in screen.received and "turnout" not in host.received
            # A projector that connects now has the count in its snapshot's state.
            late = await live.screen()
            snapshot = await late.call("snapshot")
            poll = snapshot["state"]["polls"]["vote"]
            assert (poll["voters"], poll["tally"]) == (3, None)
            assert not any("turnout" in phone.received for phone in phones)
            # Revealed: tallies from here on, the count in them.
            assert (await host.call("results_show", {"poll": "vote"}))["ok"]
            ack = await phones[1].call("vote", {"poll": "vote", "choices": ["c"], "op": "3"})
            tally = await screen.wait_for("tally", lambda m: m["version"] == ack["version"])
            assert (tally["voters"], tally["counts"]) == (3, {"a": 0, "b": 1, "c": 2})
        finally:
            await live.close_clients()
