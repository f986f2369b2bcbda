"""Group commit keeps the durability promise: a vote is acked only once its record is in the
journal, however many arrive in one turn, and a refused write refuses its whole batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import TEST_ROOM, forum_programme, wait_until
from tests.processes import ServerProcess
from townhall.engine import EngineError, open_engine
from townhall.engine.memory import MemoryEngine, read_journal
from townhall.model.commands import Actor, Goto, OpenPoll, Role, Vote
from townhall.model.events import BallotCast, Event

PHONES = 40
HOST = Actor(Role.HOST, "host")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    room = tmp_path / "test-room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    process = ServerProcess(room, tmp_path / "data")
    try:
        yield process
    finally:
        process.stop()


async def test_every_vote_acked_before_a_kill_9_is_in_the_journal(
    server: ServerProcess, tmp_path: Path
) -> None:
    await server.start()
    forum = server.endpoint()
    await forum.open_poll("vote")
    phones = [(await forum.phone())[0] for _ in range(PHONES)]
    acked: list[str] = []

    async def vote(n: int, round_: int) -> None:
        op = f"r{round_}-p{n}"
        ack = await phones[n].call("vote", {"poll": "vote", "choices": ["abc"[n % 3]], "op": op})
        assert ack["ok"], ack
        acked.append(op)

    # Every phone at once, round after round: many votes in each turn of the server's loop.
    for round_ in range(3):
        await asyncio.gather(*(vote(n, round_) for n in range(PHONES)))
    assert len(acked) == 3 * PHONES
    last = [asyncio.create_task(vote(n, 3)) for n in range(PHONES)]
    await wait_until(lambda: len(acked) > 3 * PHONES, "the last round's first acks")
    server.kill()  # right after the first acks, mid-batch for the rest
    await asyncio.gather(*last, return_exceptions=True)

    stored = {
        record["op"]
        async for record in read_journal(tmp_path / "data" / "test-forum.journal")
        if record["t"] == "ballot"
    }
    assert set(acked) <= stored


async def test_a_refused_write_refuses_every_vote_of_its_batch(tmp_path: Path) -> None:
    engine = open_engine("memory://", forum_programme(), tmp_path)
    assert isinstance(engine, MemoryEngine)
    told: list[Sequence[Event]] = []
    resyncs: list[bool] = []
    engine.subscribe(told.append)
    engine.subscribe_resync(lambda: resyncs.append(True))
    await engine.start()
    try:
        await engine.execute(HOST, Goto("vote"))
        await engine.execute(HOST, OpenPoll("vote"))
        first = await engine.execute(Actor(Role.PARTICIPANT, "p0"), Vote("vote", ("a",), "op-0"))
        seq, journal = engine.forum.seq, engine.journal.path.read_bytes()
        told.clear()

        # The next writes go to a disk that is full; the journal is read back from its file.
        engine.journal.close()
        engine.journal.path = Path("/dev/full")
        engine.journal.open()
        engine.journal.path = tmp_path / "test-forum.journal"
        voters = [Actor(Role.PARTICIPANT, f"p{n}") for n in range(20)]
        outcomes = await asyncio.gather(
            *(engine.execute(v, Vote("vote", ("b",), f"op-b{n}")) for n, v in enumerate(voters)),
            return_exceptions=True,
        )
        assert all(isinstance(o, EngineError) for o in outcomes), outcomes
        assert engine.forum.seq == seq
        assert engine.forum.my_ballots("p0")["vote"]["choices"] == ["a"]
        assert engine.forum.my_ballots("p1") == {}
        assert not told, "no listener hears of a refused change"
        assert resyncs, "clients start again from what is stored"
        assert engine.journal.path.read_bytes() == journal

        # Once the disk takes writes again, so does the forum, numbering on from what it holds.
        engine.journal.close()
        engine.journal.open()
        again = await engine.execute(voters[1], Vote("vote", ("c",), "op-again"))
        assert again.ack["ok"] and again.ack["version"] == first.ack["version"] + 1
        assert [type(e) for batch in told for e in batch] == [BallotCast]
    finally:
        await engine.close()
