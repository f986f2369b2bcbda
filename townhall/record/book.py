"""The forum's running digest: the hash of the record's last line, kept up to date as the log
grows, for the pages to show (docs/record.md, "The chain")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from townhall.engine import Engine
from townhall.model.agenda import Programme
from townhall.model.events import ServerStarted
from townhall.record.writer import YIELD_EVERY, RecordWriter, stated_programme, write_record


class RecordBook:
    """One forum's record as far as it has been read: each line's hash, extended from where it
    left off at each request, so the log is never hashed twice."""

    def __init__(self, engine: Engine, programme: Programme, secret: str) -> None:
        self.engine = engine
        self.programme = programme
        self.secret = secret
        # Plain text is outside the hash, so the lines hash alike without knowing the purges.
        self._writer = RecordWriter(programme, secret)
        self._hashes = [self._writer.header()["hash"]]  # by seq; 0: the header
        self._lock = asyncio.Lock()

    async def digest(self) -> tuple[int, str]:
        """The last event's seq (0: none yet) and the hash of its line."""
        async with self._lock:
            if len(self._hashes) == 1:
                self._writer = RecordWriter(await self._first_programme(), self.secret)
                self._hashes = [self._writer.header()["hash"]]
            async for record in self.engine.read_log(len(self._hashes) - 1):
                self._hashes.append(self._writer.line(record)["hash"])
                if len(self._hashes) % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a long log must not hold up the votes meanwhile
            return len(self._hashes) - 1, self._hashes[-1]

    async def _first_programme(self) -> Programme:
        """The programme the record's first lines are written under, as `write_record` does:
        the first one a start stated, else this server's."""
        async for record in self.engine.read_log(0):
            if record.get("t") == ServerStarted.type:
                return stated_programme(record)
        return self.programme

    async def digest_at(self, seq: int) -> str | None:
        """The hash of event `seq`'s line (0: the header's); None past the end of the log."""
        if seq >= len(self._hashes):
            await self.digest()
        return self._hashes[seq] if 0 <= seq < len(self._hashes) else None

    async def stamp(self, published_seq: int | None) -> dict[str, Any]:
        """What an export or a page names the record by: the line of the publication in force
        if there is one (`published_seq`), else the record's last line."""
        if published_seq:
            digest = await self.digest_at(published_seq)
            if digest is not None:
                return {"seq": published_seq, "digest": digest}
        seq, digest = await self.digest()
        return {"seq": seq, "digest": digest}

    def lines(self) -> AsyncIterator[bytes]:
        """The whole record as of now, with every text not purged, line by line."""
        return write_record(self.engine.read_log, self.secret, self.programme)
