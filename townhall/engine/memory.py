"""The embedded default engine: one process, state in memory, every event in a journal file,
the forum's secrets in a file beside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from townhall.engine.base import Engine, EngineError, Outcome, now_ms
from townhall.engine.journal import Journal, JournalError, header, replay
from townhall.engine.lockfile import ForumLock
from townhall.model.agenda import Programme
from townhall.model.commands import Actor, Command
from townhall.model.events import to_record
from townhall.model.forum import Forum

FSYNC_INTERVAL = 1.0  # seconds: like Redis's appendfsync everysec


class MemoryEngine(Engine):
    """Decides and applies in one synchronous step, so two racing messages can't interleave."""

    name = "memory"
    shared = False

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

    def load(self) -> None:
        """Lock the forum's files in the data dir and replay its journal."""
        if self._loaded:
            return
        self.lock.acquire()
        try:
            replay(self.journal, self.forum)
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
            self.journal.append([header(self.forum.programme)])
        self._fsync_task = asyncio.create_task(self._fsync_loop())

    async def execute(self, actor: Actor, command: Command) -> Outcome:
        events = self.forum.decide(actor, command, self.clock())
        if events:
            records = []
            for offset, event in enumerate(events, start=1):
                record = to_record(event)
                record["seq"] = self.forum.seq + offset
                records.append(record)
            try:
                self.journal.append(records)
            except JournalError as exc:
                raise EngineError(str(exc)) from exc
            for event in events:
                self.forum.apply(event)
            self._notify(events)
        return Outcome(events, self._ack(actor, command, events))

    async def refresh(self) -> None:
        """Nothing to do: this process holds the only copy, always current."""

    async def _fsync_loop(self) -> None:
        while True:
            await asyncio.sleep(FSYNC_INTERVAL)
            await asyncio.to_thread(self.journal.fsync)

    async def close(self) -> None:
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
