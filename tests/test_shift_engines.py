"""Showing and hiding the opinion shift on both engines: the acks, the refusals, the figures the
event carries, the polls held still while it is shown, groups from ballot codes, and all of it
across a restart (on Redis, also as a second worker hears it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EngineFactory, wait_until
from tests.test_engine_contract import HOST, voter
from tests.test_shift import ROOM
from townhall.codes.book import CodeBook
from townhall.engine import Engine, open_engine
from townhall.model.commands import (
    Actor,
    ClosePoll,
    Command,
    OpenPoll,
    RedeemCode,
    Role,
    ShowShift,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.events import ShiftShown
from townhall.programme import load_programme, parse_programme

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


async def test_groups_come_from_the_ballot_codes(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    """Jurors and the audience vote with their cards' codes, one person without: the shown
    cells are by group, through each engine's store and a restart."""
    room = tmp_path / "battle.toml"
    coded = '[eligibility]\ngroups = ["jury", "audience"]\n\n[[items]]'
    # A jury-only poll puts codes in use in this open forum, as in rooms/policy-battle-jury.toml.
    jury_only = '\n[[items]]\nid = "advice"\nkind = "poll"\ntitle = "Advice"\nvoters = ["jury"]\n'
    jury_only += 'options = [{id = "yes", label = "Yes"}, {id = "no", label = "No"}]\n'
    text = ROOM.replace("[[items]]", coded, 1).replace("[forum]", '[forum]\ncode = "BATTLE"')
    room.write_text(text + jury_only, encoding="utf-8")
    book = CodeBook(tmp_path / "battle.codes.jsonl")
    cards = [c.code for c in book.issue(2, "jury", "battle")]
    cards += [c.code for c in book.issue(1, "audience", "battle")]
    programme = load_programme(room)
    engine = make_engine(programme)
    await engine.start()
    phones = [Actor(Role.PARTICIPANT, f"phone-{n}") for n in range(4)]
    for phone, card in zip(phones, cards, strict=False):
        assert (await engine.execute(phone, RedeemCode(card))).ack["ok"]
    # By hand: juror 1 a>a, juror 2 a>b, the audience card b>b, the phone without a code c>c.
    for poll, choices in (("pre", "aabc"), ("final", "abbc")):
        await engine.execute(HOST, OpenPoll(poll))
        for n, (phone, choice) in enumerate(zip(phones, choices, strict=True)):
            vote = Vote(poll, (choice,), f"{poll}-{n}")
            assert (await engine.execute(engine.forum.actor_for(phone), vote)).ack["ok"]
        await engine.execute(HOST, ClosePoll(poll))
    [shown] = (await engine.execute(HOST, ShowShift("final", visible=True))).events
    assert isinstance(shown, ShiftShown)
    assert shown.cells == (
        ("", "c", "c", 1),
        ("audience", "b", "b", 1),
        ("jury", "a", "a", 1),
        ("jury", "a", "b", 1),
    )
    view = engine.forum.state_view(Role.HOST)["shift"]["final"]["figures"]
    assert [(pop["group"], pop["both"], pop["changed"]) for pop in view["by_group"]] == [
        ("audience", 1, 0),
        ("jury", 2, 1),
        ("", 1, 0),
    ]
    await engine.close()
    restarted = make_engine(programme)
    await restarted.start()
    assert restarted.forum.shifts.shown["final"].cells == shown.cells
    await restarted.close()
