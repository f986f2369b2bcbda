"""Decoding Socket.IO payloads into model commands: shape, types and sizes, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from townhall.model.commands import (
    ClosePoll,
    Command,
    Goto,
    OpenPoll,
    PauseTimer,
    ResetTimer,
    ShowResults,
    StartTimer,
    Step,
    Vote,
)
from townhall.model.errors import ForumError, InvalidPayload

MAX_ID = 40
MAX_OP = 64
MAX_CHOICES = 12
MAX_TIMER_SECONDS = 24 * 3600


class UnknownEvent(ForumError):
    code = "unknown_event"


def _fields(
    data: Any, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload("the payload must be an object")
    missing = required - data.keys()
    if missing:
        raise InvalidPayload(f"missing field {sorted(missing)[0]!r}")
    extra = data.keys() - required - optional
    if extra:
        raise InvalidPayload(f"unexpected field {sorted(map(str, extra))[0]!r}")
    return data


def _text(data: dict[str, Any], key: str, limit: int = MAX_ID) -> str:
    value = data[key]
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise InvalidPayload(f"{key!r} must be a string of 1 to {limit} characters")
    return value


def _poll(data: Any) -> str:
    return _text(_fields(data, {"poll"}), "poll")


def _vote(data: Any) -> Vote:
    fields = _fields(data, {"poll", "choices", "op"})
    choices = fields["choices"]
    if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
        raise InvalidPayload(f"'choices' must be a list of at most {MAX_CHOICES} option ids")
    for choice in choices:
        if not isinstance(choice, str) or not 0 < len(choice) <= MAX_ID:
            raise InvalidPayload("each choice must be an option id")
    return Vote(_text(fields, "poll"), tuple(choices), _text(fields, "op", MAX_OP))


def _timer_reset(data: Any) -> ResetTimer:
    seconds = _fields(data, set(), frozenset({"seconds"})).get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 <= seconds <= MAX_TIMER_SECONDS
    ):
        raise InvalidPayload(f"'seconds' must be a whole number from 0 to {MAX_TIMER_SECONDS}")
    return ResetTimer(seconds)


def _no_fields(make: Callable[[], Command]) -> Callable[[Any], Command]:
    def decode(data: Any) -> Command:
        _fields(data, set())
        return make()

    return decode


DECODERS: dict[str, Callable[[Any], Command]] = {
    "vote": _vote,
    "goto": lambda data: Goto(_text(_fields(data, {"item"}), "item")),
    "next": _no_fields(lambda: Step(1)),
    "prev": _no_fields(lambda: Step(-1)),
    "poll_open": lambda data: OpenPoll(_poll(data)),
    "poll_close": lambda data: ClosePoll(_poll(data)),
    "results_show": lambda data: ShowResults(_poll(data), visible=True),
    "results_hide": lambda data: ShowResults(_poll(data), visible=False),
    "timer_start": _no_fields(StartTimer),
    "timer_pause": _no_fields(PauseTimer),
    "timer_reset": _timer_reset,
}


def decode(event: str, data: Any) -> Command:
    """The command an event carries; raises UnknownEvent or InvalidPayload."""
    decoder = DECODERS.get(event)
    if decoder is None:
        raise UnknownEvent(f"unknown event {event[:40]!r}")
    return decoder(data)
