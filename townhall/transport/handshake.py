"""The lean WebSocket's handshake: the request head read as python-engineio's ASGI driver would
read it, and the environ a connection keeps of it."""

from __future__ import annotations

import urllib.parse
from typing import Any

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


# What a connection keeps of its environ: the handlers read the cookie, nothing else.
KEPT = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_COOKIE")


def slim(environ: dict[str, Any]) -> dict[str, Any]:
    return {key: environ[key] for key in KEPT if key in environ}
