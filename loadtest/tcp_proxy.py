"""A loopback TCP proxy that can flap and stall, for putting faults between Townhall and Redis.

Workers connect to the proxy as if it were Redis. `flap` drops every connection at once and
refuses new ones for a moment (a switch rebooting, a firewall reloading); `stall` stops
forwarding in both directions without closing anything, then resumes with nothing lost (a
congested or partitioned link that heals before TCP gives up). Bytes held during a stall are
delivered afterwards, even for a connection the client has since closed: a late request that
arrives after its sender gave up is exactly what a stalled network does.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 64 * 1024


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0
        self.refused = 0
        self.dropped = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._flowing.set()
        self.drop_all()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def connections(self) -> int:
        """Open sockets on either side (two per proxied connection)."""
        return len(self._transports)

    def drop_all(self) -> None:
        """Reset every connection on both sides, as a link going down does."""
        self.dropped += len(self._transports) // 2
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def flap(self, refuse_s: float) -> None:
        """Drop everything, refuse new connections for `refuse_s`, then accept again."""
        self._refusing = True
        try:
            self.drop_all()
            await asyncio.sleep(refuse_s)
        finally:
            self._refusing = False

    async def stall(self, hold_s: float) -> None:
        """Forward nothing for `hold_s`; connections stay open and their bytes wait."""
        self._flowing.clear()
        try:
            await asyncio.sleep(hold_s)
        finally:
            self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            # Redis is down: the client sees its connection reset, as it would from Redis.
            self.refused += 1
            writer.transport.abort()
            return
        if self._refusing:  # a flap began while we were connecting upstream
            self.refused += 1
            writer.transport.abort()
            upstream_writer.transport.abort()
            return
        self.accepted += 1
        ends = (writer.transport, upstream_writer.transport)
        self._transports.update(ends)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink, ends))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        ends: tuple[asyncio.WriteTransport, asyncio.WriteTransport],
    ) -> None:
        try:
            while True:
                data = await source.read(CHUNK)
                if not data:
                    break
                if not self._flowing.is_set():
                    await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # Redis's protocol has no use for a half-closed connection: when one side ends,
            # both do.
            for transport in ends:
                self._transports.discard(transport)
                transport.close()
