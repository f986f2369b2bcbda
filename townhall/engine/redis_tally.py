"""What a Redis worker reads of the ballots, which it is never sent one by one.

vote.lua stores and logs a ballot without publishing it, so a worker's cost does not grow with
the votes other workers take. Instead each worker reads, once a tick, every open poll's tally
whole (tally.lua: one round trip however many votes came in), and reads a participant's own
ballots when their phone asks for a snapshot, and a closed poll's ballots when a comparison is
decided on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from townhall.engine.base import EngineError
from townhall.engine.redis_keys import RedisKeys
from townhall.engine.redis_log import read_stream
from townhall.engine.redis_scripts import text
from townhall.model import tallies
from townhall.model.agenda import Item, Programme
from townhall.model.events import Event, from_record
from townhall.model.forum import Forum
from townhall.model.state import Ballot, PollStatus
from townhall.model.tallies import PollTally

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tallies:
    """tally.lua's reply: the polls' tallies as of `seq`, and the last event published then."""

    seq: int
    published: int
    polls: dict[str, PollTally]
    code_voters: list[str]  # every ballot code's voter who has voted, or [] if none new


async def read_polls(
    script: AsyncScript, keys: RedisKeys, items: Sequence[Item], code_voters: int
) -> Tallies:
    """The tallies of the polls `items`, as counted at one point of the log (one round trip),
    and the voters of ballot codes who have voted if there are more than `code_voters`."""
    ids = [item.id for item in items]
    args: list[str | int] = [code_voters]
    args += [a for item in items for a in (item.id, "1" if item.by_group else "0")]
    reply = await script(keys=keys.tally_keys(ids), args=args)
    polls = dict(poll_tally(entry) for entry in reply[3:])
    return Tallies(int(reply[0]), int(reply[1]), polls, [text(v) for v in reply[2]])


def poll_tally(entry: Sequence[Any]) -> tuple[str, PollTally]:
    """One poll's tally as tally.lua and vote.lua return it."""
    poll, version, voters, counts, groups = entry
    group_counts: dict[str, dict[str, int]] = {}
    group_voters: dict[str, int] = {}
    for field, n in _pairs(groups):
        group, _, option = field.partition("\0")
        if not option:
            group_voters[group] = n
        else:
            group_counts.setdefault(group, {})[option] = n
    return text(poll), PollTally(
        dict(_pairs(counts)),
        int(voters),
        int(version),
        # Only groups with a voter: a group whose voters all moved away shows nothing.
        {g: c for g, c in group_counts.items() if group_voters.get(g, 0) > 0},
        {g: n for g, n in group_voters.items() if n > 0},
    )


def _pairs(flat: Sequence[Any]) -> Iterable[tuple[str, int]]:
    for i in range(0, len(flat), 2):
        yield text(flat[i]), int(flat[i + 1])


def _ballot(packed: bytes | str) -> Ballot:
    stored = msgpack.unpackb(packed, raw=False)
    return Ballot(tuple(stored["c"]), int(stored["v"]), tuple(stored["o"]), stored.get("g", ""))


