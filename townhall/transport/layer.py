"""The transport as the rest of Townhall sees it: one object the app, the hub and the broadcaster
talk to, so that nothing outside townhall/transport/ reaches into the Socket.IO stack.

It holds python-socketio's server (Townhall's `SocketIOServer`), the lean WebSocket endpoint if
it is on, and the fanout if it is on; whether either is on is decided here, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import socketio
from engineio.async_socket import AsyncSocket

from townhall import wire_json
from townhall.config import Settings
from townhall.http_guard import MAX_HEADER_BYTES
from townhall.model.commands import Role
from townhall.transport.fanout import Fanout, Message, Pipe, QueuePipe, transport_of
from townhall.transport.lean_events import Shortcut
from townhall.transport.lean_socket import STATE_KEY, Endpoint
from townhall.transport.long_polling import LongPolling
from townhall.transport.servers import SocketIOServer

NAMESPACE = "/"
# Engine.IO drops a connection whose single message exceeds this; handlers refuse far smaller.
MAX_MESSAGE_BYTES = 16 * 1024


class SocketLayer:
    """One worker's Socket.IO server, its WebSocket endpoint and its fanout."""

    def __init__(self, settings: Settings, transports: list[str]) -> None:
        self.sio = SocketIOServer(
            connect_timeout=settings.connect_timeout_ms / 1000,
            async_mode="asgi",
            max_http_buffer_size=MAX_MESSAGE_BYTES,
            transports=transports,
            json=wire_json,
            # A connection's messages are handled in order, in its own reader, rather than in a
            # new task each: a task per vote costs more than the vote, and the phone waits for
            # each ack anyway. `message_size` relies on it too.
            async_handlers=False,
            logger=False,
            engineio_logger=False,
        )
        # Serves plain Engine.IO WebSockets; None: all go the stock way.
        self.endpoint = (
            Endpoint(self.sio.eio, max_header_bytes=MAX_HEADER_BYTES, shortcut=Shortcut(self.sio))
            if settings.lean_websocket
            else None
        )
        # Broadcasts encoded once and handed to every socket; None: python-socketio's rooms only.
        self.fanout = Fanout() if settings.fast_broadcast else None
        self._admit_interval = settings.tick_ms / 1000 * 0.9
        self._admitted_at = -1e9

    # the app

    def serve(
        self, namespace: socketio.AsyncNamespace, inline: Callable[[str], bool] | None = None
    ) -> None:
        """Hand every connection's events to `namespace` (the forums' dispatcher). `inline`
        says whether a connection's handlers may run without a task of their own (only code
        that never asks for its task: see lean_events.drive)."""
        self.sio.register_namespace(namespace)
        if self.endpoint is not None and self.endpoint.shortcut is not None and inline:
            self.endpoint.shortcut.inline = inline

    def asgi(self, other: Any) -> Any:
        """The ASGI app: the Socket.IO endpoint (an open long-polling session's requests
        straight to its socket), and `other` for every other path."""
        return LongPolling(self.sio.eio, socketio.ASGIApp(self.sio, other_asgi_app=other))

    def start(self) -> dict[str, Any]:
        """Start pinging; returns the lifespan state uvicorn hands its WebSocket protocol
        (`EngineIOWebSocket`), which serves plain Engine.IO WebSockets when it finds the endpoint
        there."""
        if self.endpoint is None:
            return {}
        self.endpoint.start()
        return {STATE_KEY: self.endpoint}

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()

    def handshake_cookies(self, eio_sid: str) -> str | None:
        """The Cookie header an Engine.IO session's handshake carried ("" if none); None if there
        is no such session."""
        environ = self.sio.environ.get(eio_sid)
        return environ.get("HTTP_COOKIE", "") if environ else None

    # the hub

    def is_connected(self, sid: str) -> bool:
        """Whether `sid` is connected and not on its way out."""
        return bool(self.sio.manager.is_connected(sid, NAMESPACE))

    def message_size(self) -> int:
        """The size in UTF-8 bytes of the Socket.IO packet being handled, as the client sent it.

        Handlers run right after their message is read (`async_handlers=False`), so this is the
        message of the event the hub is handling, until its handler first awaits."""
        return self.sio.message_size

    def channel(self, forum: str) -> Channel:
        """What one forum's hub and broadcaster use: its rooms, one per role, apart from every
        other forum's on this server."""
        return Channel(self, forum)

    def leave(self, sid: str) -> None:
        if self.fanout is not None:
            self.fanout.leave(sid)

    # the broadcaster

    async def admit(self) -> bool:
        """Connections whose connect reply is out take broadcasts from the fanout from now on;
        True if some are still to be looked at on a later tick."""
        if self.fanout is None:
            return False
        # Every forum's broadcaster calls this each tick; the fanout's admission must see an
        # empty queue twice about a tick apart, so calls in between only say whether to call again.
        now = time.monotonic()
        if now - self._admitted_at < self._admit_interval:
            return bool(self.fanout.joining or self.fanout.owing)
        self._admitted_at = now
        self.fanout.settle()
        for sid, room in self.fanout.admit():
            await self.sio.leave_room(sid, room_name(room), namespace=NAMESPACE)
        return bool(self.fanout.joining or self.fanout.owing)


