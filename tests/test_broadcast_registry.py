"""The broadcaster has decided about every event type: each type in the model's `Event` union is
in exactly one of the broadcaster's kinds, so a new event cannot go unbroadcast by accident."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.conftest import Live
from townhall.broadcast import (
    BOARD_EVENTS,
    HOST_STATE_EVENTS,
    NOT_BROADCAST,
    POST_EVENTS,
    SCREEN_STATE_EVENTS,
    STATE_EVENTS,
    TALLY_EVENTS,
)
from townhall.model.events import EVENT_TYPES


def test_every_event_type_is_broadcast_one_way() -> None:
    listed = Counter(
        [
            *TALLY_EVENTS,
            *BOARD_EVENTS,
            *POST_EVENTS,
            *STATE_EVENTS,
            *HOST_STATE_EVENTS,
            *SCREEN_STATE_EVENTS,
            *NOT_BROADCAST,
        ]
    )
    twice = sorted(cls.__name__ for cls, n in listed.items() if n > 1)
    undecided = sorted(cls.__name__ for cls in EVENT_TYPES if cls not in listed)
    unknown = sorted(cls.__name__ for cls in listed if cls not in EVENT_TYPES)
    assert not undecided, f"add these to one of the broadcaster's kinds: {undecided}"
    assert not twice, f"each event type is broadcast one way: {twice}"
    assert not unknown, f"not event types of the model: {unknown}"


async def test_the_broadcaster_stops_when_woken_as_it_is_stopped(live: Live) -> None:
    """Woken (a change, a phone leaving) just before it is stopped, the broadcaster still ends:
    on Python 3.11 `asyncio.wait_for` lost such a cancellation, and a server's shutdown waited
    for ever."""
    assert live.townhall is not None
    (runtime,) = live.townhall.server.forums.runtimes.values()
    broadcaster = runtime.broadcaster
    await broadcaster.stop()
    for _ in range(3):
        broadcaster.start()
        await asyncio.sleep(0)  # its loop now waits for a wake
        broadcaster.presence_changed()  # the wake is set
        await asyncio.sleep(0)  # the wait inside ends; the loop's wakeup is queued
        stopping = asyncio.ensure_future(broadcaster.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)
        assert stopping in done, "the broadcaster never ended"
    broadcaster.start()  # as the server left it
