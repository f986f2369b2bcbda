"""The lean WebSocket's Engine.IO sessions: `LeanSocket`, what python-engineio's server and
python-socketio ask of an Engine.IO socket, written straight to its connection, and `Endpoint`,
the server they belong to, with the one task that pings them all.

This module uses python-engineio's private names (the server's `_trigger_event` and
`_cors_allowed_origins`, its `sockets` table); tests/test_library_drift.py names each.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, ClassVar

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from wsproto.frame_protocol import CloseReason

from townhall.loglimit import LogLimiter
from townhall.transport.lean_events import Shortcut

if TYPE_CHECKING:
    from townhall.transport.lean_websocket import EngineIOWebSocket

log = logging.getLogger(__name__)
limited = LogLimiter(log)

# The key under which an app's lifespan state carries its `Endpoint`.
STATE_KEY = "townhall.engineio_websocket"
PING_FRAME = b"\x81\x012"  # an Engine.IO PING in one unmasked text frame


class Endpoint:
    """The Engine.IO server the lean connections belong to, and the one task that pings them."""

    def __init__(
        self,
        eio: Any,
        path: str = "/socket.io/",
        max_header_bytes: int = 8 * 1024,
        shortcut: Shortcut | None = None,
    ):
        self.eio = eio
        self.path = path
        self.max_header_bytes = max_header_bytes
        self.shortcut = shortcut  # the common message's short way (lean_events.py), if any
        self.sockets: dict[str, LeanSocket] = {}
        self._pinger: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._pinger = asyncio.get_running_loop().create_task(self._ping_all())

    async def stop(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            await asyncio.gather(self._pinger, return_exceptions=True)
            self._pinger = None

    def open_packet(self, sid: str) -> Any:
        eio = self.eio
        return eio_packet.Packet(
            eio_packet.OPEN,
            {
                "sid": sid,
                "upgrades": [],
                "pingTimeout": int(eio.ping_timeout * 1000),
                "pingInterval": int(eio.ping_interval + eio.ping_interval_grace_period) * 1000,
                "maxPayload": eio.max_http_buffer_size,
            },
        )

    def accepts(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether this handshake is the plain case served here (else the stock path has it)."""
        path, _, query = target.partition(b"?")
        if method != b"GET" or path.rstrip(b"/") + b"/" != self.path.encode():
            return False
        params = urllib.parse.parse_qs(query.decode("latin-1"))
        if params.get("EIO") != ["4"] or params.get("transport") != ["websocket"]:
            return False
        if "sid" in params or "websocket" not in self.eio.transports:
            return False
        return sum(len(k) + len(v) for k, v in headers) <= self.max_header_bytes

    def origin_allowed(self, environ: dict[str, Any]) -> bool:
        """python-engineio's own origin rule, as its handshake applies it."""
        origin = environ.get("HTTP_ORIGIN")
        if self.eio.cors_allowed_origins == [] or not origin:
            return True
        allowed = self.eio._cors_allowed_origins(environ)
        return allowed is None or origin in allowed

    def run(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _ping_all(self) -> None:
        """Every ping interval: drop whoever left the last ping unanswered, ping the rest."""
        while True:
            await asyncio.sleep(self.eio.ping_interval)
            now = time.time()
            for socket in list(self.sockets.values()):
                if socket.last_ping is None:
                    socket.last_ping = now
                    socket.protocol.write(PING_FRAME)
                elif now - socket.last_ping > self.eio.ping_timeout:
                    self.run(_time_out(socket))


class _NothingQueued:
    """A lean socket's stand-in for python-engineio's send queue: it writes as it sends, so
    nothing ever waits (the fanout asks before it takes a connection)."""

    @staticmethod
    def empty() -> bool:
        return True


class LeanSocket:
    """One connection's Engine.IO session, with the interface python-engineio's server and
    python-socketio use: `send`, `close`, `check_ping_timeout` and a few flags."""

    __slots__ = ("closed", "closing", "endpoint", "last_ping", "protocol", "session", "sid")
    upgrade_protocols: ClassVar[list[str]] = []
    queue: ClassVar[_NothingQueued] = _NothingQueued()
    connected = True
    upgraded = True  # so the server refuses long-polling requests that name this session
    upgrading = False

    def __init__(self, endpoint: Endpoint, sid: str, protocol: EngineIOWebSocket) -> None:
        self.endpoint = endpoint
        self.sid = sid
        self.protocol = protocol
        self.session: dict[str, Any] = {}
        self.last_ping: float | None = None  # when the unanswered ping went out
        self.closing = False
        self.closed = False

    @property
    def server(self) -> Any:
        return self.endpoint.eio

    async def send(self, pkt: Any) -> None:
        self.write(pkt)

    def write(self, pkt: Any) -> None:
        if not self.closed:
            self.protocol.write_message(pkt.encode())

    async def handle(self, item: str | bytes | dict[str, Any] | None) -> None:
        """One thing the connection received, in order: its environ (the connection itself),
        an Engine.IO packet, `b""` for a binary message (refused), or None once the socket has
        gone."""
        server = self.server
        if item is None:
            await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
        elif isinstance(item, dict):
            accepted = await server._trigger_event("connect", self.sid, item, run_async=False)
            if accepted is not None and accepted is not True:
                await self.close(wait=False, abort=True)
        elif isinstance(item, bytes):
            if not self.closed:
                limited.info(self.sid, "binary", "%s: closing on a binary message", self.sid)
                await self.close(wait=False, reason=server.reason.TRANSPORT_ERROR)
        elif not self.closed:
            try:
                pkt = eio_packet.Packet(encoded_packet=item)
            except (ValueError, IndexError, TypeError):
                log.info("%s: closing on a packet that is not Engine.IO", self.sid)
                await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_ERROR)
                return
            try:
                await self.receive(pkt)
            except eio_exceptions.UnknownPacketError:
                # A type Engine.IO has but a client does not send (OPEN, UPGRADE, NOOP…) is
                # ignored; one it does not have at all ends the session, as on the stock path.
                if not eio_packet.OPEN <= pkt.packet_type <= eio_packet.NOOP:
                    limited.info(self.sid, "unknown", "%s: closing on an unknown packet", self.sid)
                    await self.close(wait=False, reason=server.reason.TRANSPORT_ERROR)
            except Exception as exc:
                self.failed(exc)

    def failed(self, error: BaseException) -> None:
        """A packet's handling raised: a bug, logged with its traceback once an interval."""
        if limited.should_log(self.sid, "bug"):
            log.error("%s: could not handle a packet", self.sid, exc_info=error)

    async def receive(self, pkt: Any) -> None:
        server = self.server
        if pkt.packet_type == eio_packet.MESSAGE:
            await server._trigger_event(
                "message", self.sid, pkt.data, run_async=server.async_handlers
            )
        elif pkt.packet_type == eio_packet.PONG:
            self.last_ping = None
        elif pkt.packet_type == eio_packet.CLOSE:
            await self.close(wait=False, abort=True, reason=server.reason.CLIENT_DISCONNECT)
        else:
            raise eio_exceptions.UnknownPacketError()

    async def check_ping_timeout(self) -> bool:
        if self.closed:
            raise eio_exceptions.SocketIsClosedError()
        if self.last_ping and time.time() - self.last_ping > self.server.ping_timeout:
            await self.close(wait=False, abort=False, reason=self.server.reason.PING_TIMEOUT)
            return False
        return True

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        if self.closed or self.closing:
            return
        self.closing = True
        server = self.server
        try:
            await server._trigger_event(
                "disconnect", self.sid, reason or server.reason.SERVER_DISCONNECT, run_async=False
            )
        finally:
            if not abort:
                self.write(eio_packet.Packet(eio_packet.CLOSE))
            self.closed = True
            self.endpoint.sockets.pop(self.sid, None)
            if server.sockets.get(self.sid) is self:
                del server.sockets[self.sid]
            self.protocol.close_websocket(CloseReason.NORMAL_CLOSURE)


async def _time_out(socket: LeanSocket) -> None:
    if not socket.closed:
        await socket.check_ping_timeout()
