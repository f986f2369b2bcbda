"""What the metrics read on a schedule rather than as it happens: the event loop's lag, the
connections and forums this worker holds, and the garbage collector's pauses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

from townhall.metrics import Instruments

SAMPLE_EVERY_S = 0.5
MAX_PENDING_PAUSES = 10_000  # far more collections than run between two samples


class Sampler:
    """Every half second: how late its own sleep woke (the loop's lag), then this worker's
    connections by role and forums open, and the collections timed since the last time."""

    def __init__(
        self,
        instruments: Instruments,
        connections: Callable[[], Mapping[str, int]],
        forums_running: Callable[[], int],
    ) -> None:
        self.instruments = instruments
        self.connections = connections
        self.forums_running = forums_running
        self._roles = instruments.roles()
        self._generations = {n: instruments.gc_seconds.labels(str(n)) for n in range(3)}
        self._gc_started = 0.0
        # Recorded by the collector's callback and observed here: the callback may run while
        # a metric's own lock is held (an allocation inside it), so it touches no metric.
        self._pauses: list[tuple[int, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self.sample()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asleep = loop.time()
            await asyncio.sleep(SAMPLE_EVERY_S)
            lag = loop.time() - asleep - SAMPLE_EVERY_S
            self.instruments.loop_lag_seconds.observe(max(lag, 0.0))
            self.sample()

    def sample(self) -> None:
        """Set the gauges to what this worker holds now, and observe the pauses recorded."""
        counts = self.connections()
        for role, gauge in self._roles.items():
            gauge.set(counts.get(role, 0))
        self.instruments.forums_running.set(self.forums_running())
        pauses, self._pauses = self._pauses, []
        for generation, seconds in pauses:
            self._generations[generation].observe(seconds)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif len(self._pauses) < MAX_PENDING_PAUSES:
            generation = min(max(int(info.get("generation", 2)), 0), 2)
            self._pauses.append((generation, time.perf_counter() - self._gc_started))
