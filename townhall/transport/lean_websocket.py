"""Engine.IO over WebSocket, served from each connection's protocol object.

uvicorn runs a WebSocket as an ASGI app: a task, a receive queue and three events per
connection; python-engineio then adds a writer task, a send queue, a ping task and a task per
message it waits for. A phone that mostly waits costs about 40 KB that way. Here, a phone that
opens `/socket.io/?EIO=4&transport=websocket` is served by `EngineIOWebSocket`, the protocol class
uvicorn is given for WebSockets (`ws=`): frames are parsed as they arrive (wsproto's frame
parser), packets are written straight to the socket, one task per server sends every ping, and a
connection has a task only while it has messages waiting for its handlers.

The sockets made here (`LeanSocket`) do what python-engineio's server and python-socketio ask of
an Engine.IO socket, so the Socket.IO protocol and Townhall's handlers run unchanged. Anything
but the plain case (an upgrade from long-polling, another path or protocol version, an origin or
header the stock path would refuse, an app started without the endpoint) is handed to uvicorn's
own wsproto protocol and the ASGI app, which serve or refuse it as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from typing import Any, ClassVar, cast

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode, ParseFailed
from wsproto.utilities import generate_accept_token

from townhall.loglimit import LogLimiter

log = logging.getLogger(__name__)
limited = LogLimiter(log)

# The key under which an app's lifespan state carries its `Endpoint`.
STATE_KEY = "townhall.engineio_websocket"
MAX_HANDSHAKE_BYTES = 16 * 1024  # uvicorn has parsed the request already; this is a backstop
MAX_WAITING = 16  # messages waiting for the handlers before the socket stops being read
MAX_UNSENT_BYTES = 1 << 20  # a connection this far behind on writes is dropped as gone
CLOSE_TIMEOUT = 3.0  # seconds a client has to answer a close frame
PING_FRAME = b"\x81\x012"  # an Engine.IO PING in one unmasked text frame


class Endpoint:
    """The Engine.IO server the lean connections belong to, and the one task that pings them."""

    def __init__(self, eio: Any, path: str = "/socket.io/", max_header_bytes: int = 8 * 1024):
        self.eio = eio
        self.path = path
        self.max_header_bytes = max_header_bytes
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
            except Exception:
                if limited.should_log(self.sid, "bug"):
                    log.exception("%s: could not handle a packet", self.sid)

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


class EngineIOWebSocket(asyncio.Protocol):
    """uvicorn's WebSocket protocol class for Townhall (`ws=`): serves the plain Engine.IO
    WebSocket itself and hands every other handshake to uvicorn's wsproto protocol."""

    __slots__ = (
        "app_state",
        "close_sent",
        "config",
        "frames",
        "handshake",
        "message",
        "message_size",
        "paused",
        "server_state",
        "socket",
        "stock",
        "transport",
        "waiting",
        "working",
    )

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.transport: asyncio.Transport | None = None
        self.handshake: bytearray | None = bytearray()
        self.stock: WSProtocol | None = None
        self.frames: FrameProtocol | None = None
        self.socket: LeanSocket | None = None
        self.message: list[Any] | None = None  # the parts of a fragmented message
        self.message_size = 0
        self.waiting: list[str | bytes | dict[str, Any] | None] | None = None
        self.working = False
        self.paused = False
        self.close_sent = False

    # asyncio's protocol interface

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.frames is not None:
            self._frames_received(data)
        elif self.stock is not None:
            # The stock protocol answers pings and writes without a bound of its own.
            if not self._too_far_behind():
                self.stock.data_received(data)
        elif self.handshake is not None:
            self.handshake += data
            end = self.handshake.find(b"\r\n\r\n")
            if end >= 0:
                request, rest = bytes(self.handshake[:end]), bytes(self.handshake[end + 4 :])
                self.handshake = None
                self._handshake(request, rest)
            elif len(self.handshake) > MAX_HANDSHAKE_BYTES:
                self._hand_over(bytes(self.handshake))

    def connection_lost(self, exc: Exception | None) -> None:
        # The HTTP protocol counted this connection against its address but, once it handed
        # the transport over, is never told that it ended.
        from townhall.transport.http_limits import release

        release(self.transport)
        self.server_state.connections.discard(self)
        if self.stock is not None:
            self.stock.connection_lost(exc)
            connection = getattr(self.stock.conn.handshake, "_connection", None)  # wsproto's
            _end_parser(getattr(connection, "_proto", None))
        else:
            _end_parser(self.frames)
            if self.socket is not None:
                self._wait(None)

    def eof_received(self) -> bool | None:
        if self.stock is not None:
            self.stock.eof_received()
        return None

    def pause_writing(self) -> None:
        if self.stock is not None:
            self.stock.pause_writing()

    def resume_writing(self) -> None:
        if self.stock is not None:
            self.stock.resume_writing()

    def shutdown(self) -> None:
        """uvicorn is stopping: close with 1012 (service restart), as its own protocols do."""
        if self.stock is not None:
            self.stock.shutdown()
        elif self.frames is not None:
            self.close_websocket(CloseReason.SERVICE_RESTART)
        elif self.transport is not None:
            self.transport.close()

    # writing

    def write(self, data: bytes | bytearray) -> None:
        """Write a frame, unless the socket is closing or its close frame is out. The fanout
        writes through here and bounds what it leaves unsent itself."""
        transport = self.transport
        if transport is not None and not self.close_sent and not transport.is_closing():
            transport.write(data)

    def is_closing(self) -> bool:
        """Closed, or its close frame sent: the fanout writes to it no more."""
        return self.close_sent or self.transport is None or self.transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def write_message(self, data: str | bytes) -> None:
        """Send one Engine.IO packet; a connection too far behind to take it is dropped."""
        if self.frames is None or self._too_far_behind():
            return
        self.write(self.frames.send_data(data))

    def _too_far_behind(self) -> bool:
        """A client that does not read what it is sent (acks, snapshots, pongs to its own
        pings) is dropped as gone once that passes `MAX_UNSENT_BYTES`."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return True
        unsent = transport.get_write_buffer_size()
        if unsent <= MAX_UNSENT_BYTES:
            return False
        log.info("dropping a connection %d bytes behind", unsent)
        transport.abort()
        return True

    def close_websocket(self, code: int, reason: str | None = None) -> None:
        """Send a close frame; the socket closes when the client answers it, or after
        `CLOSE_TIMEOUT` (cut off, with whatever it had yet to take). Until then what the client
        sends is read and dropped, so it gets the close frame rather than a reset."""
        transport = self.transport
        if self.frames is None or transport is None or self.close_sent:
            return
        self.write(self.frames.close(code, reason))
        self.close_sent = True
        if self.socket is not None and not self.socket.closing:
            self._wait(None)  # its disconnect is handled now, after what it sent before
        if not transport.is_closing():
            asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, transport.abort)

    # the handshake

    def _handshake(self, request: bytes, rest: bytes) -> None:
        endpoint = self.app_state.get(STATE_KEY)
        lines = request.split(b"\r\n")
        parts = lines[0].split(b" ")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
        if (
            not isinstance(endpoint, Endpoint)
            or len(parts) != 3
            or not endpoint.accepts(parts[0], parts[1], headers)
        ):
            self._hand_over(request + b"\r\n\r\n" + rest)
            return
        environ = _environ(parts[0], parts[1], headers)
        named = dict(headers)
        key = named.get(b"sec-websocket-key")
        if (
            key is None
            or named.get(b"sec-websocket-version") != b"13"
            or not endpoint.origin_allowed(environ)
        ):
            self._hand_over(request + b"\r\n\r\n" + rest)
            return
        self._accept(endpoint, key, _slim(environ))
        if rest:
            self._frames_received(rest)

    def _accept(self, endpoint: Endpoint, key: bytes, environ: dict[str, Any]) -> None:
        assert self.transport is not None
        response = [
            b"HTTP/1.1 101 Switching Protocols\r\n",
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
            b"Sec-WebSocket-Accept: " + generate_accept_token(key) + b"\r\n",
        ]
        for name, value in self.server_state.default_headers:
            response += [name, b": ", value, b"\r\n"]
        response.append(b"\r\n")
        self.transport.write(b"".join(response))
        self.frames = FrameProtocol(client=False, extensions=[])
        eio = endpoint.eio
        sid = eio.generate_id()
        socket = self.socket = LeanSocket(endpoint, sid, self)
        eio.sockets[sid] = socket
        endpoint.sockets[sid] = socket
        socket.write(endpoint.open_packet(sid))
        # The fanout writes through this object rather than the socket, so that nothing follows
        # the close frame.
        environ["townhall.transport"] = self
        self._wait(environ)

    def _hand_over(self, data: bytes) -> None:
        """Give the connection to uvicorn's wsproto protocol and the ASGI app."""
        assert self.transport is not None
        self.server_state.connections.discard(self)
        self.stock = WSProtocol(
            config=self.config, server_state=self.server_state, app_state=self.app_state
        )
        self.stock.connection_made(self.transport)
        self.stock.data_received(data)

    # reading

    def _frames_received(self, data: bytes) -> None:
        frames = self.frames
        assert frames is not None
        frames.receive_bytes(data)
        try:
            for frame in frames.received_frames():
                if self.transport is None or self.transport.is_closing():
                    return  # closed while reading: what follows is not handled
                if self.close_sent:
                    if frame.opcode is Opcode.CLOSE:
                        self.transport.close()
                    continue  # the client's answer to our close frame is all that matters now
                if frame.opcode is Opcode.TEXT:
                    self._part_received(frame.payload, frame.message_finished)
                elif frame.opcode is Opcode.BINARY:
                    # Townhall never takes binary messages: nothing of one is kept, and the
                    # handlers close the session after what came before it.
                    self._wait(b"")
                elif frame.opcode is Opcode.PING:
                    if self._too_far_behind():
                        return
                    self.write(frames.pong(frame.payload))  # type: ignore[arg-type]
                elif frame.opcode is Opcode.CLOSE:
                    code, _ = frame.payload  # type: ignore[str-unpack]
                    self.close_websocket(int(code))  # the answer
                    self.transport.close()
                    return
        except ParseFailed as exc:
            self.close_websocket(exc.code, str(exc))

    def _part_received(self, payload: Any, finished: bool) -> None:
        self.message_size += len(payload) or 1  # empty fragments count, or they could pile up
        limit = self.socket.server.max_http_buffer_size if self.socket is not None else 0
        if self.message_size > limit:
            self.close_websocket(CloseReason.MESSAGE_TOO_BIG, "packet is too large")
            return
        if finished and self.message is None:
            message = payload
        else:
            if self.message is None:
                self.message = []
            self.message.append(payload)
            if not finished:
                return
            message, self.message = "".join(self.message), None
        self.message_size = 0
        if message == "3" and self.socket is not None:  # PONG: no need to wake the handlers
            self.socket.last_ping = None
        else:
            self._wait(message)

    def _wait(self, item: str | bytes | dict[str, Any] | None) -> None:
        """Queue something for the handlers; a task runs them only while there is any."""
        if self.waiting is None:
            self.waiting = []
        self.waiting.append(item)
        if len(self.waiting) >= MAX_WAITING and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        if not self.working and self.socket is not None:
            self.working = True
            task = self.socket.endpoint.run(self._work())
            # uvicorn waits for these when it stops, before the app's shutdown closes the engine
            self.server_state.tasks.add(task)
            task.add_done_callback(self.server_state.tasks.discard)

    async def _work(self) -> None:
        socket = self.socket
        assert socket is not None
        try:
            while self.waiting:
                item = self.waiting.pop(0)
                if not self.waiting:
                    self.waiting = None
                if self.paused and len(self.waiting or ()) < MAX_WAITING // 2:
                    self.paused = False
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.resume_reading()
                await socket.handle(item)
        finally:
            self.working = False


