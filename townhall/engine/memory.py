"""The embedded default engine: one process, state in memory, every event in a journal file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from townhall.engine.base import Engine, EngineError, Outcome, now_ms
from townhall.engine.journal import Journal, JournalError
from townhall.model.agenda import Programme
from townhall.model.commands import Actor, Command
from townhall.model.events import from_record, to_record
from townhall.model.forum import Forum

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
FSYNC_INTERVAL = 1.0  # seconds: like Redis's appendfsync everysec


class MemoryEngine(Engine):
    """Decides and applies in one synchronous step, so two racing messages can't interleave."""

    def __init__(
        self, programme: Programme, journal_path: Path, clock: Callable[[], int] = now_ms
    ) -> None:
        super().__init__(Forum(programme), clock)
        self.journal = Journal(journal_path)
        self._fsync_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._replay()
        self.journal.open()
        if self.forum.seq == 0 and not self.journal.path.stat().st_size:
            self.journal.append([self._header()])
        self._fsync_task = asyncio.create_task(self._fsync_loop())

    def _header(self) -> dict[str, object]:
        programme = self.forum.programme
        return {
            "t": "journal",
            "v": JOURNAL_VERSION,
            "forum": programme.id,
            "shape": programme.fingerprint(),
        }

    def _replay(self) -> None:
        path = self.journal.path
        try:
            records = self.journal.read()
            header = next(records, None)
            if header is None:
                return
            expected = self._header()
            if header.get("t") != "journal" or header.get("v") != JOURNAL_VERSION:
                raise EngineError(f"{path}: not a Townhall journal (version {JOURNAL_VERSION})")
            if header.get("shape") != expected["shape"]:
                raise EngineError(
                    f"{path} was written for a different agenda (items or poll options changed)."
                    " Restore the programme it was written for, or move the journal aside to"
                    " start the forum afresh."
                )
            for record in records:
                seq = record.get("seq")
                if seq != self.forum.seq + 1:
                    raise EngineError(
                        f"{path}: event {seq} follows {self.forum.seq}; log has a gap"
                    )
                self.forum.apply(from_record(record))
        except JournalError as exc:
            raise EngineError(str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"{path}: bad record after event {self.forum.seq}: {exc}") from exc
        log.info("replayed %d events from %s", self.forum.seq, path)

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
