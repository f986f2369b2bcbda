"""The broadcaster keeps its pace: the next tick comes a tick after the last one began, so a
tick that took a while (thousands of phones written to) does not push the projector's next
tally back by its own length."""

from __future__ import annotations

import asyncio
import itertools
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from townhall import broadcast
from townhall.presence import Presence

real_sleep = asyncio.sleep


class Subscribable:
    """Takes the broadcaster's subscriptions (the engine's and the word clouds'); tells nothing."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("subscribe") or name == "warm":
            return lambda *args: None
        raise AttributeError(name)


async def run_ticks(
    monkeypatch: pytest.MonkeyPatch,
    tick_s: float,
    flush: Callable[[broadcast.Broadcaster], Awaitable[bool]],
) -> list[float]:
    """Run a broadcaster whose flush is `flush` until it says it is done; what the broadcaster
    waited after each flush, in seconds (its sleeps are recorded, the flush's own are real)."""
    waits: list[float] = []

    async def recorded_sleep(delay: float) -> None:
        waits.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(
        broadcast, "asyncio", types.SimpleNamespace(**{**vars(asyncio), "sleep": recorded_sleep})
    )
    stand_in: Any = Subscribable()
    broadcaster = broadcast.Broadcaster(stand_in, stand_in, tick_s, Presence(), stand_in)
    done = asyncio.Event()

    async def flush_once() -> None:
        if await flush(broadcaster):
            done.set()
        broadcaster._wake.set()  # always more to send: every tick is taken

    monkeypatch.setattr(broadcaster, "flush", flush_once)
    broadcaster.start()
    broadcaster._wake.set()
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
        while not waits:
            await real_sleep(0)
    finally:
        await broadcaster.stop()
    return waits


async def test_a_long_tick_does_not_stretch_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    tick_s, flush_s = 0.4, 0.3  # a tick that takes three quarters of the pace
    loop = asyncio.get_running_loop()
    began: list[float] = []

    async def slow_flush(_: broadcast.Broadcaster) -> bool:
        began.append(loop.time())
        await real_sleep(flush_s)
        return len(began) == 3

    waits = await run_ticks(monkeypatch, tick_s, slow_flush)
    # Each wait is what was left of the tick once its flush was done, never a whole tick more.
    assert len(waits) >= 2
    assert all(0 <= wait <= tick_s - flush_s + 1e-3 for wait in waits[:2]), waits
    # So flushes begin a tick apart.
    assert all(b - a >= tick_s - 1e-3 for a, b in itertools.pairwise(began)), began


async def test_a_tick_longer_than_the_pace_waits_for_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def slower_flush(_: broadcast.Broadcaster) -> bool:
        await real_sleep(0.1)  # twice the pace
        return True

    waits = await run_ticks(monkeypatch, 0.05, slower_flush)
    assert waits[0] == 0.0
