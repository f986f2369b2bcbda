"""What a Redis worker reads of the ballots, which it is never sent one by one.

vote.lua stores and logs a ballot without publishing it, so a worker's cost does not grow with
the votes other workers take. Instead each worker reads, once a tick, every open poll's tally
whole (tally.lua: one round trip however many votes came in), and reads a participant's own
ballots when their phone asks for a snapshot, and a closed poll's ballots when a comparison is
decided on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from townhall.engine.redis_keys import RedisKeys
from townhall.engine.redis_scripts import text
from townhall.model.agenda import Item
from townhall.model.state import Ballot
from townhall.model.tallies import PollTally


@dataclass(frozen=True, slots=True)
class Tallies:
    """tally.lua's reply: the polls' tallies as of `seq`, and the last event published then."""

    seq: int
    published: int
    polls: dict[str, PollTally]
    code_voters: list[str]  # every ballot code's voter who has voted, or [] if none new


async def read_tallies(
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


async def my_ballots(
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
