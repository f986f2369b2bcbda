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
from townhall.model.commands import Actor, ClosePoll, Goto, OpenPoll, Role, Vote
from townhall.model.errors import ForumError
from townhall.model.events import BallotCast, Event
from townhall.model.state import PollStatus

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


async def test_a_refusal_resting_on_a_change_waits_for_its_write(tmp_path: Path) -> None:
    engine = open_engine("memory://", forum_programme(), tmp_path)
    assert isinstance(engine, MemoryEngine)
    await engine.start()
    try:
        await engine.execute(HOST, Goto("vote"))
        await engine.execute(HOST, OpenPoll("vote"))
        journal = engine.journal.path
        size = journal.stat().st_size
        phone = Actor(Role.PARTICIPANT, "p0")

        # The host closes the poll and a phone votes in the same turn: the phone's "closed"
        # is not said before the close is on disk.
        refused_at: list[int] = []

        async def vote(op: str) -> None:
            try:
                await engine.execute(phone, Vote("vote", ("a",), op))
            except ForumError:
                refused_at.append(journal.stat().st_size)
                raise

        closing = asyncio.create_task(engine.execute(HOST, ClosePoll("vote")))
        await asyncio.sleep(0)  # the close is decided, its write still to come
        with pytest.raises(ForumError):
            await vote("op-0")
        await closing
        assert refused_at and refused_at[0] > size

        # A refusal resting on a change the disk then refuses is not said at all: the poll is
        # open again once the forum is read back, so "closed" would be false.
        await engine.execute(HOST, OpenPoll("vote"))
        engine.journal.close()
        engine.journal.path = Path("/dev/full")
        engine.journal.open()
        engine.journal.path = journal
        closing = asyncio.create_task(engine.execute(HOST, ClosePoll("vote")))
        await asyncio.sleep(0)
        with pytest.raises(EngineError):
            await engine.execute(phone, Vote("vote", ("a",), "op-1"))
        with pytest.raises(EngineError):
            await closing
        assert engine.forum.polls["vote"].status is PollStatus.OPEN
    finally:
        await engine.close()


async def test_a_batch_that_cannot_be_packed_leaves_no_one_waiting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record the journal cannot pack is a bug, not the disk's refusal: its batch is still
    refused whole (the undo is asked for, every waiter told), and logged with its traceback."""
    from townhall.engine.group_commit import GroupCommit
    from townhall.engine.journal import Journal, JournalError

    journal = Journal(tmp_path / "f.journal")
    journal.open()
    refused: list[bool] = []
    told: list[Sequence[Event]] = []
    commits = GroupCommit(journal, told.append, lambda: refused.append(True))

    async def command(record: dict[str, object]) -> None:
        commits.add([record], [])  # as the engine does: add, then wait, in one step
        await commits.written()

    records: list[dict[str, object]] = [{"t": "a"}, {"t": "odd", "x": object()}, {"t": "b"}]
    waiters = [asyncio.ensure_future(command(record)) for record in records]
    done, _ = await asyncio.wait(waiters, timeout=5)
    assert len(done) == 3, "a waiter was left waiting"
    for waiter in waiters:
        assert isinstance(waiter.exception(), JournalError)
    assert refused == [True] and told == []
    assert "could not be written" in caplog.text
    journal.close()
