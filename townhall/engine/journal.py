"""An append-only journal of msgpack records: the memory engine's durable event log, and the
one way to replay it into a forum (the engine on start, `townhall score` offline)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

from townhall import metrics
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
        self._torn_at: int | None = None  # where reading found a torn last record

    @property
    def torn_at(self) -> int | None:
        """The byte where the last full reading found a torn last record; None if it did not."""
        return self._torn_at

    def read(self) -> Iterator[dict[str, Any]]:
        """Every whole record in the file, in order."""
        for _, record in self.entries():
            yield record

    def entries(self, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every whole record with its byte offset, from byte `start` (a record's offset). A
        torn last record (a crash mid-write) is left out, and cut off when the journal is next
        opened for writing; anything else that does not read as records is refused with its
        offset.

        Streams the file, so a journal of any length replays in bounded memory.
        """
        self._torn_at = None
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        good, after = start, 0
        with self.path.open("rb") as f:
            f.seek(start)
            unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=MAX_RECORD_BYTES)
            try:
                for record in unpacker:
                    if not isinstance(record, dict):
                        raise JournalError(
                            f"{self.path}: byte {good}: record after event {after} is not a map"
                        )
                    yield good, record
                    good = start + unpacker.tell()
                    after = record.get("seq", after)
            except (
                msgpack.ExtraData,
                msgpack.FormatError,
                msgpack.StackError,
                msgpack.BufferFull,
                ValueError,
            ) as exc:
                raise JournalError(
                    f"{self.path}: byte {good}: unreadable record after event {after}:"
                    f" {str(exc).strip() or 'not msgpack'}"
                ) from exc
            if good < size:
                f.seek(good)
                later = _later_record(f.read())
                if later is not None:
                    raise JournalError(
                        f"{self.path}: byte {good}: unreadable record after event {after},"
                        f" with more records after it (from byte {good + later}): the journal"
                        " is damaged, not cut short by a crash"
                    )
                self._torn_at = good

    def open(self) -> None:
        """Open for appending, first cutting off a torn last record that reading found."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._torn_at is not None:
            log.warning(
                "%s: cutting a torn record at byte %d (crash mid-write)", self.path, self._torn_at
            )
            with self.path.open("r+b") as f:
                f.truncate(self._torn_at)
            self._torn_at = None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write `records` in one system call; raises JournalError if the disk refuses."""
        if self._fd is None:
            raise JournalError("journal is not open")
        data = b"".join(self._packer.pack(r) for r in records)
        instruments = metrics.active
        started = time.perf_counter() if instruments is not None else 0.0
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot write: {exc.strerror}") from exc
        if instruments is not None:
            instruments.journal_write.observe(time.perf_counter() - started)
        if written != len(data):
            # A short write leaves a torn record; cut it so the journal stays whole.
            os.ftruncate(self._fd, os.lseek(self._fd, 0, os.SEEK_END) - written)
            raise JournalError(f"{self.path}: disk full")
        self.dirty = True

    def fsync(self) -> None:
        with self._lock:
            if self._fd is not None and self.dirty:
                self.dirty = False
                instruments = metrics.active
                started = time.perf_counter()
                os.fsync(self._fd)
                if instruments is not None:
                    instruments.journal_fsync.observe(time.perf_counter() - started)

    def close(self) -> None:
        self.fsync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


# Every event record ends with its `seq`; its key as msgpack packs it.
SEQ_KEY = msgpack.packb("seq")
LONGEST_INT = 9  # bytes msgpack takes for any integer


def _later_record(tail: bytes) -> int | None:
    """Where in `tail`, the bytes after the last whole record, a later record ends, if one does.

    A crash mid-write leaves a prefix of the one record being written: it may hold that
    record's `seq` key, but never a whole value after it, or it would not be torn.
    """
    at = tail.find(SEQ_KEY)
    while at != -1:
        if at + len(SEQ_KEY) + LONGEST_INT < len(tail):
            return at
        at = tail.find(SEQ_KEY, at + 1)
    return None


def header(programme: Programme) -> dict[str, object]:
    """The journal's first record: which forum and agenda its events were written for."""
    return {
        "t": "journal",
        "v": JOURNAL_VERSION,
        "forum": programme.id,
        "shape": programme.fingerprint(),
    }


def replay(journal: Journal, forum: Forum) -> None:
    """Apply every event in `journal` to `forum`, in order; raises JournalError, naming the
    file and the byte offset, if the journal is another agenda's, has a gap, or holds a record
    that is not an event."""
    path = journal.path
    offset = 0
    try:
        records = journal.entries()
        first = next(records, None)
        if first is None:
            return
        _, head = first
        if head.get("t") != "journal" or head.get("v") != JOURNAL_VERSION:
            raise JournalError(
                f"{path}: byte 0: not a Townhall journal (version {JOURNAL_VERSION})"
            )
        # The programme file's shape; the agenda's changes on the day are in the events.
        if head.get("shape") != header(forum.origin)["shape"]:
            raise JournalError(
                f"{path}: byte 0: written for a different agenda (items or poll options changed)."
                " Restore the programme it was written for, or move the journal aside to"
                " start the forum afresh."
            )
        for offset, record in records:
            seq = record.get("seq")
            if seq != forum.seq + 1:
                raise JournalError(f"{path}: byte {offset}: {_out_of_order(seq, forum.seq)}")
            forum.apply(from_record(record))
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(
            f"{path}: byte {offset}: bad record after event {forum.seq} (event {forum.seq + 1}):"
            f" {exc}"
        ) from exc
    log.info("replayed %d events from %s", forum.seq, path)


def _out_of_order(seq: object, last: int) -> str:
    if not isinstance(seq, int):
        return f"record after event {last} has no event number"
    if seq > last:
        return f"event {seq} follows {last}; log has a gap"
    # Two servers appending to one journal each number their own events from the same point.
    return f"event {seq} follows {last}; log goes back: were two servers writing to it at once?"