def _environ(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The WSGI-style environ python-engineio's ASGI driver would build for this handshake."""
    path, _, query = target.partition(b"?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.decode("latin-1"),
        "PATH_INFO": urllib.parse.unquote(path.decode("latin-1")),
        "QUERY_STRING": query.decode("latin-1"),
    }
    for name, value in headers:
        try:
            key = "HTTP_" + name.decode().upper().replace("-", "_")
            text = value.decode()
        except UnicodeDecodeError:
            continue
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ


def _end_parser(frames: FrameProtocol | None) -> None:
    """Stop wsproto's frame parser once its connection is lost: a generator its FrameProtocol
    keeps, whose frame refers back to the FrameProtocol. That reference cycle (the parser and its
    buffers, about 1.5 KB) would outlive every closed WebSocket, lean or stock, until a full
    collection, which `townhall.collector` runs only when the forum is quiet."""
    parser = getattr(frames, "_parse_more", None)
    if parser is not None:
        with contextlib.suppress(ValueError):  # already running: it is ending the connection
            parser.close()


async def _time_out(socket: LeanSocket) -> None:
    if not socket.closed:
        await socket.check_ping_timeout()


# What a connection keeps of its environ: the handlers read the cookie, nothing else.
KEPT = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_COOKIE")


def _slim(environ: dict[str, Any]) -> dict[str, Any]:
    return {key: environ[key] for key in KEPT if key in environ}
