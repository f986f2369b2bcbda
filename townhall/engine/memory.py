"""The embedded default engine: one process, state in memory, every event in a journal file,
the forum's secrets in a file beside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from townhall.engine.base import Engine, EngineError, Outcome, now_ms
from townhall.engine.group_commit import GroupCommit
from townhall.engine.journal import Journal, JournalError, header, replay
from townhall.engine.lockfile import ForumLock
from townhall.model.agenda import Programme
from townhall.model.commands import Actor, Command
from townhall.model.errors import ForumError
from townhall.model.events import Event, to_record
from townhall.model.forum import Forum

log = logging.getLogger(__name__)

FSYNC_INTERVAL = 1.0  # seconds: like Redis's appendfsync everysec
READ_BATCH = 1000  # records read from the journal between turns of the event loop


class MemoryEngine(Engine):
    """Decides and applies in one synchronous step, so two racing messages can't interleave."""

    name = "memory"
    shared = False
    runs_inline = True  # a command waits only on its batch's write (group_commit.py)

    def __init__(
        self, programme: Programme, journal_path: Path, clock: Callable[[], int] = now_ms
    ) -> None:
        super().__init__(Forum(programme), clock)
        self.journal = Journal(journal_path)
        # Two servers appending to one journal would number their events alike and leave it
        # unreadable: the forum's files are this process's alone while it runs.
        self.lock = ForumLock(journal_path.with_suffix(".lock"), programme.id)
        self._loaded = False
        self._fsync_task: asyncio.Task[None] | None = None
        self._read_mark = (0, 0)  # (seq, byte): the records after that seq start at that byte
        self.commits = GroupCommit(self.journal, self._notify, self._rewind)

    def load(self) -> None:
        """Lock the forum's files in the data dir and replay its journal."""
        if self._loaded:
            return
        self.lock.acquire()
        try:
            replay(self.journal, self.forum)
            self.check_restart()
            self._loaded = True
        except JournalError as exc:
            raise EngineError(str(exc)) from exc
        finally:
            if not self._loaded:
                self.lock.release()

    async def start(self) -> None:
        self.load()
        self.journal.open()
        if self.forum.seq == 0 and not self.journal.path.stat().st_size:
            self.journal.append([header(self.forum.origin)])
        self._stage([self.started()], self.clock())
        await self._committed()
        self._fsync_task = asyncio.create_task(self._fsync_loop())

    async def execute(self, actor: Actor, command: Command) -> Outcome:
        if not self.available:
            raise EngineError("the journal could not be read back after a refused write")
        now = self.clock()
        try:
            events = self.forum.decide(actor, command, now)
        except ForumError:
            await self._committed()  # a refusal, too, may rest on a change not yet on disk
            raise
        if events:
            self._stage(events, now)
        ack = self._ack(actor, command, events)
        await self._committed()  # acked only once on disk, with every change it rests on
        return Outcome(events, ack)

    def _stage(self, events: Sequence[Event], now: int) -> None:
        """Apply `events` and queue their records for the journal's next write, so that the
        next command is decided on them; the listeners are told once they are written."""
        records = []
        for event in events:
            record = to_record(event)
            record["at"] = now
            record["seq"] = self.forum.seq + 1  # last: the journal reads damage by it
            self.forum.apply(event)
            records.append(record)
        self.commits.add(records, events)

    async def _committed(self) -> None:
        try:
            await self.commits.written()
        except JournalError as exc:
            raise EngineError(str(exc)) from exc

    def _rewind(self) -> None:
        """After a refused write, take the forum back to what the journal holds: the batch's
        changes were applied but are refused, so no client may keep seeing them."""
        forum = Forum(self.forum.origin)
        try:
            replay(Journal(self.journal.path), forum)
        except JournalError:
            log.exception("the journal cannot be read back after a refused write")
            self.available = False
            return
        self.forum = forum
        self._notify_resync()

    async def read_log(self, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        # Read on a Journal of its own, so a torn tail it finds is not cut from the open one;
        # start from where the last read left off when it can, so reading on is not reading all.
        start = self._read_mark[1] if self._read_mark[0] <= after else 0
        try:
            for n, (byte, record) in enumerate(Journal(self.journal.path).entries(start)):
                seq = record.get("seq")
                if not isinstance(seq, int) or seq <= after:
                    continue  # the journal's header, or a record already read
                self._read_mark = (seq - 1, byte)
                yield record
                if n % READ_BATCH == READ_BATCH - 1:
                    await asyncio.sleep(0)
        except JournalError as exc:
            raise EngineError(str(exc)) from exc

    async def refresh(self) -> None:
        """Nothing to do: this process holds the only copy, always current."""

    async def _fsync_loop(self) -> None:
        while True:
            await asyncio.sleep(FSYNC_INTERVAL)
            # An idle forum's journal has nothing to flush: no thread is asked to find that out
            # (a server holding hundreds of idle forums spent half its idle CPU on it).
            if self.journal.dirty:
                await asyncio.to_thread(self.journal.fsync)

    async def close(self) -> None:
        self.commits.write()
        if self._fsync_task is not None:
            self._fsync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fsync_task
        self.journal.close()
        self.lock.release()


def keep_secrets(path: Path, fixed: Mapping[str, str], fresh: Mapping[str, str]) -> dict[str, str]:
    """A forum's secrets in a file of its own beside the journal, readable by its owner only."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    chosen = {name: fixed.get(name) or stored.get(name) or value for name, value in fresh.items()}
    if chosen != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(chosen, f)
        tmp.replace(path)
    return chosen


async def read_journal(path: Path) -> AsyncIterator[dict[str, Any]]:
    """Every event record in the journal at `path`, for reading without a server."""
    found = False
    try:
        for record in Journal(path).read():
            found = True
            if "seq" in record:  # the rest is the journal's own header
                yield record
    except JournalError as exc:
        raise EngineError(str(exc)) from exc
    if not found:
        raise EngineError(f"{path}: no journal (is this the forum's data dir and id?)")


def torn_record(path: Path) -> int | None:
    """The byte where the journal at `path` has a torn last record (a crash mid-write), which
    reading leaves out; None if it has none, or can't be read."""
    journal = Journal(path)
    try:
        for _ in journal.entries():
            pass
    except JournalError:
        return None
    return journal.torn_at


def stored_secret(path: Path) -> str:
    """The secret `keep_secrets` stored at `path`, without making one."""
    try:
        secret = json.loads(path.read_text(encoding="utf-8")).get("secret")
    except (OSError, ValueError, AttributeError) as exc:
        raise EngineError(f"{path}: cannot read the forum's secret: {exc}") from exc
    if not isinstance(secret, str) or not secret:
        raise EngineError(f"{path}: no secret stored")
    return secret