async def stored_my_ballots(
    redis: Redis, keys: RedisKeys, polls: Sequence[str], participant: str
) -> dict[str, dict[str, Any]]:
    """A participant's ballots as stored, as views.my_ballots shows them: one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for poll in polls:
            pipe.hget(keys.ballots(poll), participant)
        stored = await pipe.execute()
    mine: dict[str, dict[str, Any]] = {}
    for poll, packed in zip(polls, stored, strict=True):
        if packed is not None:
            ballot = _ballot(packed)
            mine[poll] = {"choices": list(ballot.choices), "version": ballot.version}
    return mine


async def closed_ballots(redis: Redis, keys: RedisKeys, poll: str) -> dict[str, Ballot]:
    """Every ballot of a poll, as stored."""
    stored = await redis.hgetall(keys.ballots(poll))
    return {text(participant): _ballot(packed) for participant, packed in stored.items()}


class TallyReader:
    """The Redis engine's part that reads what it is not sent: each tick's tallies, a closed
    compared poll's ballots, a participant's own, and every ballot for the exports."""

    # The engine's, which this part reads and takes its tallies into.
    forum: Forum
    programme: Programme
    redis: Redis
    keys: RedisKeys
    available: bool
    tick_s: float
    _tally: AsyncScript
    _apply_lock: asyncio.Lock
    _published: int
    _tally_due: set[str]
    _tally_now: asyncio.Event
    _behind_at: int
    _pending: Tallies | None
    _code_voters: int
    _closing: bool
    _settled: Forum | None

    # The engine's methods this part calls (annotations only, so the engine's own are found).
    refresh: Callable[[], Awaitable[None]]
    _catch_up_locked: Callable[[], Awaitable[list[Event]]]
    _notify: Callable[[Sequence[Event]], None]
    _notify_tallies: Callable[[Sequence[str]], None]

    async def read_tallies(self) -> None:
        """Take the tallies of the open polls, and of those due, from Redis (one round trip)."""
        polls = self.forum.polls
        due = self._tally_due & polls.keys()
        items = [p.item for p in polls.values() if p.status is PollStatus.OPEN or p.item.id in due]
        if not items:
            return
        read = await read_polls(self._tally, self.keys, items, self._code_voters)
        async with self._apply_lock:
            if read.published != self._published:
                # An event published before the tallies' point is not applied here yet: they
                # would count what the replica can't place. The listener takes them once it has
                # applied that event (`take_pending`): a replica that always hears a little late
                # while events keep coming would otherwise never take a tally. If the next tick
                # still finds that event missing, it was lost: fetch the log.
                if read.published > self._published:
                    self._pending = read
                behind, self._behind_at = self._behind_at, read.published
                if behind == read.published and read.published > self._published:
                    applied = await self._catch_up_locked()
                    if applied:
                        self._notify(applied)
                return
            self._behind_at = 0
            self._pending = None
            self._tally_due -= {item.id for item in items}
            changed = self._took(read)
        compared = self._compared_polls()
        for poll_id in due & compared:
            if await self._load_ballots(poll_id) and poll_id not in changed:
                changed.append(poll_id)
        if changed:
            self._notify_tallies(changed)

    def _took(self, read: Tallies) -> list[str]:
        """Take `read` into the replica, which has applied every event published by its point
        (the apply lock held); returns the polls whose tally changed."""
        changed = tallies.take(self.forum, read.seq, read.polls)
        if read.code_voters:
            tallies.note_voters(self.forum, read.code_voters)
            self._code_voters = len(read.code_voters)
        return changed

    def take_pending(self) -> None:
        """The listener has applied published events (the apply lock held): a tick's tallies
        read while the last of them was on its way are taken now that the replica is at their
        point, or dropped once it has passed it (a later tick reads again)."""
        read = self._pending
        if read is None or read.published > self._published:
            return
        self._pending = None
        if read.published == self._published:
            changed = self._took(read)
            if changed:
                self._notify_tallies(changed)

    def _compared_polls(self) -> set[str]:
        items = self.forum.programme.items
        return {i.id for i in items if i.compare_to} | {i.compare_to for i in items if i.compare_to}

    async def _load_ballots(self, poll_id: str) -> bool:
        """Read a closed poll's ballots into the replica, for its comparison with another
        (the host sees it before showing it); False if the poll is not closed."""
        if self.forum.polls[poll_id].status is not PollStatus.CLOSED:
            return False
        ballots = await closed_ballots(self.redis, self.keys, poll_id)
        async with self._apply_lock:
            if self.forum.polls[poll_id].status is not PollStatus.CLOSED:
                return False  # opened again meanwhile: read again when it closes
            tallies.load_ballots(self.forum, poll_id, ballots)
        return True

    async def _take(self, seq: int, published: int, polls: dict[str, PollTally]) -> None:
        """Take tallies counted at `seq`, if the replica has every event published by then."""
        async with self._apply_lock:
            if published != self._published:
                return  # a tick takes them once the replica has it
            changed = tallies.take(self.forum, seq, polls)
        if changed:
            self._notify_tallies(changed)

    async def _tally_ticks(self) -> None:
        """Read the tallies once a tick for as long as the engine runs; Redis unreachable is the
        listener's to report."""
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_s):
                    await self._tally_now.wait()
            self._tally_now.clear()
            if not self.available or self._closing:
                continue
            try:
                await self.read_tallies()
            except (RedisError, OSError, EngineError) as exc:
                log.debug("tally read failed: %s", exc)
            except Exception:
                # One failed read must not end the tallies for the rest of the forum.
                log.exception("tally read failed; carrying on")

    async def _load_compared(self, poll_id: str) -> None:
        """A comparison reads each voter's ballot in both polls: read them for the decision."""
        final = self.forum.polls.get(poll_id)
        if final is None or not final.item.compare_to:
            return  # the model refuses it as it is
        for compared in (poll_id, final.item.compare_to):
            await self._load_ballots(compared)  # not closed: the model refuses it as it is

    async def settle(self) -> None:
        """Apply to `settled`, a forum of this worker's own kept for exports, every event it
        has not applied yet, ballots too, read from the log."""
        await self.refresh()
        stored = int(await self.redis.get(self.keys.seq) or 0)
        settled = self._settled
        if settled is None or settled.seq > stored:  # Redis lost events: read it all again
            settled = Forum(self.programme)
        async for record in read_stream(self.redis, self.keys.log, settled.seq):
            settled.apply(from_record(record))
        self._settled = settled

    @property
    def settled(self) -> Forum:
        return self._settled or self.forum

    async def my_ballots(self, participant: str) -> dict[str, dict[str, Any]]:
        return await stored_my_ballots(self.redis, self.keys, list(self.forum.polls), participant)
