"""The engine interface every backend implements, and the contract the hub relies on."""

from __future__ import annotations

import abc
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from townhall import __version__
from townhall.model.acks import host_ack, redeem_ack
from townhall.model.commands import (
    Actor,
    Command,
    RedeemCode,
    ScoreCandidate,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.events import Event, ServerStarted
from townhall.model.forum import Forum
from townhall.model.statement import (
    programme_statement,
    published_selection_changed,
    rules_in_force,
)

Listener = Callable[[Sequence[Event]], None]
# A purge of a stored log (townhall/purge.py), which each engine stores its own way: the log's
# events as they are to be stored and each participant id's replacement, or None if nothing is
# left to purge.
Rewrite = Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], Mapping[str, str]] | None]


class EngineError(Exception):
    """The engine cannot start or cannot store a change; nothing was accepted."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an accepted command produced: its events and the ack for the sender."""

    events: Sequence[Event]
    ack: dict[str, Any] = field(default_factory=dict)


def now_ms() -> int:
    return int(time.time() * 1000)


# A password in an engine URL: `redis://user:PASSWORD@host` or a `?password=` argument.
_PASSWORD = re.compile(r"(?<=:)[^:/@]*(?=@)|(?<=[?&]password=)[^&#]*", re.IGNORECASE)


def shown_url(url: str) -> str:
    """`url` as a message or a log line may show it: any password in it as `***`."""
    return _PASSWORD.sub("***", url)


class Engine(abc.ABC):
    """One forum's state and log. `forum` is this process's current view of the state.

    `execute` decides, stores and applies a command as one step: when it returns, the change is
    in the log and every listener has been told of it. A refused command raises ForumError and
    changes nothing.
    """

    name: ClassVar[str]  # the backend, as the health endpoint reports it: "memory", "redis"
    shared: ClassVar[bool]  # True if other processes may serve the same forum's state
    # True if no wait of its commands asks for the asyncio task it runs in (asyncio.timeout
    # does), so that the transport may run a message's handler without one.
    runs_inline: ClassVar[bool] = False

    def __init__(self, forum: Forum, clock: Callable[[], int] = now_ms) -> None:
        self.forum = forum
        self.clock = clock
        self.available = True  # False while the engine cannot store changes
        self._listeners: list[Listener] = []
        self._resync_listeners: list[Callable[[], None]] = []
        self._tally_listeners: list[Callable[[Sequence[str]], None]] = []
        # How often results go out (the server's tick_ms): an engine that reads tallies rather
        # than applying each ballot reads them this often.
        self.tick_s = 0.1

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every batch of events applied to the forum, from any worker."""
        self._listeners.append(listener)

    def subscribe_resync(self, listener: Callable[[], None]) -> None:
        """Call `listener` when clients must start again from a snapshot (after an outage)."""
        self._resync_listeners.append(listener)

    def subscribe_tallies(self, listener: Callable[[Sequence[str]], None]) -> None:
        """Call `listener` with the polls whose tally changed other than by an event applied
        here (an engine that takes the tallies whole, as counted in its store)."""
        self._tally_listeners.append(listener)

    def _notify_tallies(self, polls: Sequence[str]) -> None:
        for listener in self._tally_listeners:
            listener(polls)

    async def settle(self) -> None:
        """Bring `settled` up to date with the store, for an export."""
        await self.refresh()

    @property
    def settled(self) -> Forum:
        """The forum with every ballot in it, as `settle` left it: what exports read (a replica
        that takes tallies whole holds each poll's counts, not each ballot and each opening's)."""
        return self.forum

    async def my_ballots(self, participant: str) -> dict[str, dict[str, Any]]:
        """This participant's ballots, so a reloaded phone shows its own choice."""
        return self.forum.my_ballots(participant)

    def _notify(self, events: Sequence[Event]) -> None:
        for listener in self._listeners:
            listener(events)

    def _notify_resync(self) -> None:
        for listener in self._resync_listeners:
            listener()

    @abc.abstractmethod
    async def refresh(self) -> None:
        """Bring `forum` up to date with the store before a snapshot is read from it."""

    async def presence(self, local: dict[str, int]) -> dict[str, int]:
        """Connections by role across every process serving the forum; `local` is this one's."""
        return local

    def _ack(self, actor: Actor, command: Command, events: Sequence[Event]) -> dict[str, Any]:
        if isinstance(command, Vote):
            return self.forum.vote_ack(actor, command.poll, duplicate=not events)
        if isinstance(command, SubmitPost | Upvote):
            return self.forum.post_ack(actor, command, duplicate=not events)
        if isinstance(command, ScoreCandidate):
            return self.forum.score_ack(actor, command.candidate, duplicate=not events)
        if isinstance(command, RedeemCode):
            return redeem_ack(self.forum, actor, duplicate=not events)
        return host_ack(self.forum.seq, command, events)

    def load(self) -> None:
        """Claim and read what the engine can before the server listens, so that a refusal
        comes first; start() does it if not done. Nothing to do unless a backend says so."""
        return None

    def check_restart(self) -> None:
        """Refuse to serve a programme that would change the result the log has published."""
        reason = published_selection_changed(self.forum, self.forum.origin)
        if reason is not None:
            raise EngineError(f"forum {self.forum.programme.id!r}: {reason}")

    def started(self) -> ServerStarted:
        """The event each start logs: this engine, this version, the programme file as loaded
        (the log holds the changes made to it on the day) and the limits."""
        return ServerStarted(
            self.name, __version__, programme_statement(self.forum.origin), rules_in_force()
        )

    @abc.abstractmethod
    def read_log(self, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every stored event record with a `seq` above `after`, in order, as stored."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Load the forum's state (replaying its log) and begin serving."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush what is pending and release the engine's resources."""

    @abc.abstractmethod
    async def execute(self, actor: Actor, command: Command) -> Outcome:
        """Decide, store and apply `command`; raises ForumError on refusal."""
