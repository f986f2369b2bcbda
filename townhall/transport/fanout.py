"""The fast broadcast path: a message encoded once, the same bytes handed to every connection.

python-socketio sends a broadcast through a task per recipient (and, on a WebSocket of its own, a
queue and a writer task), so telling 10,000 phones of a new tally costs 10,000 task switches.
Here a broadcast is encoded once (`Message`: a Socket.IO event inside an Engine.IO message) and
handed to each connection without a task: written with `transport.write` as one WebSocket text
frame to each connection on a WebSocket uvicorn serves (`Pipe`), or put as one shared Engine.IO
packet straight into the send queue of each of python-engineio's own sockets (`QueuePipe`: a
long-polling phone, whose next GET takes it, or one that upgraded from long-polling, whose
writer task takes it).

A broadcast to a large room is written a slice of connections at a time, the event loop let run
in between, so the votes that arrive while a hall of phones is told a tally are read and acked
within milliseconds rather than after the whole hall.

A connection joins once its Socket.IO connect reply has gone out, or into its queue (so no
broadcast can overtake it); until then broadcasts go the stock way. No connection joins a room
while a broadcast is part-way through it (one joining then would miss that broadcast both ways);
it joins on a later tick, and takes broadcasts the stock way until then.

A phone that is not taking what it is sent (a bad Wi-Fi link, a long-polling phone that stopped
polling) is not sent more: once its unsent bytes, or the packets waiting in its queue, pass a
limit, only the latest message of each kind is kept for it, and handed over when it has caught
up. So a slow phone costs a bounded amount of memory and always catches up to the newest tally,
never to a backlog of old ones.

This module uses python-engineio's socket's send queue (`queue`), as its own `send` does;
tests/test_library_drift.py names it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from engineio import packet as eio_packet

from townhall import wire_json
from townhall.transport.lean_frames import text_frame

# Unsent bytes a connection may have before it is sent only the latest of each message kind.
BUFFER_LIMIT = 64 * 1024
# Connections written to before the event loop is let run (votes read, acks written) in a
# broadcast to a large room: about 5 ms of writes, so a hall's tally does not hold up its votes.
SLICE = 500
# Packets waiting in a queued socket's queue before it is sent only the latest of each kind. A
# long-polling phone takes its whole queue with each GET, a second or two of messages at most
# (a tally, a state, an ack or two); far more is a phone that has stopped asking.
QUEUE_LIMIT = 32


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...


class QueuedSocket(Protocol):
    """python-engineio's own socket, as far as the fanout uses it: its send queue (packets, or
    None to end it) and whether it is closing."""

    queue: asyncio.Queue[Any]
    closing: bool
    closed: bool


def transport_of(environ: dict[str, Any]) -> Transport | None:
    """The socket under a WebSocket connection served by uvicorn, or None if there is none to
    write to directly (long-polling, or a server that does not expose it)."""
    lean = environ.get("townhall.transport")  # set by townhall.transport.lean_websocket
    if lean is not None:
        return lean  # type: ignore[no-any-return]
    scope = environ.get("asgi.scope")
    if not isinstance(scope, dict) or scope.get("type") != "websocket":
        return None
    # uvicorn's `send` is a method of its WebSocket protocol object, which holds the transport.
    protocol = getattr(environ.get("asgi.send"), "__self__", None)
    transport = getattr(protocol, "transport", None)
    if transport is None or not all(
        callable(getattr(transport, name, None))
        for name in ("write", "is_closing", "get_write_buffer_size")
    ):
        return None
    return transport  # type: ignore[no-any-return]


class Message:
    """One broadcast, encoded once: a Socket.IO EVENT on the default namespace, as a WebSocket
    frame for the sockets written to directly and as an Engine.IO packet for queued sockets,
    each made the first time it is asked for."""

    __slots__ = ("_frame", "_packet", "text")

    def __init__(self, event: str, data: Any) -> None:
        self.text = "2" + wire_json.dumps([event, data])  # as python-socketio encodes it
        self._frame: bytes | None = None
        self._packet: Any = None

    @property
    def frame(self) -> bytes:
        """The event in an Engine.IO MESSAGE (`4`) in one unmasked WebSocket text frame."""
        if self._frame is None:
            self._frame = text_frame(b"4" + self.text.encode())
        return self._frame

    @property
    def packet(self) -> Any:
        """The event as an Engine.IO MESSAGE packet, encoded already: the packet keeps its
        encoding, so every long-polling response that carries it reuses it."""
        if self._packet is None:
            self._packet = eio_packet.Packet(eio_packet.MESSAGE, self.text)
            self._packet.encode()
        return self._packet


def event_frame(event: str, data: Any) -> bytes:
    """A Socket.IO EVENT on the default namespace (`2`), in an Engine.IO MESSAGE (`4`), in one
    unmasked WebSocket text frame, as a server sends it."""
    return Message(event, data).frame


class Pipe:
    """One connection's socket, written to directly, and what it is owed while it is not
    draining."""

    __slots__ = ("limit", "owed", "transport")

    def __init__(self, transport: Transport, limit: int = BUFFER_LIMIT) -> None:
        self.transport = transport
        self.limit = limit  # unsent bytes
        self.owed: dict[Hashable, bytes] | None = None

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def send(self, key: Hashable, message: Message) -> bool:
        """Write `message` now, or keep it as the latest of its kind; False if nothing was kept."""
        if self.owed is None and self.transport.get_write_buffer_size() <= self.limit:
            self.transport.write(message.frame)
            return True
        if self.owed is None:
            self.owed = {}
        self.owed[key] = message.frame  # replaces an older message of the same kind
        return False

    def settle(self) -> bool:
        """Write what is owed if the socket has drained; True once nothing is owed."""
        if self.owed is None:
            return True
        if self.transport.get_write_buffer_size() > self.limit:
            return False
        for frame in self.owed.values():
            self.transport.write(frame)
        self.owed = None
        return True


class QueuePipe:
    """One of python-engineio's own sockets, whose send queue the fanout puts packets in, and
    what it is owed while its queue is not being taken."""

    __slots__ = ("limit", "owed", "socket")

    def __init__(self, socket: QueuedSocket, limit: int = QUEUE_LIMIT) -> None:
        self.socket = socket
        self.limit = limit  # packets waiting
        self.owed: dict[Hashable, Any] | None = None

    def is_closing(self) -> bool:
        socket = self.socket
        return socket.closing or socket.closed

    def send(self, key: Hashable, message: Message) -> bool:
        """Queue `message` now, or keep it as the latest of its kind; False if nothing was kept."""
        if self.is_closing():
            return True  # a socket on its way out is sent nothing more (the library's own rule)
        queue = self.socket.queue
        if self.owed is None and queue.qsize() <= self.limit:
            queue.put_nowait(message.packet)
            return True
        if self.owed is None:
            self.owed = {}
        self.owed[key] = message.packet
        return False

    def settle(self) -> bool:
        """Queue what is owed once the queue has been taken; True once nothing is owed."""
        if self.owed is None or self.is_closing():
            self.owed = None
            return True
        queue = self.socket.queue
        if queue.qsize() > self.limit:
            return False
        for packet in self.owed.values():
            queue.put_nowait(packet)
        self.owed = None
        return True


@dataclass(slots=True)
class _Joining:
    room: Hashable
    pipe: Pipe | QueuePipe
    sent: Callable[[], bool]
    seen_empty: bool = False


class Fanout:
    """Every fast connection by room (a forum's role); `send` frames a message once and writes
    it to all of a room's members."""

    def __init__(self, buffer_limit: int = BUFFER_LIMIT, queue_limit: int = QUEUE_LIMIT) -> None:
        self.buffer_limit = buffer_limit  # for each Pipe
        self.queue_limit = queue_limit  # for each QueuePipe
        self.members: dict[Hashable, dict[str, Pipe | QueuePipe]] = {}
        self._rooms: dict[str, Hashable] = {}
        # Connections whose connect reply may still be queued, with a check that says it's out.
        self._joining: dict[str, _Joining] = {}
        self._owing: dict[str, Pipe | QueuePipe] = {}
        self._sending: Counter[Hashable] = Counter()  # rooms with a broadcast part-way
        self._left = 0  # connections that have left, ever: a broadcast part-way looks for them

    def join(
        self, sid: str, room: Hashable, pipe: Pipe | QueuePipe, sent: Callable[[], bool]
    ) -> None:
        """Add a connection once `sent()` has said, at two calls of `admit` in a row, that its
        connect reply can no longer be overtaken (it has been taken to be written, or it is in
        the queue the fanout puts in)."""
        self._joining[sid] = _Joining(room, pipe, sent)

    def leave(self, sid: str) -> None:
        self._left += 1
        self._joining.pop(sid, None)
        self._owing.pop(sid, None)
        room = self._rooms.pop(sid, None)
        if room is not None:
            members = self.members[room]
            members.pop(sid, None)
            if not members:
                del self.members[room]

    def admit(self) -> list[tuple[str, Hashable]]:
        """Move connections whose connect reply is out into their room; returns them.

        Called once a tick. The stock path's writer takes a message off the queue a step before
        it writes it, so an empty queue must be seen twice, a tick apart, to be sure. No one is
        admitted to a room while a broadcast is part-way through it (they wait for a later call)."""
        admitted: list[tuple[str, Hashable]] = []
        for sid, joining in list(self._joining.items()):
            if joining.pipe.is_closing():
                del self._joining[sid]
            elif not joining.sent():
                joining.seen_empty = False
            elif not joining.seen_empty:
                joining.seen_empty = True
            elif joining.room in self._sending:
                continue  # its room is part-way through a broadcast: on a later call
            else:
                del self._joining[sid]
                self.members.setdefault(joining.room, {})[sid] = joining.pipe
                self._rooms[sid] = joining.room
                admitted.append((sid, joining.room))
        return admitted

    @property
    def joining(self) -> int:
        return len(self._joining)

    async def send(self, room: Hashable, key: Hashable, message: Message) -> None:
        """Hand `message` to every member of `room`; a slow one keeps only the latest per `key`.
        A room larger than a slice is written a slice at a time, the event loop let run between."""
        members = self.members.get(room, {})
        if len(members) <= SLICE:
            self._send(members.items(), key, message)
            return
        everyone = list(members.items())  # connections may leave while the loop runs
        left = self._left
        self._sending[room] += 1
        try:
            for start in range(0, len(everyone), SLICE):
                part = everyone[start : start + SLICE]
                if start:
                    await asyncio.sleep(0)
                    if self._left != left:  # someone left: only those still here
                        part = [(sid, pipe) for sid, pipe in part if sid in members]
                self._send(part, key, message)
        finally:
            self._sending[room] -= 1
            if not self._sending[room]:
                del self._sending[room]

    def _send(
        self, members: Iterable[tuple[str, Pipe | QueuePipe]], key: Hashable, message: Message
    ) -> None:
        for sid, pipe in members:
            if not pipe.send(key, message):
                self._owing[sid] = pipe

    def settle(self) -> None:
        """Hand slow connections what they are owed, for those that have caught up since."""
        for sid, pipe in list(self._owing.items()):
            if pipe.is_closing() or pipe.settle():
                del self._owing[sid]

    @property
    def owing(self) -> int:
        return len(self._owing)

    def count(self, room: Hashable) -> int:
        members = self.members.get(room)
        return len(members) if members is not None else 0
