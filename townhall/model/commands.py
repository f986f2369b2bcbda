"""Commands: what a participant or the host asks the forum to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PARTICIPANT = "participant"
    HOST = "host"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    id: str = ""


@dataclass(frozen=True, slots=True)
class Vote:
    """Cast or replace this participant's ballot; `op` is the client's id for this message."""

    poll: str
    choices: tuple[str, ...]
    op: str


@dataclass(frozen=True, slots=True)
class Goto:
    item: str


@dataclass(frozen=True, slots=True)
class Step:
    """Move through the agenda: +1 is next, -1 is previous."""

    delta: int


@dataclass(frozen=True, slots=True)
class OpenPoll:
    poll: str


@dataclass(frozen=True, slots=True)
class ClosePoll:
    poll: str


@dataclass(frozen=True, slots=True)
class ShowResults:
    poll: str
    visible: bool


@dataclass(frozen=True, slots=True)
class StartTimer:
    pass


@dataclass(frozen=True, slots=True)
class PauseTimer:
    pass


@dataclass(frozen=True, slots=True)
class ResetTimer:
    """Stop the timer and set it to `seconds`, or to the current item's planned time."""

    seconds: int | None = None


Command = (
    Vote | Goto | Step | OpenPoll | ClosePoll | ShowResults | StartTimer | PauseTimer | ResetTimer
)
HOST_COMMANDS = (Goto, Step, OpenPoll, ClosePoll, ShowResults, StartTimer, PauseTimer, ResetTimer)
