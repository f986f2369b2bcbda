"""Events: the facts the forum's log is made of. Each has a flat record form for the journal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class ItemChanged:
    type: ClassVar[str] = "item"
    index: int
    timer_ms: int


@dataclass(frozen=True, slots=True)
class PollOpened:
    type: ClassVar[str] = "poll_opened"
    poll: str


@dataclass(frozen=True, slots=True)
class PollClosed:
    type: ClassVar[str] = "poll_closed"
    poll: str


@dataclass(frozen=True, slots=True)
class ResultsShown:
    type: ClassVar[str] = "results"
    poll: str
    visible: bool


@dataclass(frozen=True, slots=True)
class BallotCast:
    type: ClassVar[str] = "ballot"
    poll: str
    participant: str
    choices: tuple[str, ...]
    op: str


@dataclass(frozen=True, slots=True)
class TimerStarted:
    type: ClassVar[str] = "timer_started"
    at_ms: int


@dataclass(frozen=True, slots=True)
class TimerPaused:
    type: ClassVar[str] = "timer_paused"
    at_ms: int
    remaining_ms: int


@dataclass(frozen=True, slots=True)
class TimerReset:
    type: ClassVar[str] = "timer_reset"
    duration_ms: int


Event = (
    ItemChanged
    | PollOpened
    | PollClosed
    | ResultsShown
    | BallotCast
    | TimerStarted
    | TimerPaused
    | TimerReset
)

_BY_TYPE: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ItemChanged,
        PollOpened,
        PollClosed,
        ResultsShown,
        BallotCast,
        TimerStarted,
        TimerPaused,
        TimerReset,
    )
}


def to_record(event: Event) -> dict[str, Any]:
    """A plain dict (msgpack- and JSON-safe) with the event's type under `t`."""
    record = asdict(event)
    record["t"] = event.type
    return record


def from_record(record: dict[str, Any]) -> Event:
    """Rebuild an event from `to_record`'s output; raises ValueError on an unknown type."""
    cls = _BY_TYPE.get(record.get("t", ""))
    if cls is None:
        raise ValueError(f"unknown event type {record.get('t')!r}")
    values = {f.name: record[f.name] for f in fields(cls)}
    if cls is BallotCast:
        values["choices"] = tuple(values["choices"])
    return cls(**values)
