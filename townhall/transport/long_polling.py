"""Long-polling requests of an open session, answered without python-engineio's request dispatch.

A phone on long-polling sends a GET for every message it is sent (each tally, each ack) and a
POST for every message it sends: a thousand such phones make thousands of requests a second, and
each went through python-socketio's and python-engineio's ASGI app, their request handlers (the
query parsed again, the origin checked, the response built as a dict, its headers encoded, its
body sent chunked) before it reached the socket. `LongPolling`, in front of that app, takes the
plain case, a GET or POST of an open, connected, not upgraded session named by a plain query
string, to the socket's own request handlers (with Townhall's rules, socket_rules.py) at once,
and answers it as python-engineio would (the same status, body, content type, CORS headers and
compression), in a response with its length, so uvicorn writes no chunked encoding. Anything else
(a handshake, an unknown session, an upgrade, another method, a query the library should parse
itself) goes to the library's app as before. The guards in front of both (townhall/http_guard.py)
see every request alike.

This module uses python-engineio's private names (the server's `_bad_request`, `_ok`,
`_cors_allowed_origins` and `_cors_headers`, `_gzip` and `_deflate`; the socket's request
handlers); tests/test_library_drift.py names each.
"""

from __future__ import annotations

import logging
from typing import Any

from engineio import exceptions as eio_exceptions
from engineio.async_socket import AsyncSocket

from townhall.transport.asgi_environ import translate_request

log = logging.getLogger(__name__)

PATHS = frozenset(("/socket.io/", "/socket.io"))


def session_of(query: bytes) -> str | None:
    """The session a plain long-polling query names (`EIO=4&transport=polling&sid=…`, in any
    order, with others such as the client's cache-busting `t`), or None for anything else: a
    query that needs decoding, names a field twice, another transport or JSONP is the library's
    to read."""
    if not query or b"%" in query or b"+" in query:
        return None
    fields: dict[bytes, bytes] = {}
    for part in query.split(b"&"):
        name, equals, value = part.partition(b"=")
        if not equals or name in fields:
            return None
        fields[name] = value
    if fields.get(b"transport", b"polling") != b"polling" or b"j" in fields:
        return None
    sid = fields.get(b"sid")
    return sid.decode("latin-1") if sid else None


class LongPolling:
    """ASGI app: a plain long-polling request of an open session straight to its socket;
    everything else to `app` (python-socketio's ASGI app for the same Engine.IO server)."""

    def __init__(self, eio: Any, app: Any) -> None:
        self.eio = eio
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        socket = self._socket(scope)
        if socket is None:
            await self.app(scope, receive, send)
            return
        environ = await translate_request(scope, receive, send)
        await self._respond(await self._handle(socket, environ), environ, send)

    def _socket(self, scope: dict[str, Any]) -> Any:
        """The session's socket if this request is the plain case served here, else None."""
        if scope["type"] != "http" or scope["path"] not in PATHS:
            return None
        if scope["method"] not in ("GET", "POST") or "polling" not in self.eio.transports:
            return None
        if any(name == b"upgrade" for name, _ in scope["headers"]):
            return None  # a WebSocket upgrade asked of a plain request: the library answers
        sid = session_of(scope.get("query_string", b""))
        socket: Any = self.eio.sockets.get(sid) if sid is not None else None
        if type(socket) is not AsyncSocket or not socket.connected or socket.upgraded:
            return None
        return socket

    async def _handle(self, socket: Any, environ: dict[str, Any]) -> dict[str, Any]:
        """python-engineio's handling of a GET or POST of an open session, as a response."""
        eio = self.eio
        if eio.cors_allowed_origins != []:
            origin = environ.get("HTTP_ORIGIN")
            if origin:
                allowed = eio._cors_allowed_origins(environ)
                if allowed is not None and origin not in allowed:
                    refusal: dict[str, Any] = eio._bad_request(
                        f"{origin} is not an accepted origin."
                    )
                    return refusal
        sid = socket.sid
        getting = environ["REQUEST_METHOD"] == "GET"
        try:
            if getting:
                response: dict[str, Any] = eio._ok(await socket.handle_get_request(environ))
            else:
                await socket.handle_post_request(environ)
                response = eio._ok()
        except eio_exceptions.EngineIOError:
            if eio.sockets.get(sid) is socket:
                # The library's `disconnect` then waits for the client's next poll to take the
                # CLOSE: for ever if it never polls again, and this request (and the server's
                # shutdown) with it. A poll waiting now takes the CLOSE; the session goes at once.
                await socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
                if eio.sockets.get(sid) is socket:
                    del eio.sockets[sid]
            response = eio._bad_request()
        except Exception:
            # One log line, and the request answered (a POST as accepted, as the library does).
            log.exception("%s: long-polling request handler error", sid)
            response = eio._bad_request() if getting else eio._ok()
        if getting and socket.closed and eio.sockets.get(sid) is socket:
            del eio.sockets[sid]  # as the library forgets a session its poll found closed
        return response

    async def _respond(self, response: dict[str, Any], environ: dict[str, Any], send: Any) -> None:
        """Send `response` as python-engineio's ASGI driver would, with its length."""
        eio = self.eio
        body: bytes = response["response"]
        headers = response["headers"]
        if eio.http_compression and len(body) >= eio.compression_threshold:
            accepted = environ.get("HTTP_ACCEPT_ENCODING", "").split(",")
            for encoding in (e.split(";")[0].strip() for e in accepted):
                if encoding in eio.compression_methods:
                    body = getattr(eio, "_" + encoding)(body)
                    headers = [*headers, ("Content-Encoding", encoding)]
                    break
        encoded = [
            (name.encode(), value.encode())
            for name, value in (*headers, *eio._cors_headers(environ))
        ]
        encoded.append((b"content-length", str(len(body)).encode()))
        status = int(response["status"].split(" ", 1)[0])
        await send({"type": "http.response.start", "status": status, "headers": encoded})
        await send({"type": "http.response.body", "body": body})
