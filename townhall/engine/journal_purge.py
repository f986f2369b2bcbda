"""A purge of a forum's journal (the embedded engine): read it whole under the forum's lock, so
no server is serving it, and write the purged log in its place atomically (a new file, fsynced,
renamed over the old one). Records the purge leaves alone pack to the same bytes as before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgpack

from townhall.engine.base import EngineError, Rewrite
from townhall.engine.journal import Journal, JournalError
from townhall.engine.lockfile import ForumLock


def purge_journal(path: Path, forum_id: str, rewrite: Rewrite) -> bool:
    """Store `rewrite`'s events in place of the journal's; False if it had nothing to change.
    Raises EngineError if a server holds the forum or the journal can't be read or written."""
    lock = ForumLock(path.with_suffix(".lock"), forum_id)
    lock.acquire()  # names the server serving it, if one is
    try:
        journal = Journal(path)
        try:
            records = list(journal.read())
        except JournalError as exc:
            raise EngineError(str(exc)) from exc
        if not records:
            raise EngineError(f"{path}: no journal (is this the forum's data dir and id?)")
        head = [r for r in records if "seq" not in r]  # the journal's own header
        purged = rewrite([r for r in records if "seq" in r])
        if purged is None:
            return False
        _replace(path, [*head, *purged[0]])  # the journal's state is its log: ids are in it
        return True
    finally:
        lock.release()


def _replace(path: Path, records: list[dict[str, Any]]) -> None:
    packer = msgpack.Packer()
    tmp = path.with_name(path.name + ".purging")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for record in records:
                f.write(packer.pack(record))
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EngineError(f"{path}: cannot write the purged journal: {exc.strerror}") from exc
