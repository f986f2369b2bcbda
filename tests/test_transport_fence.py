"""The transport is fenced: outside townhall/transport/, no module imports python-engineio,
wsproto, uvicorn's protocols or python-socketio's submodules, or reaches into the Socket.IO
stack's objects (their server, manager, socket tables, environs) or anyone's private names. The
hub, the broadcaster and the app go through `townhall.transport.layer.SocketLayer`."""

from __future__ import annotations

import ast
from pathlib import Path

TOWNHALL = Path(__file__).resolve().parent.parent / "townhall"
TRANSPORT = TOWNHALL / "transport"

FENCED_MODULES = ("engineio", "wsproto", "uvicorn.protocols")
# Attributes of python-socketio's and python-engineio's objects that only the transport reads:
# a namespace's server, the server's Engine.IO server, client manager, rooms, sockets and
# environs, and a socket's send queue.
FENCED_ATTRIBUTES = frozenset(
    {
        "server",
        "eio",
        "manager",
        "rooms",
        "sockets",
        "environ",
        "queue",
        "eio_sid_from_sid",
        "sid_from_eio_sid",
        "namespace_handlers",
    }
)
# Underscore names that are public by convention (named tuples').
PUBLIC_UNDERSCORED = frozenset({"_replace", "_asdict", "_fields", "_make"})


def outside_the_transport() -> list[Path]:
    return [path for path in sorted(TOWNHALL.rglob("*.py")) if TRANSPORT not in path.parents]


def breaches(source: str) -> list[str]:
    """What in `source` reaches past the fence, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if fenced(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if fenced(node.module or ""):
                found.append(f"{node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in FENCED_ATTRIBUTES and not (node.attr == "environ" and owner == "os"):
                found.append(f"{node.lineno}: .{node.attr}")
            elif (
                node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in PUBLIC_UNDERSCORED
                and owner not in ("self", "cls")
            ):
                found.append(f"{node.lineno}: {owner or '…'}.{node.attr}")
    return found


def fenced(module: str) -> bool:
    """A library module only the transport imports: a fenced one, or a submodule of
    python-socketio (whose package's public names are open to the hub and the app)."""
    return module.startswith("socketio.") or any(
        module == name or module.startswith(name + ".") for name in FENCED_MODULES
    )


def test_nothing_outside_the_transport_reaches_into_the_socket_stack() -> None:
    modules = outside_the_transport()
    assert TOWNHALL / "hub.py" in modules and TOWNHALL / "app.py" in modules
    found = {
        str(path.relative_to(TOWNHALL.parent)): lines
        for path in modules
        if (lines := breaches(path.read_text(encoding="utf-8")))
    }
    assert not found, found


def test_the_fence_sees_what_it_is_for() -> None:
    source = """
import engineio
import socketio
import socketio.async_server
from engineio.async_socket import AsyncSocket
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from wsproto.frame_protocol import FrameProtocol
from socketio import exceptions
import os, uvicorn
hub.server.eio.sockets.get(sid)
sio.manager.rooms
sio.environ.get(sid)
socket.queue.empty
socket._websocket_handler
self._own
os.environ
point._replace(x=1)
"""
    assert sorted(breaches(source)) == sorted(
        [
            "2: import engineio",
            "4: import socketio.async_server",
            "5: from engineio.async_socket import …",
            "6: from uvicorn.protocols.http.httptools_impl import …",
            "7: from wsproto.frame_protocol import …",
            "10: .sockets",
            "10: .eio",
            "10: .server",
            "11: .rooms",
            "11: .manager",
            "12: .environ",
            "13: .queue",
            "14: socket._websocket_handler",
        ]
    )