Room = tuple[str, Role]  # a forum's connections of one role


def room_name(room: Hashable) -> str:
    """python-socketio's name for a room (a forum and a role): the forum, then the role."""
    assert isinstance(room, tuple)
    return f"{room[0]}/{room[1]}"


class Channel:
    """One forum's view of the transport: the hub joins its connections to the forum's rooms,
    the broadcaster sends to them; no message reaches another forum's connections."""

    def __init__(self, layer: SocketLayer, forum: str) -> None:
        self.layer = layer
        self.forum = forum
        self._rooms: dict[Role, Room] = {role: (forum, role) for role in Role}
        self._names = {role: room_name(room) for role, room in self._rooms.items()}

    def is_connected(self, sid: str) -> bool:
        return self.layer.is_connected(sid)

    def message_size(self) -> int:
        return self.layer.message_size()

    async def join(self, sid: str, role: Role, environ: dict[str, Any]) -> None:
        """Broadcasts to the forum's `role` reach this connection: by python-socketio's room at
        once, and by the fanout once its connect reply is out (see `admit`)."""
        layer = self.layer
        sio = layer.sio
        await sio.enter_room(sid, self._names[role], namespace=NAMESPACE)
        fanout = layer.fanout
        if fanout is None:
            return
        transport = transport_of(environ)
        eio = sio.eio.sockets.get(sio.manager.eio_sid_from_sid(sid, NAMESPACE))
        room = self._rooms[role]
        if eio is None:
            return
        if transport is not None:
            # Written to directly: once the socket's queue, the connect reply in it, is taken.
            fanout.join(sid, room, Pipe(transport, fanout.buffer_limit), eio.queue.empty)
        elif type(eio) is AsyncSocket:
            # python-engineio's own socket (long-polling, or upgraded from it): the fanout puts
            # in its queue, behind the connect reply once that is queued (connected).
            pipe = QueuePipe(eio, fanout.queue_limit)
            fanout.join(sid, room, pipe, lambda: layer.is_connected(sid))

    def leave(self, sid: str) -> None:
        self.layer.leave(sid)

    async def disconnect(self, sid: str) -> None:
        """Close a connection from the server's side."""
        await self.layer.sio.disconnect(sid, namespace=NAMESPACE)

    async def admit(self) -> bool:
        return await self.layer.admit()

    def count(self, role: Role) -> int:
        """The forum's connections of `role` on the fanout (the rest are still joining)."""
        fanout = self.layer.fanout
        return fanout.count(self._rooms[role]) if fanout is not None else 0

    async def send(
        self,
        event: str,
        data: dict[str, Any],
        role: Role,
        key: Hashable = None,
        message: Message | None = None,
    ) -> Message | None:
        """Send to every connection of the forum's `role`; returns the message encoded, to reuse
        for another role that is sent the same `data`.

        `key` names the kind of message: a connection that is not taking what it is sent keeps
        only the latest of each kind."""
        fanout = self.layer.fanout
        room = self._rooms[role]
        if fanout is not None and fanout.count(room):
            message = message or Message(event, data)
            await fanout.send(room, key if key is not None else event, message)
        sio = self.layer.sio
        name = self._names[role]
        if sio.manager.rooms.get(NAMESPACE, {}).get(name):
            await sio.emit(event, data, to=name)
        return message
