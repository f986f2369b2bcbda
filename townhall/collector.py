"""Garbage collection for a server that holds thousands of long-lived connections.

Each connection is a couple of hundred Python objects that live as long as the phone stays. Left
to its defaults, the collector walks all of them in every full collection: with 10,000 phones
that is about 1.8 million objects and a pause of more than a second, every few seconds while
phones join, and the projector freezes with it.

So every half second the young generations are collected (cheap: only what was made since) and what
survived is frozen (`gc.freeze`): moved where the collector never looks again. Objects freed by
reference counting, which is nearly all of them, are freed as before. What freezing costs is the
rare garbage cycle among objects that die after being frozen: it stays until the next full
collection, which is run only when the forum has been quiet for a while (no commands, nobody
joining or leaving), and then at most every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

FREEZE_EVERY_S = 0.5
# Young collections every 10,000 allocations rather than 700, and a full one (of what is not
# frozen) every 50 of those: when a hall of phones joins at once, hundreds of thousands of objects
# are made a second, nearly all of them to stay.
THRESHOLDS = (10_000, 20, 50)
QUIET_FOR_S = 10.0  # a full collection waits for this long without activity
FULL_AT_MOST_EVERY_S = 300.0


class Collector:
    """Runs the collection schedule above; `activity` changes whenever the forum does."""

    def __init__(
        self,
        activity: Callable[[], Hashable],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.activity = activity
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._last_seen: Hashable = None
        self._quiet_since = clock()
        self._last_full = clock()
        self._frozen_at_full = 0
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        self._thresholds = gc.get_threshold()
        gc.set_threshold(*THRESHOLDS)
        gc.collect()
        gc.freeze()  # modules, the programme, the replayed log: never scanned again
        self._frozen_at_full = gc.get_freeze_count()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        gc.unfreeze()
        gc.set_threshold(*self._thresholds)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FREEZE_EVERY_S)
            self.step()

    def step(self) -> None:
        """One tick: collect the young and freeze the survivors; a full collection if due."""
        now = self.clock()
        seen = self.activity()
        if seen != self._last_seen:
            self._last_seen = seen
            self._quiet_since = now
        if (
            now - self._quiet_since >= QUIET_FOR_S
            and now - self._last_full >= FULL_AT_MOST_EVERY_S
            and gc.get_freeze_count() > self._frozen_at_full
        ):
            started = time.perf_counter()
            gc.unfreeze()
            found = gc.collect()
            gc.freeze()
            self._last_full = now
            self._frozen_at_full = gc.get_freeze_count()
            log.info(
                "full collection while quiet: %d unreachable, %.0f ms",
                found,
                (time.perf_counter() - started) * 1000,
            )
            return
        gc.collect(1)
        gc.freeze()
