"""The lean WebSocket's handshake: the request head read as python-engineio's ASGI driver would
read it, and the environ a connection keeps of it."""

from __future__ import annotations

import urllib.parse
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from wsproto.utilities import generate_accept_token


def read_head(request: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """A request head's first line, split at its spaces, and its headers, names in lower case."""
    lines = request.split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return lines[0].split(b" "), headers


def switching_protocols(key: bytes, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The handshake's answer: the WebSocket accepted, with uvicorn's default headers."""
    response = [
        b"HTTP/1.1 101 Switching Protocols\r\n",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
        b"Sec-WebSocket-Accept: " + generate_accept_token(key) + b"\r\n",
    ]
    for name, value in default_headers:
        response += [name, b": ", value, b"\r\n"]
    response.append(b"\r\n")
    return b"".join(response)


def environ_of(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
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


def client_host(config: Any, peer: Any, headers: list[tuple[bytes, bytes]]) -> str:
    """The client's address, as uvicorn gives it to the ASGI app on every other path: the
    peer's, or the one `X-Forwarded-For` names when the peer is a proxy uvicorn trusts
    (`FORWARDED_ALLOW_IPS`, 127.0.0.1 and ::1 by default); "" if there is none (a Unix socket).

    The handshake never reaches the app, so uvicorn's own middleware is run on it here. It
    awaits nothing but the app, which only notes the scope, so it runs to its end at once."""
    if not isinstance(peer, tuple) or not peer:
        return ""
    scope: dict[str, Any] = {"type": "websocket", "client": tuple(peer[:2]), "headers": headers}
    if getattr(config, "proxy_headers", False):
        middleware: Any = ProxyHeadersMiddleware(_noted, config.forwarded_allow_ips)
        step = middleware(scope, None, None)
        try:
            step.send(None)
        except StopIteration:
            pass
        else:  # pragma: no cover - the middleware awaits nothing else
            step.close()
    client = scope.get("client")
    return str(client[0]) if client else ""


async def _noted(scope: Any, receive: Any, send: Any) -> None:
    """The app `client_host` runs the middleware on: the scope, changed in place, is all."""


# What a connection keeps of its environ: the handlers read the cookie and the client's
# address (whose ballot-code tries a `redeem` spends), nothing else.
KEPT = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_COOKIE", "REMOTE_ADDR")


def slim(environ: dict[str, Any]) -> dict[str, Any]:
    return {key: environ[key] for key in KEPT if key in environ}
