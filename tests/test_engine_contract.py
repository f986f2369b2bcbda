"""One contract for every engine: the same tests run against each backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import msgpack
import pytest

from tests.conftest import forum_programme
from townhall.engine import Engine, EngineError, open_engine
from townhall.model.commands import Actor, ClosePoll, Goto, OpenPoll, Role, Vote
from townhall.model.errors import ForumError
from townhall.model.events import Event
from townhall.model.forum import PollStatus
from townhall.programme import parse_programme

HOST = Actor(Role.HOST, "host")
ENGINES = ["memory", "redis"]

EngineFactory = Callable[[], Engine]


def engine_url(request: pytest.FixtureRequest, kind: str) -> str:
    return "memory://" if kind == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=ENGINES)
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> EngineFactory:
    """A factory of engines sharing one store, so a second engine is a restart of the first."""
    url = engine_url(request, request.param)
    return lambda: open_engine(url, forum_programme(), tmp_path)


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest) -> str:
    return engine_url(request, request.param)


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


async def test_execute_applies_notifies_and_acks(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    seen: list[Sequence[Event]] = []
    engine.subscribe(seen.append)
    await engine.execute(HOST, OpenPoll("vote"))
    outcome = await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert outcome.ack["ok"] and outcome.ack["version"] == engine.forum.seq == 2
    assert len(seen) == 2
    duplicate = await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert duplicate.events == [] and duplicate.ack["duplicate"] is True
    assert len(seen) == 2, "a resend notifies no one"
    await engine.close()


async def test_a_refusal_changes_nothing(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    with pytest.raises(ForumError) as refused:
        await engine.execute(voter(1), Vote("vote", ("a",), "op-1"))
    assert refused.value.code == "poll_not_open"
    with pytest.raises(ForumError):
        await engine.execute(voter(1), OpenPoll("vote"))
    assert engine.forum.seq == 0
    await engine.close()
    again = make_engine()
    await again.start()
    assert again.forum.seq == 0
    await again.close()


async def test_restart_restores_everything_acked(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    await engine.execute(HOST, Goto("vote"))
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(HOST, OpenPoll("multi"))
    for n in range(20):
        await engine.execute(voter(n), Vote("vote", ("abc"[n % 3],), f"op-{n}"))
    await engine.execute(voter(0), Vote("vote", ("c",), "op-change"))
    await engine.execute(HOST, ClosePoll("multi"))
    expected = engine.forum.state_view(Role.HOST)
    mine = engine.forum.my_ballots("p0")
    await engine.close()

    restarted = make_engine()
    await restarted.start()
    assert restarted.forum.state_view(Role.HOST) == expected
    assert restarted.forum.my_ballots("p0") == mine == {"vote": {"choices": ["c"], "version": 24}}
    assert restarted.forum.polls["multi"].status is PollStatus.CLOSED
    late = await restarted.execute(voter(0), Vote("vote", ("a",), "op-0"))
    assert late.ack["duplicate"] is True, "message ids survive a restart"
    await restarted.close()


async def test_a_torn_last_record_is_cut_and_the_rest_kept(tmp_path: Path) -> None:
    def make_engine() -> Engine:
        return open_engine("memory://", forum_programme(), tmp_path)

    engine = make_engine()
    await engine.start()
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(voter(1), Vote("vote", ("b",), "op-1"))
    await engine.close()
    journal = tmp_path / "test-forum.journal"
    record = msgpack.packb({"t": "ballot", "seq": 3, "poll": "vote", "participant": "p9"})
    with journal.open("ab") as f:
        f.write(record[: len(record) // 2])  # a crash halfway through writing a record
    restarted = make_engine()
    await restarted.start()
    assert restarted.forum.seq == 2
    assert restarted.forum.polls["vote"].counts == {"a": 0, "b": 1, "c": 0}
    await restarted.execute(voter(2), Vote("vote", ("a",), "op-2"))
    await restarted.close()
    third = make_engine()
    await third.start()
    assert third.forum.seq == 3
    await third.close()


async def test_a_store_for_another_agenda_is_refused(store_url: str, tmp_path: Path) -> None:
    engine = open_engine(store_url, forum_programme(), tmp_path)
    await engine.start()
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.close()
    changed = parse_programme(
        '[forum]\nid = "test-forum"\ntitle = "t"\n'
        '[[items]]\nid = "only"\nkind = "talk"\ntitle = "x"\n',
        source="changed.toml",
    )
    other = open_engine(store_url, changed, tmp_path)
    with pytest.raises(EngineError, match="different agenda"):
        await other.start()
    await other.close()


def test_an_unknown_engine_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unsupported engine URL"):
        open_engine("postgres://db", forum_programme(), tmp_path)


async def test_a_corrupt_journal_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    engine = open_engine("memory://", forum_programme(), tmp_path)
    await engine.start()
    await engine.close()
    journal = tmp_path / "test-forum.journal"
    with journal.open("ab") as f:
        f.write(msgpack.packb({"t": "ballot", "blob": b"x" * (2 * 1024 * 1024)}))
    with pytest.raises(EngineError, match="unreadable record"):
        await open_engine("memory://", forum_programme(), tmp_path).start()
