"""The broadcaster has decided about every event type: each type in the model's `Event` union is
in exactly one of the broadcaster's kinds, so a new event cannot go unbroadcast by accident."""

from __future__ import annotations

from collections import Counter

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
