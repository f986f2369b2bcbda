"""A forum's record and state from its stored log, read without a server and without changing
anything: for `townhall record` and `townhall score`, on either engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townhall.engine import read_stored_log, stored_log_warnings, stored_secret
from townhall.engine.base import shown_url
from townhall.model.agenda import Programme
from townhall.model.events import ServerStarted
from townhall.model.forum import Forum
from townhall.record.writer import apply_record, stated_programme, write_record


@dataclass(frozen=True, slots=True)
class StoredForum:
    """One forum where the engine for `engine_url` keeps it (`memory://`: in `data_dir`)."""

    forum: str
    data_dir: Path
    engine_url: str = "memory://"

    @property
    def where(self) -> str:
        place = self.data_dir if self.engine_url == "memory://" else shown_url(self.engine_url)
        return f"forum {self.forum!r} in {place}"

    def read_log(self) -> AsyncIterator[dict[str, Any]]:
        return read_stored_log(self.engine_url, self.forum, self.data_dir)

    def secret(self) -> str:
        return stored_secret(self.engine_url, self.forum, self.data_dir)

    def warnings(self) -> list[str]:
        """What reading the stored log left out, as a journal's torn last record."""
        return stored_log_warnings(self.engine_url, self.forum, self.data_dir)


def record_bytes(stored: StoredForum) -> bytes:
    """The forum's whole record; raises EngineError or RecordError."""

    async def lines() -> bytes:
        return b"".join([line async for line in write_record(stored.read_log, stored.secret())])

    return asyncio.run(lines())


def replayed(stored: StoredForum, programme: Programme | None = None) -> Forum:
    """The forum as its log leaves it, under `programme` or else the one the log last states."""

    async def records() -> list[dict[str, Any]]:
        return [record async for record in stored.read_log()]

    log = asyncio.run(records())
    if programme is None:
        started = [r for r in log if r.get("t") == ServerStarted.type]
        programme = stated_programme(started[-1] if started else None)
    forum = Forum(programme)
    for record in log:
        apply_record(forum, record)
    return forum
