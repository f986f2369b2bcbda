"""An append-only journal of msgpack records: the memory engine's durable event log, and the
one way to replay it into a forum (the engine on start, `townhall score` offline)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

from townhall.model.agenda import Programme
from townhall.model.events import from_record
from townhall.model.forum import Forum

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1

# Far above any real record (a ballot is under 200 bytes); a larger one means corruption.
MAX_RECORD_BYTES = 1024 * 1024


class JournalError(Exception):
    """The journal cannot be read or written."""


class Journal:
    """Records are appended with one write() each, so a killed process loses none it returned
    from; fsync() makes them survive a power cut too."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._packer = msgpack.Packer()
        self._lock = threading.Lock()  # fsync runs in a thread; close must not race it
        self.dirty = False

    def read(self) -> Iterator[dict[str, Any]]:
        """Every whole record in the file; a torn last record (a crash mid-write) is cut off.

        Streams the file, so a journal of any length replays in bounded memory.
        """
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        good = 0
        with self.path.open("rb") as f:
            unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=MAX_RECORD_BYTES)
            try:
                for record in unpacker:
                    if not isinstance(record, dict):
                        raise JournalError(f"{self.path}: record at byte {good} is not a map")
                    good = unpacker.tell()
                    yield record
            except (
                msgpack.ExtraData,
                msgpack.FormatError,
                msgpack.StackError,
                msgpack.BufferFull,
                ValueError,
            ) as exc:
                raise JournalError(f"{self.path}: unreadable record at byte {good}: {exc}") from exc
        if good < size:
            log.warning("%s: cutting a torn record at byte %d (crash mid-write)", self.path, good)
            with self.path.open("r+b") as f:
                f.truncate(good)

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write `records` in one system call; raises JournalError if the disk refuses."""
        if self._fd is None:
            raise JournalError("journal is not open")
        data = b"".join(self._packer.pack(r) for r in records)
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot write: {exc.strerror}") from exc
        if written != len(data):
            # A short write leaves a torn record; cut it so the journal stays whole.
            os.ftruncate(self._fd, os.lseek(self._fd, 0, os.SEEK_END) - written)
            raise JournalError(f"{self.path}: disk full")
        self.dirty = True

    def fsync(self) -> None:
        with self._lock:
            if self._fd is not None and self.dirty:
                self.dirty = False
                os.fsync(self._fd)

    def close(self) -> None:
        self.fsync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def header(programme: Programme) -> dict[str, object]:
    """The journal's first record: which forum and agenda its events were written for."""
    return {
        "t": "journal",
        "v": JOURNAL_VERSION,
        "forum": programme.id,
        "shape": programme.fingerprint(),
    }


def replay(journal: Journal, forum: Forum) -> None:
    """Apply every event in `journal` to `forum`, in order; raises JournalError if the journal
    is another agenda's, has a gap, or holds a record that is not an event."""
    path = journal.path
    try:
        records = journal.read()
        first = next(records, None)
        if first is None:
            return
        if first.get("t") != "journal" or first.get("v") != JOURNAL_VERSION:
            raise JournalError(f"{path}: not a Townhall journal (version {JOURNAL_VERSION})")
        if first.get("shape") != header(forum.programme)["shape"]:
            raise JournalError(
                f"{path} was written for a different agenda (items or poll options changed)."
                " Restore the programme it was written for, or move the journal aside to"
                " start the forum afresh."
            )
        for record in records:
            seq = record.get("seq")
            if seq != forum.seq + 1:
                raise JournalError(f"{path}: event {seq} follows {forum.seq}; log has a gap")
            forum.apply(from_record(record))
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(f"{path}: bad record after event {forum.seq}: {exc}") from exc
    log.info("replayed %d events from %s", forum.seq, path)
