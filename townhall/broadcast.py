"""Coalesced broadcasts: state at once, tallies on a short tick, each message framed once.

Messages go to each of the forum's roles through its channel (townhall.transport.layer.Channel):
by the fanout (one WebSocket frame written to every WebSocket, one Engine.IO packet put in every
long-polling connection's queue) and, for connections not yet on it, by python-socketio's rooms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from townhall import metrics
from townhall.engine import Engine
from townhall.model.commands import BOARD_MODERATORS, Role
from townhall.model.events import (
    BallotCast,
    CodeRedeemed,
    CodeRevoked,
    CommitteeScored,
    Event,
    ForumPurged,
    ItemAdded,
    ItemChanged,
    LiveVoteRecorded,
    OptionAdded,
    PollClosed,
    PollOpened,
    PollOptionsSet,
    PostCreated,
    PostEdited,
    PostPinned,
    PostsMerged,
    PostsPurged,
    PostStateSet,
    ResultsShown,
    ScoringLocked,
    ScreenBlanked,
    SelectionPublished,
    ServerStarted,
    ShiftShown,
    TimerPaused,
    TimerReset,
    TimerStarted,
    UpvoteSet,
    WordingChanged,
)
from townhall.model.state import PollStatus
from townhall.presence import Presence
from townhall.transport.fanout import Message
from townhall.transport.layer import Channel
from townhall.wordcloud import WordClouds, is_words

log = logging.getLogger(__name__)

PRESENCE_REFRESH_S = 2.0
# Phones take tallies on a slower tick than the projector and the host: a hall of phones costs
# a write each, and a phone only needs to see its own vote counted within a second.
PHONE_TALLY_S = 0.5
# The projector and the host first: their message must not wait behind thousands of phones'.
SEND_ORDER = (Role.SCREEN, Role.HOST, Role.MODERATOR, Role.COMMITTEE, Role.PARTICIPANT)
# The least time between two board messages to a role; changes in between are gathered.
BOARD_INTERVAL_S = {
    Role.HOST: 0.5,
    Role.MODERATOR: 0.5,
    Role.SCREEN: 0.25,
    Role.PARTICIPANT: 1.0,
    Role.COMMITTEE: 1.0,
}

# What each event changes for clients. Every event type of the model is in exactly one of these
# (tests/test_broadcast_registry.py checks), so a new one cannot go unbroadcast by accident.
TALLY_EVENTS = (BallotCast,)  # a poll's tally
BOARD_EVENTS = (PostCreated, PostPinned, PostsPurged)  # the board they name
POST_EVENTS = (UpvoteSet, PostStateSet, PostEdited, PostsMerged)  # the board of the post named
STATE_EVENTS = (  # the forum's state, for every role
    ItemChanged,
    PollOpened,
    PollClosed,
    ResultsShown,
    TimerStarted,
    TimerPaused,
    TimerReset,
    PollOptionsSet,  # and the poll's tally
    LiveVoteRecorded,
    CommitteeScored,
    ScoringLocked,
    SelectionPublished,
    ShiftShown,
    ItemAdded,  # the agenda changed on the day: a new item, a new option (and the poll's
    OptionAdded,  # tally), corrected wording
    WordingChanged,
)
# The state as the host alone sees it changes (its table of ballot codes); no one else's does,
# so a hall redeeming its codes at the door sends nothing to the phones.
HOST_STATE_EVENTS = (CodeRedeemed, CodeRevoked)
# The projector's view changes (blanked by the host), and the host's; the phones' does not.
SCREEN_STATE_EVENTS = (ScreenBlanked,)
NOT_BROADCAST = (ServerStarted, ForumPurged)  # changes nothing a client sees: for the record


class Broadcaster:
    """Marks what changed as events arrive and sends it on the next tick.

    The first change after a quiet spell goes out at once; changes during the following tick
    are gathered into one message per room. Cost grows with rooms x ticks, not with votes.
    """

    def __init__(
        self,
        transport: Channel,
        engine: Engine,
        tick_s: float,
        presence: Presence,
        clouds: WordClouds,
    ) -> None:
        self.transport = transport
        self.clouds = clouds
        clouds.subscribe(self._cloud_counted)
        self._phone_polls: set[str] = set()  # tallies waiting for the phones' tick
        self._phone_tally_at = 0.0
        self.engine = engine
        self.tick_s = tick_s
        self.presence = presence
        self._dirty_polls: set[str] = set()
        # Boards waiting to go to each role, and when each may next go: a board message is
        # large, so phones get one a second at most, and only for the board on screen.
        self._boards_due: dict[Role, set[str]] = {role: set() for role in Role}
        self._board_sent: dict[tuple[Role, str], float] = {}
        self._state_roles: set[Role] = set()  # the roles whose view of the state changed
        self._presence_dirty = False
        self._resync = False
        self._last_presence: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        engine.subscribe(self.on_events)
        engine.subscribe_resync(self.on_resync)
        engine.subscribe_tallies(self.on_tallies)
        presence.subscribe(self.presence_changed)

    def on_events(self, events: Sequence[Event]) -> None:
        boards = self.engine.forum.boards
        for event in events:
            if isinstance(event, TALLY_EVENTS):
                self._dirty_polls.add(event.poll)
            elif isinstance(event, BOARD_EVENTS):
                self._board_changed(event.board)
            elif isinstance(event, POST_EVENTS):
                # A post purged later in the same batch is gone: its purge marks its board.
                post = boards.posts.get(
                    event.target if isinstance(event, PostsMerged) else event.post
                )
                if post is not None:
                    self._board_changed(post.board)
            elif isinstance(event, HOST_STATE_EVENTS):
                self._state_roles.add(Role.HOST)
            elif isinstance(event, SCREEN_STATE_EVENTS):
                self._state_roles.update((Role.HOST, Role.SCREEN))
            elif isinstance(event, STATE_EVENTS):
                self._state_roles.update(Role)
                # New options, or a tally newly shown to the room: the tally goes out too, so
                # every role that may see it hears it as a `tally`, whichever tick the ballots
                # went out on.
                if isinstance(event, PollOptionsSet | OptionAdded | ResultsShown):
                    self._dirty_polls.add(event.poll)
                if isinstance(event, ItemChanged):
                    # The board now on screen goes to phones and projector at once.
                    item = self.engine.forum.programme.items[event.index]
                    if item.kind.is_board:
                        self._board_changed(item.id)
                        for role in (Role.SCREEN, Role.PARTICIPANT):
                            self._board_sent.pop((role, item.id), None)
        self._wake.set()

    def on_tallies(self, polls: Sequence[str]) -> None:
        """Tallies taken whole from the engine's store: each goes out as a ballot's would. A
        closed poll's final one (and its ballots, for a comparison the host sees before showing
        it) changes the host's view of the state too."""
        self._dirty_polls.update(polls)
        forum = self.engine.forum
        if any(forum.polls[p].status is PollStatus.CLOSED for p in polls if p in forum.polls):
            self._state_roles.add(Role.HOST)
        self._wake.set()

    def on_resync(self) -> None:
        """After an outage everything may have moved: clients start again from a snapshot."""
        self._resync = True
        self._state_roles.update(Role)
        self._dirty_polls.update(self.engine.forum.polls)
        for board_id in self.engine.forum.boards.boards:
            self._board_changed(board_id)
        self._wake.set()

    def _board_changed(self, board_id: str) -> None:
        for waiting in self._boards_due.values():
            waiting.add(board_id)

    def _cloud_counted(self, board_id: str) -> None:
        """A cloud counted while the tokenizer loaded is ready: its board goes out again."""
        self._board_changed(board_id)
        self._wake.set()

    def presence_changed(self) -> None:
        self._presence_dirty = True
        self._wake.set()

    def start(self) -> None:
        self.clouds.warm()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # its end; a cancellation of this stop still comes through

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
                # that comes as the event is set, and `stop` would then wait for ever.
                async with asyncio.timeout(PRESENCE_REFRESH_S):
                    await self._wake.wait()
            except TimeoutError:
                # Other workers' connections come and go without waking this one.
                self._presence_dirty = True
            self._wake.clear()
            began = loop.time()
            try:
                await self.flush()
            except Exception:
                # One failed send must not end every broadcast for the rest of the forum.
                log.exception("broadcast failed; carrying on")
            ended = loop.time()
            if metrics.active is not None:
                metrics.active.broadcast_seconds.observe(ended - began)
            # The next tick is a tick after this one began, not after it ended: a tick that
            # wrote to a hall of phones does not stretch the projector's pace by its own length.
            await asyncio.sleep(max(0.0, began + self.tick_s - ended))

    async def flush(self) -> None:
        forum = self.engine.forum
        now = self.engine.clock()
        await self._admit()
        if self._resync:
            self._resync = False
            for role in SEND_ORDER:
                await self.transport.send("resync", {"seq": forum.seq}, role)
        if self._state_roles:
            roles, self._state_roles = self._state_roles, set()
            for role in (role for role in SEND_ORDER if role in roles):
                await self.transport.send("state", {**forum.state_view(role), "now_ms": now}, role)
        dirty, self._dirty_polls = self._dirty_polls, set()
        self._phone_polls |= dirty
        clock = asyncio.get_running_loop().time()
        phones_due = bool(self._phone_polls) and clock >= self._phone_tally_at + PHONE_TALLY_S
        for poll_id in self._phone_polls if phones_due else dirty:
            poll = forum.polls[poll_id]
            # The host's tally, and the room's: the same unless small groups are held back.
            host_tally = poll.tally()
            room_tally = poll.tally(public=True) if poll.item.by_group else host_tally
            messages: dict[int, Message | None] = {}  # each tally encoded once
            for role in SEND_ORDER:
                if role is Role.PARTICIPANT and not phones_due:
                    continue
                if role is not Role.PARTICIPANT and poll_id not in dirty:
                    continue  # sent already; only the phones were still owed it
                if forum.tally_visible_to(poll_id, role):
                    tally = host_tally if role is Role.HOST else room_tally
                    messages[id(tally)] = await self.transport.send(
                        "tally", tally, role, ("tally", poll_id), messages.get(id(tally))
                    )
                elif role is Role.SCREEN:
                    # A hidden round: the room sees how many have voted, not how.
                    turnout = {
                        "poll": poll_id,
                        "version": poll.version,
                        "voters": poll.voters,
                    }
                    await self.transport.send("turnout", turnout, role, ("turnout", poll_id))
        if phones_due:
            self._phone_polls.clear()
            self._phone_tally_at = clock
        if self._phone_polls:
            self._wake.set()  # phones are owed a tally on a later tick
        await self._flush_boards()
        if self._presence_dirty:
            self._presence_dirty = False
            totals = await self.engine.presence(self.presence.counts())
            if totals != self._last_presence:
                self._last_presence = totals
                await self.transport.send("presence", totals, Role.HOST)

    async def _admit(self) -> None:
        """Connections whose connect reply is out take broadcasts from the fanout from now on."""
        if await self.transport.admit():
            self._wake.set()  # look again next tick

    async def _flush_boards(self) -> None:
        forum = self.engine.forum
        on_screen = forum.programme.items[forum.current].id
        clock = asyncio.get_running_loop().time()
        for role, waiting in self._boards_due.items():
            # The boards' moderators keep every board, on screen or not, whole.
            full = role in BOARD_MODERATORS
            for board_id in list(waiting):
                if not full and board_id != on_screen:
                    waiting.discard(board_id)  # sent in full when it comes on screen
                    continue
                if clock < self._board_sent.get((role, board_id), 0.0) + BOARD_INTERVAL_S[role]:
                    continue  # sent too recently: goes on a later tick
                waiting.discard(board_id)
                self._board_sent[(role, board_id)] = clock
                board = forum.boards.boards[board_id]
                view = board.view(full=full)
                if is_words(board.item):
                    view["cloud"] = await self.clouds.cloud(board)  # counted once per change
                await self.transport.send("board", view, role, ("board", board_id))
        if any(self._boards_due.values()):
            self._wake.set()  # some are held back: look again next tick
