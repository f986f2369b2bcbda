"""Group commit: every record decided in one turn of the event loop goes to the journal in one
write() at the start of the next turn, and no command waiting on them is answered before it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from townhall.engine.journal import Journal, JournalError
from townhall.model.events import Event

log = logging.getLogger(__name__)


class GroupCommit:
    """A journal's pending batch. `add` adds records, `written` waits for them; a refused
    write refuses every command of its batch, and `refused` is told so it can undo them."""

    def __init__(
        self,
        journal: Journal,
        written: Callable[[Sequence[Event]], None],
        refused: Callable[[], None],
    ) -> None:
        self.journal = journal
        self._on_written = written
        self._on_refused = refused
        self._records: list[dict[str, Any]] = []
        self._events: list[Event] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._due = False  # a write is queued for the next turn

    def add(self, records: Sequence[dict[str, Any]], events: Sequence[Event]) -> None:
        """Add `records` (and the `events` they store, for the listeners) to this turn's batch."""
        self._records.extend(records)
        self._events.extend(events)
        if not self._due:
            self._due = True
            # A callback queued during a turn runs in the next one, after every reader this
            # turn woke has decided its message.
            asyncio.get_running_loop().call_soon(self.write)

    async def written(self) -> None:
        """Return once the batch queued so far is on disk; raises JournalError if the disk
        refused it. A command decided on a change waiting in it waits too, even if it adds
        nothing (a resend): its ack rests on that change."""
        if not self._due:
            return
        # A future each, not one shared: a waiter cancelled (its phone gone) cancels no other.
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def write(self) -> None:
        """Write the queued batch, if any, in one system call; then answer its waiters."""
        if not self._due:
            return
        records, events, waiters = self._records, self._events, self._waiters
        self._due, self._records, self._events, self._waiters = False, [], [], []
        try:
            self.journal.append(records)
        except Exception as exc:
            # The disk's refusal, or a bug (a record that cannot be packed): either way the
            # batch is not on disk, so none of its commands may be answered as done, and none
            # may be left waiting for ever.
            if not isinstance(exc, JournalError):
                log.exception("a batch of %d records could not be written", len(records))
            self._on_refused()
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(JournalError(f"the journal was not written: {exc}"))
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._on_written(events)
