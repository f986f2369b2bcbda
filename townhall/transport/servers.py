"""Townhall's Socket.IO and Engine.IO servers: python-socketio's, held to the published protocols
and refusing what Townhall never uses.

This module is the one place that reaches into python-socketio's and python-engineio's private
names (`_handle_eio_message`, `_handle_connect`, `_trigger_event`, `_bad_request`, the socket's
queue and request handlers, …) for these fixes; pin the libraries' versions and rerun
tests/test_conformance.py on any upgrade.

- Binary is off: a BINARY_EVENT or BINARY_ACK packet, or any binary Engine.IO message (WebSocket
  frame or long-polling `b…` packet), ends the connection at once. Townhall never sends or expects
  binary, and the library would otherwise hold every announced attachment until disconnect.
- A malformed Socket.IO packet (undecodable, an unknown type, an EVENT whose payload is not a
  non-empty array led by a name, an ACK without an id or an array) ends the connection, as the
  protocol asks, with one short line in the log instead of the library's tracebacks.
- A client that opens Engine.IO but connects no namespace within the connect timeout is closed.
- Long-polling answers as the Engine.IO protocol says: 400 for a bad request, an unknown session
  or a method other than GET and POST; a payload that is not Engine.IO, a second concurrent GET or
  POST, or a request after the ping timeout has passed close the session.
- Nothing of a closed connection is left in a reference cycle (townhall.collector freezes what
  lives past half a second and collects cycles only when the forum is quiet): the rules hold their
  socket weakly, the end of a WebSocket is reported to the library's handler as its own None
  rather than raised, and the ASGI environ is built without the class the library makes for
  every request (`translate_request`).

The lean WebSocket path (townhall/transport/lean_websocket.py) hands its messages to the same
`_handle_eio_message`, so the Socket.IO rules above hold there too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import urllib.parse
import weakref
from typing import Any

import engineio
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers.asgi import translate_request as _asgi_translate
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from townhall.loglimit import LogLimiter, brief

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0  # from the Engine.IO handshake to the Socket.IO CONNECT
ENGINEIO_TYPES = frozenset(range(eio_packet.OPEN, eio_packet.NOOP + 1))

_limited = LogLimiter(log)


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


class _RequestBody:
    """An ASGI request's body as python-engineio's `wsgi.input` reads it: the library's own
    `AwaitablePayload`, at module level (see `translate_request`)."""

    __slots__ = ("event", "payload", "receive")

    def __init__(self, event: dict[str, Any], receive: Any) -> None:
        self.event = event
        self.receive = receive
        self.payload: bytes | None = None

    async def read(self, length: int | None = None) -> bytes:
        if self.payload is None and self.event["type"] == "http.request":
            self.payload = self.event.get("body") or b""
            while self.event.get("more_body"):
                self.event = await self.receive()
                if self.event["type"] == "http.request" and (
                    length is None or len(self.payload) < length
                ):
                    self.payload += self.event.get("body") or b""
        payload = self.payload or b""
        if length is None:
            self.payload = b""
            return payload
        self.payload = payload[length:]
        return payload[:length]


async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
    """python-engineio's ASGI `translate_request`, building the same environ, without the class
    the library defines inside it for each request.

    A class is always a reference cycle, and that one's methods hold the request's `receive`,
    and through it uvicorn's protocol object, its transport and parsers: everything of the
    connection, kept until a full collection, which `townhall.collector` runs only when the forum
    is quiet (each WebSocket and each long-polling request that outlived a freeze, 5 KB or so).
    """
    event = await receive()
    if event["type"] not in ("http.request", "websocket.connect"):
        return {}
    raw_uri = scope["path"]
    query_string = ""
    if scope.get("query_string"):
        try:
            query_string = scope["query_string"].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raw_uri += "?" + query_string
    environ: dict[str, Any] = {
        "wsgi.input": _RequestBody(event, receive),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "asgi",
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": query_string,
        "RAW_URI": raw_uri,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "asgi",
        "SERVER_PORT": "0",
        "asgi.receive": receive,
        "asgi.send": send,
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope["headers"]:
        try:
            name = raw_name.upper().decode("utf-8")
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # as the library does: a header that is not UTF-8 is skipped
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = "HTTP_" + name.replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    return environ


class EngineIOServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server with the protocol's status codes and Townhall's sockets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        drivers: dict[str, Any] | None = getattr(self, "_async", None)
        if drivers is not None and drivers.get("translate_request") is _asgi_translate:
            # The drivers' table is the library's, shared: this server gets its own copy.
            self._async = {**drivers, "translate_request": translate_request}

    def _ok(self, packets: Any = None, headers: Any = None, jsonp_index: Any = None) -> Any:
        response = super()._ok(packets, headers=headers, jsonp_index=jsonp_index)
        if packets is None:
            response["response"] = b"ok"  # the protocol's word for an accepted POST
        return response

    def _method_not_found(self) -> dict[str, Any]:
        refusal: dict[str, Any] = self._bad_request("Method not allowed")
        return refusal  # the protocol's 400, not the library's 405

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        # The library takes a missing transport for polling; the protocol says it is mandatory.
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if query.get("transport") != [transport]:
            return self._bad_request("Invalid transport")
        return await super()._handle_connect(environ, transport, jsonp_index)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect":
            # The library makes its own sockets; this one, just made, has handled nothing yet.
            socket = self.sockets.get(args[0])
            if type(socket) is AsyncSocket:
                SocketRules(socket)
        return await super()._trigger_event(event, *args, **kwargs)


class SocketIOServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, refusing binary and malformed packets and a client that never
    connects a namespace."""

    def __init__(self, *args: Any, connect_timeout: float = CONNECT_TIMEOUT_S, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.connect_timeout = connect_timeout
        self._deadlines: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def _engineio_server_class(self) -> type[EngineIOServer]:
        return EngineIOServer

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        ret = await super()._handle_eio_connect(eio_sid, environ)
        self._deadlines[eio_sid] = asyncio.get_running_loop().call_later(
            self.connect_timeout, self._connect_timed_out, eio_sid
        )
        return ret

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        deadline = self._deadlines.pop(eio_sid, None)
        if deadline is not None:
            deadline.cancel()
        _limited.forget(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """One Engine.IO message: a Socket.IO packet Townhall takes, or the end of the
        connection. Nothing is kept between messages, so nothing can pile up."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return  # what arrives after the close was decided is not handled
        if not isinstance(data, str):
            await self._drop(eio_sid, "binary", f"a binary message of {len(data)} bytes")
            return
        if data[:1] in ("5", "6"):
            await self._drop(eio_sid, "binary", f"a binary Socket.IO packet {brief(data)}")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception:  # whatever the decoder trips on, the packet is malformed
            pkt = None
        kind = pkt.packet_type if pkt is not None else None
        if kind == sio_packet.CONNECT:  # any payload: the hub refuses what is not its auth
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == sio_packet.EVENT and _is_event(pkt.data):
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == sio_packet.ACK and pkt.id is not None and isinstance(pkt.data, list):
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._drop(eio_sid, "malformed", f"a malformed Socket.IO packet {brief(data)}")

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        if namespace not in self.namespace_handlers and namespace not in self.handlers:
            # The protocol's CONNECT_ERROR carries an object with a message.
            refusal = {"message": "Invalid namespace"}
            error = self.packet_class(sio_packet.CONNECT_ERROR, refusal, namespace=namespace)
            await self._send_packet(eio_sid, error)
            return
        await super()._handle_connect(eio_sid, namespace, data)
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
            deadline = self._deadlines.pop(eio_sid, None)
            if deadline is not None:
                deadline.cancel()

    def _connect_timed_out(self, eio_sid: str) -> None:
        self._deadlines.pop(eio_sid, None)
        task = asyncio.get_running_loop().create_task(
            self._drop(eio_sid, "connect_timeout", "no Socket.IO CONNECT in time")
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _drop(self, eio_sid: str, kind: str, why: str) -> None:
        """End a connection: one short line in the log at most, then Engine.IO's CLOSE."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return
        _limited.info(eio_sid, kind, "%s: closing on %s", eio_sid, why)
        await socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)


def _is_event(data: Any) -> bool:
    # A name that is not a string is the hub's to refuse, with an ack the client can read.
    return isinstance(data, list) and bool(data)
