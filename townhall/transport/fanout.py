"""The fast broadcast path: a message framed once, the same bytes written to every connection.

python-socketio sends a broadcast through a queue and a writer task per recipient, so telling
10,000 phones of a new tally costs 10,000 task switches and as many encodings. Here a broadcast
is encoded and framed once (a Socket.IO event inside an Engine.IO message inside one WebSocket
text frame) and written with `transport.write` to each connection's socket: no task, no queue, no
copy per recipient.

A connection joins once its Socket.IO connect reply has gone out (so no broadcast can overtake
it); until then, and for connections not on a WebSocket of their own (long-polling), broadcasts
go the stock way. A phone whose socket is not draining (a bad Wi-Fi link) is not sent more:
once its unsent bytes pass a limit, only the latest message of each kind is kept for it, and
written when the socket has drained. So a slow phone costs a bounded amount of memory and
always catches up to the newest tally, never to a backlog of old ones.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from townhall import wire_json

# Unsent bytes a connection may have before it is sent only the latest of each message kind.
BUFFER_LIMIT = 64 * 1024


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def is_closing(self) -> bool: ...
    def get_write_buffer_size(self) -> int: ...


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


def event_frame(event: str, data: Any) -> bytes:
    """A Socket.IO EVENT on the default namespace (`2`), in an Engine.IO MESSAGE (`4`), in one
    unmasked WebSocket text frame, as a server sends it."""
    payload = b"42" + wire_json.dumps([event, data]).encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class Pipe:
    """One connection's socket, and what it is owed while it is not draining."""

    __slots__ = ("owed", "transport")

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.owed: dict[Hashable, bytes] | None = None

    def send(self, key: Hashable, frame: bytes, limit: int) -> bool:
        """Write `frame` now, or keep it as the latest of its kind; False if nothing was kept."""
        if self.owed is None and self.transport.get_write_buffer_size() <= limit:
            self.transport.write(frame)
            return True
        if self.owed is None:
            self.owed = {}
        self.owed[key] = frame  # replaces an older message of the same kind
        return False

    def settle(self, limit: int) -> bool:
        """Write what is owed if the socket has drained; True once nothing is owed."""
        if self.owed is None:
            return True
        if self.transport.get_write_buffer_size() > limit:
            return False
        for frame in self.owed.values():
            self.transport.write(frame)
        self.owed = None
        return True


@dataclass(slots=True)
class _Joining:
    room: Hashable
    pipe: Pipe
    sent: Callable[[], bool]
    seen_empty: bool = False


class Fanout:
    """Every fast connection by room (a forum's role); `send` frames a message once and writes
    it to all of a room's members."""

    def __init__(self, buffer_limit: int = BUFFER_LIMIT) -> None:
        self.buffer_limit = buffer_limit
        self.members: dict[Hashable, dict[str, Pipe]] = {}
        self._rooms: dict[str, Hashable] = {}
        # Connections whose connect reply may still be queued, with a check that says it's out.
        self._joining: dict[str, _Joining] = {}
        self._owing: dict[str, Pipe] = {}

    def join(
        self, sid: str, room: Hashable, transport: Transport, sent: Callable[[], bool]
    ) -> None:
        """Add a connection once `sent()` has said, at two calls of `admit` in a row, that
        everything queued for it (its connect reply first) has been taken to be written."""
        self._joining[sid] = _Joining(room, Pipe(transport), sent)

    def leave(self, sid: str) -> None:
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
        it writes it, so an empty queue must be seen twice, a tick apart, to be sure."""
        admitted = []
        for sid, joining in list(self._joining.items()):
            if joining.pipe.transport.is_closing():
                del self._joining[sid]
            elif not joining.sent():
                joining.seen_empty = False
            elif not joining.seen_empty:
                joining.seen_empty = True
            else:
                del self._joining[sid]
                self.members.setdefault(joining.room, {})[sid] = joining.pipe
                self._rooms[sid] = joining.room
                admitted.append((sid, joining.room))
        return admitted

    @property
    def joining(self) -> int:
        return len(self._joining)

    def send(self, room: Hashable, key: Hashable, frame: bytes) -> None:
        """Write `frame` to every member of `room`; a slow one keeps only the latest per `key`."""
        limit = self.buffer_limit
        for sid, pipe in self.members.get(room, {}).items():
            if not pipe.send(key, frame, limit):
                self._owing[sid] = pipe

    def settle(self) -> None:
        """Write what slow connections are owed, for those that have drained since."""
        limit = self.buffer_limit
        for sid, pipe in list(self._owing.items()):
            if pipe.transport.is_closing() or pipe.settle(limit):
                del self._owing[sid]

    @property
    def owing(self) -> int:
        return len(self._owing)

    def count(self, room: Hashable) -> int:
        members = self.members.get(room)
        return len(members) if members is not None else 0
