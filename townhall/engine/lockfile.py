"""One server per forum on a data dir: a lock file beside the journal, held with flock(2) for
as long as the server runs, naming the process that holds it.

The kernel drops an flock when its holder exits, however it exits (kill -9 included), so a lock
file left behind by a dead server blocks nothing: the next server takes it and writes its own
name in. Linux and macOS; on a network file system flock may not reach other machines.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from townhall.engine.base import EngineError


class ForumLock:
    """The lock on one forum's files in a data dir (its journal and keys)."""

    def __init__(self, path: Path, forum_id: str) -> None:
        self.path = path
        self.forum_id = forum_id
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise EngineError naming the process that holds it."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not O_TRUNC: until the lock is ours, the file names the holder.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(fd))
            os.close(fd)
            raise EngineError(
                f"data dir {self.path.parent} is in use: {holder} is serving forum"
                f" {self.forum_id!r} from it (lock file {self.path}). Stop that server first,"
                " or start this one with another --data-dir."
            ) from None
        except OSError:
            os.close(fd)
            raise
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock; the file stays, naming its last holder, and blocks nothing."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def _read(fd: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
    except ValueError:
        return {}  # the holder took the lock a moment ago and has not written its name yet
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if "pid" not in holder:
        return "another process"
    where = f" on {holder['host']}" if holder.get("host") != socket.gethostname() else ""
    return f"process {holder['pid']}{where} (started {holder.get('started', '?')})"
