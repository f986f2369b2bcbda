"""The garbage-collection schedule: survivors are frozen, and a cycle that dies after being frozen
is still freed by the full collection that runs once the forum is quiet."""

from __future__ import annotations

import gc
import weakref

from townhall import collector
from townhall.collector import Collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_survivors_are_frozen_and_a_frozen_cycle_is_freed_when_quiet() -> None:
    now = [0.0]
    activity = [0]
    thresholds = gc.get_threshold()
    tuner = Collector(lambda: activity[0], clock=lambda: now[0])
    tuner.start()
    try:
        assert gc.get_threshold() == collector.THRESHOLDS
        # A connection's objects: a cycle, alive, frozen by the next step.
        first, second = Node(), Node()
        first.other, second.other = second, first
        watch = weakref.ref(first)
        frozen = gc.get_freeze_count()
        tuner.step()
        assert gc.get_freeze_count() > frozen
        # The phone leaves: the cycle is garbage, but frozen, so a normal collection keeps it.
        del first, second
        gc.collect()
        assert watch() is not None
        # Busy: no full collection, however long it has been.
        for _ in range(3):
            now[0] += collector.FULL_AT_MOST_EVERY_S
            activity[0] += 1
            tuner.step()
        assert watch() is not None
        # Quiet for long enough: the full collection frees it.
        now[0] += collector.QUIET_FOR_S
        tuner.step()
        assert watch() is None
    finally:
        await tuner.stop()
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
