"""What Townhall holds python-engineio's own socket to, on the stock paths (long-polling and the
WebSockets the lean path hands over): the Engine.IO protocol's rules for requests and packets.

Long-polling answers as the protocol says: a payload that is not Engine.IO, a second concurrent
GET or POST, or a request after the ping timeout has passed close the session. A WebSocket message
that is not an Engine.IO packet ends the connection. Nothing of a closed connection is left in a
reference cycle: the rules hold their socket weakly, and the end of a WebSocket is reported to the
library's handler as its own None rather than raised.

This module uses python-engineio's private names (the socket's `_websocket_handler`,
`_send_ping`, its queue, `poll` and request handlers); tests/test_library_drift.py names each.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_socket import AsyncSocket

from townhall.loglimit import LogLimiter, brief

log = logging.getLogger(__name__)
_limited = LogLimiter(log)

ENGINEIO_TYPES = frozenset(range(eio_packet.OPEN, eio_packet.NOOP + 1))


class SocketRules:
    """What Townhall holds python-engineio's own socket to, on the stock paths (long-polling and
    the WebSockets the lean path hands over): the protocol's rules for requests and packets.

    The socket stays the library's `AsyncSocket` (code and tests tell the paths apart by its
    type), so these methods are set on the instance, each calling the library's own.

    The rules hold their socket weakly: the socket holds the rules (through those bound
    methods), and a strong reference back would make every socket a reference cycle, freed only
    by a full collection. `townhall.collector` freezes what survives a young collection and runs
    a full one only when the forum is quiet, so under steady churn each closed connection's
    socket, queue and rules (about 5 KB) stayed in memory.
    """

    __slots__ = ("_socket", "client_closed", "getting", "pinger", "posting")
    METHODS = (
        "poll",
        "handle_get_request",
        "handle_post_request",
        "receive",
        "send",
        "close",
        "schedule_ping",
    )

    def __init__(self, socket: Any) -> None:
        self._socket = weakref.ref(socket)
        self.getting = False  # a long-polling GET under way
        self.posting = False  # and a POST
        self.client_closed = False  # the client sent CLOSE: its POST is answered "ok"
        self.pinger: asyncio.Task[None] | None = None  # waiting to send the next PING
        for name in self.METHODS:
            setattr(socket, name, getattr(self, name))
        socket._websocket_handler = self.websocket_handler

    @property
    def socket(self) -> Any:
        """The socket, alive while any of its methods runs (a method is called on it)."""
        socket = self._socket()
        if socket is None:  # only a method kept past its socket's life could see this
            raise eio_exceptions.SocketIsClosedError()
        return socket

    async def handle_get_request(self, environ: dict[str, Any]) -> Any:
        socket = self.socket
        connections = [s.strip() for s in environ.get("HTTP_CONNECTION", "").lower().split(",")]
        upgrade = environ.get("HTTP_UPGRADE", "").lower()
        if "upgrade" in connections and upgrade in socket.upgrade_protocols:
            return await AsyncSocket.handle_get_request(socket, environ)
        await self._admit(self.getting)
        self.getting = True
        try:
            return await AsyncSocket.handle_get_request(socket, environ)
        finally:
            self.getting = False

    async def poll(self) -> list[Any]:
        """The library's, without the task and the waiter `wait_for` makes for every wait, and
        without waiting at all when packets are queued already, as they mostly are when a
        long-polling phone comes back for more: what the socket is sent, in order, or [] once
        it has ended; QueueEmpty if nothing came within the ping interval and timeout."""
        socket = self.socket
        queue = socket.queue
        if queue.empty():
            server = socket.server
            try:
                async with asyncio.timeout(server.ping_interval + server.ping_timeout):
                    first = await queue.get()
            except (TimeoutError, asyncio.CancelledError):
                raise eio_exceptions.QueueEmpty() from None
        else:
            first = queue.get_nowait()
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)  # the end, for the next poll to see
                break
            packets.append(pkt)
        return packets

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        await self._admit(self.posting)
        self.posting = True
        try:
            await self._post(environ)
        finally:
            self.posting = False

    async def _admit(self, busy: bool) -> None:
        """Refuse (400, from the server) a long-polling request while another of its kind is under
        way, which also closes the session, or once the client has missed its ping deadline."""
        if busy:
            await self.drop("two concurrent long-polling requests of one kind")
            raise eio_exceptions.EngineIOError()
        socket = self.socket
        if not socket.upgraded and not await socket.check_ping_timeout():
            raise eio_exceptions.EngineIOError()

    async def _post(self, environ: dict[str, Any]) -> None:
        socket = self.socket
        length = int(environ.get("CONTENT_LENGTH") or "0")
        if length > socket.server.max_http_buffer_size:
            raise eio_exceptions.ContentTooLongError()
        body = await environ["wsgi.input"].read(length)
        try:
            packets = eio_payload.Payload(encoded_payload=body.decode("utf-8")).packets
        except Exception:
            await self.drop("a long-polling payload that is not Engine.IO", body)
            raise eio_exceptions.EngineIOError() from None
        for pkt in packets:
            if socket.closing or socket.closed:
                break
            await self.receive(pkt)
        if socket.closed and not self.client_closed:
            raise eio_exceptions.EngineIOError()  # 400: the server ended the session

    async def receive(self, pkt: Any) -> None:
        socket = self.socket
        if socket.closing or socket.closed:
            return
        if pkt.packet_type not in ENGINEIO_TYPES:
            await self.drop("an unknown Engine.IO packet type", pkt.packet_type)
            return
        await AsyncSocket.receive(socket, pkt)

    async def websocket_handler(self, ws: Any) -> None:
        await AsyncSocket._websocket_handler(self.socket, _CheckedWebSocket(ws, self))

    async def drop(self, why: str, what: Any = None) -> None:
        socket = self.socket
        shown = "" if what is None else " " + brief(what)
        _limited.info(socket.sid, why, "%s: closing on %s%s", socket.sid, why, shown)
        await self.close(wait=False, abort=False, reason=socket.server.reason.TRANSPORT_ERROR)

    async def send(self, pkt: Any) -> None:
        socket = self.socket
        if socket.closing and not socket.closed:
            # The CLOSE of a close under way: the library's send would drop it when the close is
            # for a missed ping, and the client would see the socket end without it.
            await socket.queue.put(pkt)
            return
        await AsyncSocket.send(socket, pkt)

    def schedule_ping(self) -> None:
        """The library's, keeping the task: it sleeps a ping interval (25 s) before it looks
        whether the socket has closed, and would hold a closed socket, its queue and all, that
        long; at a few thousand connections a minute that is tens of megabytes."""
        socket = self.socket
        if socket.last_ping:
            socket.last_ping = None
            self.pinger = socket.server.start_background_task(socket._send_ping)

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        socket = self.socket
        was_open = not (socket.closed or socket.closing)
        if was_open:
            self.client_closed = reason == socket.server.reason.CLIENT_DISCONNECT
        await AsyncSocket.close(socket, wait=wait, abort=abort, reason=reason)
        pinger, self.pinger = self.pinger, None
        if pinger is not None and pinger is not asyncio.current_task():
            pinger.cancel()
        if was_open:
            _limited.forget(socket.sid)
            if abort and not socket.upgraded:
                # A poll under way ends cleanly rather than waiting out its timeout.
                socket.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))
            # Ends the WebSocket writer, and with it the WebSocket, now rather than after its
            # next read times out; a poll takes what was queued before this and stops.
            socket.queue.put_nowait(None)


class _CheckedWebSocket:
    """python-engineio's WebSocket wrapper, reporting a message that is not an Engine.IO packet
    as the end of the connection (the library would raise out of its handler with a traceback).

    Once the WebSocket carries the session, the end of the connection (the library's wrapper
    raises OSError) and a message over the size limit (the library's reader raises ValueError)
    are reported as None, the library's own word for a closed connection, which it handles the
    same way (it stops reading and closes the socket as TRANSPORT_CLOSE). Raised, either would
    be kept in the task that waited for the message, which the handler's frame holds, which the
    exception's traceback holds: a reference cycle holding the whole connection, uvicorn's
    protocol and transport included, until a full collection (see `townhall.collector`).
    """

    def __init__(self, ws: Any, rules: SocketRules) -> None:
        self.ws, self.rules = ws, rules

    async def wait(self) -> Any:
        socket = self.rules.socket
        serving = socket.upgraded and not socket.upgrading  # not probing an upgrade
        try:
            data = await self.ws.wait()
        except OSError:
            if serving:
                return None
            raise
        if serving and data and len(data) > socket.server.max_http_buffer_size:
            return None
        if data is not None:
            try:
                eio_packet.Packet(encoded_packet=data)
            except Exception:
                await self.rules.drop("a WebSocket message that is not Engine.IO", data)
                return None
        return data

    async def send(self, message: Any) -> None:
        await self.ws.send(message)

    async def close(self) -> None:
        await self.ws.close()
