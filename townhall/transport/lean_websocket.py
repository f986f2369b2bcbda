"""Engine.IO over WebSocket, served from each connection's protocol object.

uvicorn runs a WebSocket as an ASGI app: a task, a receive queue and three events per
connection; python-engineio then adds a writer task, a send queue, a ping task and a task per
message it waits for. A phone that mostly waits costs about 40 KB that way. Here, a phone that
opens `/socket.io/?EIO=4&transport=websocket` is served by `EngineIOWebSocket`, the protocol class
uvicorn is given for WebSockets (`ws=`): frames are parsed as they arrive (the common one in
lean_frames.py, the others by wsproto), packets are written straight to the socket, one task
per server sends every ping, and a connection has a task only while it has messages waiting for
its handlers. The common message, an event with an ack id, goes the short way of
lean_events.py, without a task when its handler completes or waits only on the engine's batch.

The sockets it makes (`LeanSocket`, in lean_socket.py) do what python-engineio's server and
python-socketio ask of an Engine.IO socket, so the Socket.IO protocol and Townhall's handlers run
unchanged. Anything but the plain case (an upgrade from long-polling, another path or protocol
version, an origin or header the stock path would refuse, an app started without the endpoint)
is handed to uvicorn's own wsproto protocol and the ASGI app, which serve or refuse it as before.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, cast

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode, ParseFailed

from townhall.transport.handshake import (
    client_host,
    environ_of,
    read_head,
    slim,
    switching_protocols,
)
from townhall.transport.http_limits import release
from townhall.transport.lean_events import Shortcut, ShortEvent, drive
from townhall.transport.lean_frames import end_parser, idle, simple_text
from townhall.transport.lean_socket import STATE_KEY, Endpoint, LeanSocket

log = logging.getLogger(__name__)

MAX_HANDSHAKE_BYTES = 16 * 1024  # uvicorn has parsed the request already; this is a backstop
MAX_WAITING = 16  # messages waiting for the handlers before the socket stops being read
MAX_UNSENT_BYTES = 1 << 20  # a connection this far behind on writes is dropped as gone
CLOSE_TIMEOUT = 3.0  # seconds a client has to answer a close frame


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
        "shortcut",
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
        self.shortcut: Shortcut | None = None  # the common message's short way, if any
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
        release(self.transport)
        self.server_state.connections.discard(self)
        if self.stock is not None:
            self.stock.connection_lost(exc)
            connection = getattr(self.stock.conn.handshake, "_connection", None)  # wsproto's
            end_parser(getattr(connection, "_proto", None))
        else:
            end_parser(self.frames)
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
        parts, headers = read_head(request)
        if (
            not isinstance(endpoint, Endpoint)
            or len(parts) != 3
            or not endpoint.accepts(parts[0], parts[1], headers)
        ):
            self._hand_over(request + b"\r\n\r\n" + rest)
            return
        environ = environ_of(parts[0], parts[1], headers)
        assert self.transport is not None
        environ["REMOTE_ADDR"] = client_host(
            self.config, self.transport.get_extra_info("peername"), headers
        )
        named = dict(headers)
        key = named.get(b"sec-websocket-key")
        if (
            key is None
            or named.get(b"sec-websocket-version") != b"13"
            or not endpoint.origin_allowed(environ)
        ):
            self._hand_over(request + b"\r\n\r\n" + rest)
            return
        self._accept(endpoint, key, slim(environ))
        if rest:
            self._frames_received(rest)

    def _accept(self, endpoint: Endpoint, key: bytes, environ: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(switching_protocols(key, self.server_state.default_headers))
        self.frames = FrameProtocol(client=False, extensions=[])
        eio = endpoint.eio
        sid = eio.generate_id()
        socket = self.socket = LeanSocket(endpoint, sid, self)
        self.shortcut = endpoint.shortcut
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
        if not self.close_sent and idle(frames):
            start, end = 0, len(data)
            while not self.close_sent and (found := simple_text(data, start)) is not None:
                if self.transport is None or self.transport.is_closing():
                    return  # closed while reading: what follows is not handled
                text, start = found
                self._part_received(text, True)
            if start == end:
                return
            data = data[start:]  # from here on, wsproto's
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
        elif self.waiting is not None or self.working or not self._short(message):
            self._wait(message)  # after what came before it, or the library's way

    def _short(self, message: str) -> bool:
        """Handle the common message the short way (lean_events.py), without a task if its
        handler may run inline; False if it is not that message."""
        event = self._read_short(message)
        if event is None or self.shortcut is None:
            return False
        if not self.shortcut.inline(event.sid):
            self._wait(message)  # read again in the task
            return True
        self.working = True  # what arrives meanwhile waits for this ack
        drive(self.shortcut.call(event), functools.partial(self._answered, event))
        return True

    def _read_short(self, item: Any) -> ShortEvent | None:
        """`item` as the common message, if it is one and its connection is open."""
        socket, shortcut = self.socket, self.shortcut
        if socket is None or shortcut is None or socket.closing or socket.closed:
            return None
        return shortcut.read(socket.sid, item) if isinstance(item, str) else None

    def _answered(self, event: ShortEvent, returned: Any, error: BaseException | None) -> None:
        """An inline handler is done: its ack out, then on to whatever arrived meanwhile."""
        self._ack(event, returned, error)
        self.working = False
        if self.waiting:
            self._start()

    def _ack(self, event: ShortEvent, returned: Any, error: BaseException | None) -> None:
        socket = self.socket
        assert socket is not None and self.shortcut is not None
        frame = self.shortcut.answer(socket, event, returned, error)
        if frame is not None and not socket.closed and not self._too_far_behind():
            self.write(frame)

    def _wait(self, item: str | bytes | dict[str, Any] | None) -> None:
        """Queue something for the handlers; a task runs them only while there is any."""
        if self.waiting is None:
            self.waiting = []
        self.waiting.append(item)
        if len(self.waiting) >= MAX_WAITING and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        if not self.working:
            self._start()

    def _start(self) -> None:
        """Start the task that handles what is waiting."""
        if self.socket is None:
            return
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
                event = self._read_short(item)
                if event is None:
                    await socket.handle(item)
                    continue
                try:
                    returned, error = await self.shortcut.call(event), None  # type: ignore[union-attr]
                except Exception as exc:
                    returned, error = None, exc
                self._ack(event, returned, error)
        finally:
            self.working = False
