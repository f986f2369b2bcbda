"""Showing and hiding the opinion shift on both engines: the acks, the refusals, the figures the
event carries, the polls held still while it is shown, and all of it across a restart (on Redis,
also as a second worker hears it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EngineFactory, wait_until
from tests.test_engine_contract import HOST, voter
from tests.test_shift import ROOM
from townhall.engine import Engine, open_engine
from townhall.model.commands import ClosePoll, Command, OpenPoll, Role, ShowShift, Vote
from townhall.model.errors import ForumError
from townhall.model.events import ShiftShown
from townhall.programme import parse_programme

PROGRAMME = parse_programme(ROOM, source="battle.toml")
# By hand, 6 people: p0-p2 a>a, p3 a>b, p4 b>b, p5 b>a; p6 only the pre-vote (c).
PRE = ["a", "a", "a", "a", "b", "b", "c"]
FINAL = ["a", "a", "a", "b", "b", "a"]


async def refused(engine: Engine, command: Command) -> str:
    seq = engine.forum.seq
    with pytest.raises(ForumError) as refusal:
        await engine.execute(HOST, command)
    assert engine.forum.seq == seq, "a refusal changes nothing"
    return refusal.value.code


async def voted(make_engine: EngineFactory) -> Engine:
    engine = make_engine(PROGRAMME)
    await engine.start()
    for poll, choices in (("pre", PRE), ("final", FINAL)):
        await engine.execute(HOST, OpenPoll(poll))
        for n, choice in enumerate(choices):
            assert (await engine.execute(voter(n), Vote(poll, (choice,), f"{poll}-{n}"))).ack["ok"]
        if poll == "pre":
            assert await refused(engine, ShowShift("final", visible=True)) == "shift_polls_open"
            await engine.execute(HOST, ClosePoll(poll))
    assert await refused(engine, ShowShift("final", visible=True)) == "shift_polls_open"
    await engine.execute(HOST, ClosePoll("final"))
    return engine


async def test_show_and_hide_ack_refuse_and_survive_a_restart(make_engine: EngineFactory) -> None:
    engine = await voted(make_engine)
    assert await refused(engine, ShowShift("pre", visible=True)) == "no_comparison"
    assert await refused(engine, ShowShift("nope", visible=True)) == "unknown_poll"
    with pytest.raises(ForumError) as refusal:
        await engine.execute(voter(1), ShowShift("final", visible=True))
    assert refusal.value.code == "forbidden"

    shown = await engine.execute(HOST, ShowShift("final", visible=True))
    assert shown.ack == {"ok": True, "seq": engine.forum.seq}
    [event] = shown.events
    cells = (("", "a", "a", 3), ("", "a", "b", 1), ("", "b", "a", 1), ("", "b", "b", 1))
    assert event == ShiftShown("final", "pre", True, (*cells, ("", "c", "", 1)))
    again = await engine.execute(HOST, ShowShift("final", visible=True))
    assert again.events == [] and again.ack == {"ok": True, "seq": engine.forum.seq}
    assert await refused(engine, OpenPoll("pre")) == "shift_shown"
    assert await refused(engine, OpenPoll("final")) == "shift_shown"
    screen = engine.forum.state_view(Role.SCREEN)["shift"]["final"]
    # 6 in both, 2 changed (a>b and b>a: each a single person, so hidden in the room).
    everyone = screen["figures"]["everyone"]
    assert screen["visible"] and (everyone["both"], everyone["changed"]) == (6, 2)
    assert {c["pre"] + c["final"]: c["people"] for c in everyone["cells"]}["ab"] is None
    expected = engine.forum.state_view(Role.HOST)["shift"]
    await engine.close()

    restarted = make_engine(PROGRAMME)
    await restarted.start()
    assert restarted.forum.state_view(Role.HOST)["shift"] == expected
    assert await refused(restarted, OpenPoll("pre")) == "shift_shown"
    hidden = await restarted.execute(HOST, ShowShift("final", visible=False))
    assert hidden.events == [ShiftShown("final", "pre", False)]
    assert hidden.ack == {"ok": True, "seq": restarted.forum.seq}
    assert restarted.forum.state_view(Role.PARTICIPANT)["shift"]["final"]["figures"] is None
    assert (await restarted.execute(HOST, ShowShift("final", visible=False))).events == []
    assert (await restarted.execute(HOST, OpenPoll("pre"))).ack["ok"]
    await restarted.close()

    third = make_engine(PROGRAMME)
    await third.start()
    assert not third.forum.state_view(Role.HOST)["shift"]["final"]["visible"]
    await third.close()


async def test_a_second_redis_worker_sees_it_shown_and_hidden(
    redis_url: str, tmp_path: Path
) -> None:
    def worker() -> Engine:
        return open_engine(redis_url, PROGRAMME, tmp_path)

    first = await voted(lambda programme=None: worker())
    second = worker()
    await second.start()
    await first.execute(HOST, ShowShift("final", visible=True))
    await wait_until(
        lambda: second.forum.state_view(Role.SCREEN)["shift"]["final"]["visible"],
        "the second worker to hear the shift shown",
    )
    assert second.forum.shifts.shown == first.forum.shifts.shown
    # Hiding on the second worker: its replica decides, and the first hears it.
    assert (await second.execute(HOST, ShowShift("final", visible=False))).events
    await wait_until(lambda: not first.forum.shifts.shown, "the first worker to hear it hidden")
    await first.close()
    await second.close()
