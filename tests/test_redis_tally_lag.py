"""A Redis worker whose replica hears the forum's published events a little late, while they
keep coming (a busy board, a host at work), still takes the tallies of the ballots cast on
another worker."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import wait_until
from tests.test_redis_engine import HOST, voter, workers  # noqa: F401  (the fixture)
from townhall.engine.redis import RedisEngine
from townhall.model.commands import OpenPoll, PauseTimer, StartTimer, Vote

LAG_S = 0.03  # how late the lagging worker hears each published message
EVERY_S = 0.01  # how often the other worker publishes one


def lag(engine: RedisEngine) -> asyncio.Task[None]:
    """Make `engine` apply each published message `LAG_S` after it arrives, in order, without
    falling further behind: a worker whose event loop is busy."""
    loop = asyncio.get_running_loop()
    ingest = engine._ingest
    late: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()

    async def arrived(message: Any) -> None:
        late.put_nowait((loop.time() + LAG_S, message))

    async def apply() -> None:
        while True:
            due, message = await late.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            await ingest(message)

    engine._ingest = arrived  # type: ignore[method-assign]
    return asyncio.create_task(apply())


async def test_a_lagging_worker_takes_tallies_while_events_keep_coming(
    workers: tuple[RedisEngine, RedisEngine],  # noqa: F811
) -> None:
    a, b = workers
    await a.execute(HOST, OpenPoll("vote"))
    await wait_until(lambda: b.forum.seq >= a.forum.seq, "B to hear the poll open")
    applier = lag(b)
    stop = asyncio.Event()

    async def host_at_work() -> None:
        while not stop.is_set():
            await a.execute(HOST, StartTimer())
            await asyncio.sleep(EVERY_S)
            await a.execute(HOST, PauseTimer())
            await asyncio.sleep(EVERY_S)

    busy = asyncio.create_task(host_at_work())
    try:
        for n in range(6):
            await a.execute(voter(n), Vote("vote", ("a",), f"op-{n}"))
        await wait_until(lambda: a.forum.polls["vote"].voters == 6, "A's own tally")
        # B reads the tallies each tick; it should take them within a few ticks.
        await wait_until(lambda: b.forum.polls["vote"].voters == 6, "B's tally, events flowing")
    finally:
        stop.set()
        await busy
        applier.cancel()
