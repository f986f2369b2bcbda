"""Townhall's Socket.IO and Engine.IO servers: python-socketio's, held to the published protocols
and refusing what Townhall never uses.

This module and its neighbours in townhall/transport/ are the one place that reaches into
python-socketio's and python-engineio's private names (`_handle_eio_message`, `_handle_connect`,
`_trigger_event`, `_bad_request`, the socket's queue and request handlers, …) for these fixes;
pin the libraries' versions and rerun tests/test_conformance.py on any upgrade.

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

The rules for python-engineio's own socket are in socket_rules.py, the ASGI environ in
asgi_environ.py; the servers here put them in place.

The lean WebSocket path (townhall/transport/lean_websocket.py) hands its messages to the same
`_handle_eio_message`, so the Socket.IO rules above hold there too.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

import engineio
import socketio
from engineio.async_drivers.asgi import translate_request as _asgi_translate
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from townhall.loglimit import LogLimiter, brief
from townhall.transport.asgi_environ import translate_request
from townhall.transport.socket_rules import SocketRules

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0  # from the Engine.IO handshake to the Socket.IO CONNECT

_limited = LogLimiter(log)


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
        # The size of the EVENT being handled, as sent; see `SocketLayer.message_size`.
        self.message_size = 0

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
            # Measured here, where the client's text is at hand, rather than encoded again.
            self.message_size = (
                len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
            )
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
