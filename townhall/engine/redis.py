"""The Redis engine: many workers and nodes share one forum.

Redis holds the state (ballots, counts, poll states and options, agenda position, timer, posts,
upvotes) and the event log (a Stream), changed only by Lua scripts, so the check and the write are
one atomic step: `vote.lua`, `post.lua` and `upvote.lua` for participants, `control.lua` for the
host's decisions, `shape.lua` at start. Each worker keeps a replica of the forum, fed in log order
by pub/sub with every event but the ballots, for its snapshots and its own result ticks; each
published message names the last one published before it, so a gap (a missed message, a
reconnect) is seen and filled from the Stream. Ballots are never published: each worker reads
the open polls' tallies whole once a tick (redis_tally.py), so no worker does any work for a vote
another worker took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgpack
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from townhall.engine import redis_participant as participant
from townhall.engine.base import Engine, EngineError, Outcome, now_ms, shown_url
from townhall.engine.redis_connect import async_connect
from townhall.engine.redis_fanout import PLAIN, detect
from townhall.engine.redis_keys import BALLOT, RedisKeys
from townhall.engine.redis_listen import listen
from townhall.engine.redis_log import read_stream
from townhall.engine.redis_presence import presence
from townhall.engine.redis_scripts import RESENT, STALE, Script, status_of, text, unpack_all
from townhall.engine.redis_tally import Tallies, TallyReader, poll_tally
from townhall.model import acks, poll_kinds, tallies
from townhall.model.acks import host_ack
from townhall.model.agenda import Programme
from townhall.model.ballots import RECENT_OPS
from townhall.model.board import BOARD_HOST_COMMANDS
from townhall.model.commands import (
    Actor,
    Command,
    PromoteIdeas,
    RedeemCode,
    ScoreCandidate,
    ShowShift,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.errors import ForumError, NotFound
from townhall.model.events import (
    Event,
    PollClosed,
    PollOpened,
    PollOptionsSet,
    from_record,
    to_record,
)
from townhall.model.forum import Forum

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 5.0  # refuse rather than hang when Redis stops answering; a busy loop can
# stall reads for a second or two, which must not read as an outage
CONTROL_RETRIES = 10  # a host command decided on a replica that was behind is decided again


class RedisEngine(TallyReader, Engine):
    """One forum in Redis, shared by every worker that opens the same URL."""

    name = "redis"
    shared = True

    def __init__(self, programme: Programme, url: str, clock: Callable[[], int] = now_ms) -> None:
        super().__init__(Forum(programme), clock)
        self.programme = programme
        self.url = url
        self.keys = RedisKeys(programme.id)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.connection = async_connect(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=5,
        )
        self.redis = self.connection.client
        self._vote = self.redis.register_script(Script.VOTE.source())
        self._control = self.redis.register_script(Script.CONTROL.source())
        self.post_script = self.redis.register_script(Script.POST.source())
        self.upvote_script = self.redis.register_script(Script.UPVOTE.source())
        self._shape = self.redis.register_script(Script.SHAPE.source())
        self.redeem_script = self.redis.register_script(Script.REDEEM.source())
        self._tally = self.redis.register_script(Script.TALLY.source())
        self._apply_lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._tallier: asyncio.Task[None] | None = None
        # The seq of the last published event (any but a ballot) applied to the replica.
        self._published = 0
        # Polls whose tally is read on the next tick besides the open ones: closed since the
        # last read (their final counts), or every poll after a catch-up.
        self._tally_due: set[str] = set()
        self._tally_now = asyncio.Event()  # read before the tick is out (a poll just closed)
        self._closing = False
        self._settled: Forum | None = None  # every ballot applied: for exports (settle)
        self._behind_at = 0  # `published` as a tick found it ahead of the replica
        self._pending: Tallies | None = None  # a tick's tallies the replica is not at yet
        self._code_voters = 0  # how many voters of ballot codes who voted the replica knows of
        self._subscribed = asyncio.Event()
        self.fanout = PLAIN  # asked of the server at start and at each subscription
        self.available = False

    # -- starting and stopping ------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.fanout = await detect(self.redis)
            await self._check_shape()
            await self.catch_up()
            self.check_restart()
            await self._announce()
            await self.read_tallies()
        except RedisError as exc:
            raise EngineError(f"cannot reach Redis at {shown_url(self.url)}: {exc}") from exc
        self._listener = asyncio.create_task(listen(self))
        self._tallier = asyncio.create_task(self._tally_ticks())
        # Start serving once subscribed, so no event published from now on is missed.
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)
        if await self.redis.exists(self.keys.purging):
            raise EngineError(
                f"forum {self.programme.id!r} is being purged (townhall purge): start it again"
                " once the purge is done"
            )

    async def _check_shape(self) -> None:
        """Refuse another agenda's store; seed each poll's option ids where Redis has none."""
        # The programme file's: the agenda as changed on the day is in the log, not the shape.
        shape = json.dumps(self.programme.fingerprint())
        keys, args = [self.keys.shape], [shape]
        for item in self.programme.items:
            if item.options:
                keys.append(self.keys.options(item.id))
                args.extend((str(len(item.options)), *item.option_ids))
        stored = await self._shape(keys=keys, args=args)
        if stored is not None and text(stored) != shape:
            raise EngineError(
                f"Redis holds forum {self.programme.id!r} for a different agenda (items or poll"
                " options changed). Restore the programme it was started with, or give this"
                " one another [forum] id."
            )

    async def close(self) -> None:
        if self._tallier is not None:
            # Asked to stop, not cancelled: a cancellation that comes as a tick's timeout runs
            # out can be lost on Python 3.11.
            self._closing = True
            self._tally_now.set()
            await self._tallier
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        with contextlib.suppress(RedisError):
            await self.redis.hdel(self.keys.presence, self.worker_id)
        await self.connection.aclose()

    # -- commands -------------------------------------------------------------------------------

    async def execute(self, actor: Actor, command: Command) -> Outcome:
        try:
            if isinstance(command, Vote):
                return await self._cast(actor, command)
            if isinstance(command, SubmitPost):
                return await participant.submit(self, actor, command)
            if isinstance(command, Upvote):
                return await participant.set_upvote(self, actor, command)
            if isinstance(command, RedeemCode):
                return await participant.redeem(self, actor, command)
            return await self._control_command(actor, command)
        except RedisError as exc:
            raise EngineError(f"Redis is unavailable: {exc}") from exc

    async def _cast(self, actor: Actor, vote: Vote) -> Outcome:
        try:
            choices = self.forum.check_vote(actor, vote)
        except NotFound as exc:
            if exc.code not in ("unknown_option", "unknown_poll"):
                raise
            # The replica may not have heard yet that the poll's options were promoted or added
            # to, or that the host added the poll, on another worker.
            await self.catch_up()
            choices = self.forum.check_vote(actor, vote)
        k = self.keys
        counted_as = poll_kinds.weights(self.forum.polls[vote.poll].item.choice, choices)
        item = self.forum.polls[vote.poll].item
        result = await self._vote(
            keys=k.vote_keys(vote.poll),
            args=[
                *(vote.poll, actor.id, vote.op, RECENT_OPS, self.clock(), actor.group),
                "1" if item.by_group else "0",
                *[arg for pair in zip(choices, counted_as, strict=True) for arg in pair],
            ],
        )
        # An option promoted since the replica's check is refused here, as the model refuses it.
        if status_of(Script.VOTE, result) == RESENT:
            stored = msgpack.unpackb(result[2], raw=False)
            return Outcome([], acks.vote_ack(vote.poll, stored, int(result[1]), True))
        # Stored and logged, not published: the other workers count it in with the poll's
        # tally on their next tick; this one takes the tally the script returned with it.
        events = [from_record(record) for record in unpack_all(result[2])]
        tallies.note_voters(self.forum, [actor.id])
        await self._take(int(result[1]), int(result[3]), dict([poll_tally(result[4])]))
        return Outcome(events, acks.vote_ack(vote.poll, list(choices), int(result[1]), False))

    async def _control_command(self, actor: Actor, command: Command) -> Outcome:
        """Decide on the replica, then store only if Redis's control state is the one decided on.

        A no-op or a refusal is confirmed the same way: a replica that has not yet heard another
        worker's change would otherwise ack "already hidden" for results just shown.
        """
        if isinstance(command, (*BOARD_HOST_COMMANDS, PromoteIdeas)):
            # These read posts and upvotes, which participants change without moving the control
            # version: decide on a replica that has every post and upvote stored so far.
            await self.catch_up()
        if isinstance(command, ShowShift):
            await self._load_compared(command.poll)
        for _ in range(CONTROL_RETRIES):
            decided_on = self.forum.control_seq
            try:
                events = self.forum.decide(actor, command, self.clock())
            except ForumError:
                if await self._store_control(decided_on, []) is not None:
                    raise
                await self.catch_up()
                continue
            stored = await self._store_control(decided_on, events)
            if stored is None:
                await self.catch_up()  # another host command got in first: decide again
                if isinstance(command, ShowShift):
                    await self._load_compared(command.poll)
                continue
            if not stored[1:]:
                return Outcome([], self._ack(actor, command, []))
            events = await self.apply_own(stored)
            stored = stored[1:]
            if isinstance(command, ScoreCandidate):
                return Outcome(events, self._ack(actor, command, events))
            return Outcome(events, host_ack(stored[-1]["seq"], command, events))
        raise EngineError("the forum is too busy to take this command; try again")

    async def _store_control(self, decided_on: int, events: Sequence[Event]) -> list[Any] | None:
        """The stored message (the last published seq before it, then its records), or None
        if the control state moved since `decided_on`."""
        k, at = self.keys, self.clock()
        result = await self._control(
            # Decided on this replica, which knows every post the events name.
            keys=k.control_keys(events, self.forum.boards.posts),
            args=[
                *self.publish_args,
                *(decided_on, int(self.forum.programme.eligibility.self_agreement)),
                *(self._packed(e, at) for e in events),
            ],
        )
        if status_of(Script.CONTROL, result) == STALE:
            return None
        if len(result) == 1:
            return [self._published]  # a check only: nothing stored
        return [int(result[1]), *(msgpack.unpackb(r, raw=False) for r in result[2:])]

    @staticmethod
    def _packed(event: Event, at: int) -> bytes:
        packed: bytes = msgpack.packb({**to_record(event), "at": at})
        return packed

    async def _announce(self) -> None:
        """Log this worker's start, stored like a host's event."""
        for _ in range(CONTROL_RETRIES):
            stored = await self._store_control(self.forum.control_seq, [self.started()])
            if stored is not None:
                await self.apply_own(stored)
                return
            await self.catch_up()
        raise EngineError("the forum is too busy to start on; try again")

    @property
    def publish_args(self) -> list[str]:
        """The first arguments of every script that logs an event: how and where to publish it."""
        return [self.fanout.publish, self.keys.channel]

    def read_log(self, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        return read_stream(self.redis, self.keys.log, after)

    # -- the replica ----------------------------------------------------------------------------

    async def apply_own(self, message: Sequence[Any]) -> list[Event]:
        """Apply a command's own stored message (the seq published before it, then its
        records); returns its events, whoever applied them first.

        The pub/sub message may reach the listener before the script's reply reaches here; the
        records are then applied (and listeners told) already, but they are still this command's.
        """
        await self._ingest(message)
        return [from_record(record) for record in message[1:]]

    async def _ingest(self, message: Sequence[Any]) -> None:
        """Apply a published message's records in log order: every event between the last one
        published before them and the first of them is a ballot, which the replica passes by
        (the tallies count it); if that last one is not the replica's, fetch the log first."""
        prev, records = int(message[0]), message[1:]
        async with self._apply_lock:
            fresh = [record for record in records if int(record["seq"]) > self.forum.seq]
            if not fresh:
                return  # already applied (our own change coming back, or a catch-up)
            if prev != self._published:
                applied = await self._catch_up_locked()  # a message missed
            else:
                tallies.advance(self.forum, int(fresh[0]["seq"]) - 1)
                applied = [self._apply(record) for record in fresh]
            if applied:
                self._notify(applied)
            self.take_pending()

    def _apply(self, record: dict[str, Any]) -> Event:
        event = from_record(record)
        self.forum.apply(event)
        self._published = self.forum.seq
        if isinstance(event, PollClosed | PollOpened | PollOptionsSet):
            # A close's final counts, a reopened poll's, and new options' are read at once.
            self._tally_due.add(event.poll)
            self._tally_now.set()
        return event

    async def catch_up(self) -> None:
        async with self._apply_lock:
            applied = await self._catch_up_locked()
            if applied:
                self._notify(applied)

    async def _catch_up_locked(self) -> list[Event]:
        seq, published = await self.redis.mget(self.keys.seq, self.keys.published)
        stored_seq = int(seq or 0)
        if stored_seq < self.forum.seq:
            # Redis lost events this worker had seen (restored from an older save, or flushed):
            # Redis is the truth, so the replica starts again from its log.
            log.warning(
                "Redis is at event %d, behind this worker's %d: rebuilding",
                stored_seq,
                self.forum.seq,
            )
            self.forum = Forum(self.programme)
            self._published = self._code_voters = 0
            self._notify_resync()
        elif published is not None and int(published) == self._published:
            return []  # nothing published since: only ballots, which the tallies count
        applied: list[Event] = []
        async for record in read_stream(self.redis, self.keys.log, self.forum.seq):
            if int(record["seq"]) != self.forum.seq + 1:
                raise EngineError(f"the log skips from {self.forum.seq} to {record['seq']}")
            if record["t"] == BALLOT:
                tallies.advance(self.forum, int(record["seq"]))
                tallies.passed_ballot(self.forum, str(record["poll"]))
                continue
            applied.append(self._apply(record))
        # Anything may have moved while the replica was behind: every tally is read again.
        self._tally_due.update(self.forum.polls)
        self._tally_now.set()
        return applied

    async def refresh(self) -> None:
        # A phone that reconnects to this worker right after another acked its post must see
        # it; if Redis can't be read, the replica as it stands is the best there is.
        with contextlib.suppress(RedisError, OSError, EngineError):
            await self.catch_up()

    # -- presence -------------------------------------------------------------------------------

    async def presence(self, local: dict[str, int]) -> dict[str, int]:
        try:
            return await presence(
                self.redis, self.keys.presence, self.worker_id, self.clock(), local
            )
        except RedisError:
            return local
