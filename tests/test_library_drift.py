"""The library internals Townhall relies on are still there.

The modules of townhall/transport/ (the lean WebSocket, the Engine.IO and Socket.IO servers and
their socket rules, the HTTP protocol's limits) reach into python-engineio, python-socketio,
uvicorn and wsproto below their public interfaces, and pyproject.toml pins those libraries below
their next minor release. An upgrade that renames or removes one of these names fails here, by
name, before it fails somewhere stranger. So does townhall/draw/lottery.py, which calls
sortition-algorithms' module-level functions beyond its package exports.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
import uvicorn
from wsproto.frame_protocol import FrameProtocol

from townhall.transport.handshake import client_host
from townhall.transport.lean_socket import LeanSocket

# module, class (or "" for the module itself), the names Townhall uses on it
USED: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "engineio.async_server",
        "AsyncServer",
        ("_trigger_event", "_cors_allowed_origins", "_bad_request", "_ok", "generate_id"),
    ),
    (
        "engineio.async_socket",
        "AsyncSocket",
        (
            "handle_get_request",
            "handle_post_request",
            "receive",
            "send",
            "close",
            "check_ping_timeout",
            "schedule_ping",
            "_websocket_handler",
            "_send_ping",
        ),
    ),
    ("engineio.async_drivers.asgi", "", ("translate_request",)),
    ("engineio.packet", "", ("OPEN", "CLOSE", "PING", "PONG", "MESSAGE", "UPGRADE", "NOOP")),
    (
        "socketio.async_server",
        "AsyncServer",
        (
            "_handle_eio_message",
            "_handle_eio_connect",
            "_handle_eio_disconnect",
            "_handle_connect",
            "_handle_disconnect",
            "_handle_event",
            "_handle_ack",
            "_send_packet",
            "_trigger_event",
        ),
    ),
    ("uvicorn.protocols.websockets.wsproto_impl", "WSProtocol", ("data_received", "shutdown")),
    (
        "uvicorn.protocols.http.httptools_impl",
        "HttpToolsProtocol",
        ("on_message_begin", "on_headers_complete", "on_response_complete", "connection_lost"),
    ),
    (
        "sortition_algorithms.committee_generation",
        "",
        ("find_distribution_maximin", "standardize_distribution"),
    ),
    ("sortition_algorithms.core", "", ("lottery_rounding",)),
    ("sortition_algorithms.utils", "", ("set_random_provider",)),
    ("sortition_algorithms.features", "", ("FeatureValueMinMax", "set_default_max_flex")),
    ("sortition_algorithms.people", "People", ("add",)),
]


@pytest.mark.parametrize(("module", "owner", "names"), USED, ids=[m for m, _, _ in USED])
def test_the_names_townhall_uses_are_there(module: str, owner: str, names: tuple[str, ...]) -> None:
    found = importlib.import_module(module)
    target = getattr(found, owner) if owner else found
    missing = [name for name in names if not hasattr(target, name)]
    assert not missing, f"{module}.{owner or ''} no longer has {missing}"


def test_wsproto_keeps_its_frame_parser_where_townhall_closes_it() -> None:
    frames = FrameProtocol(client=False, extensions=[])
    assert inspect.isgenerator(frames._parse_more)


def test_wsproto_keeps_the_parser_state_the_lean_frames_read() -> None:
    """townhall/transport/lean_frames.py reads a frame itself only when wsproto is between
    frames: no header read, nothing buffered, no fragmented message begun."""
    frames = FrameProtocol(client=False, extensions=[])
    assert frames._frame_decoder.header is None
    assert len(frames._frame_decoder.buffer) == 0
    assert frames._message_decoder.opcode is None


def test_a_lean_socket_offers_what_python_socketio_calls_on_an_engineio_socket() -> None:
    """python-socketio and python-engineio's server call these on every Engine.IO socket."""
    from engineio.async_socket import AsyncSocket

    methods = ("send", "close", "check_ping_timeout")
    flags = ("closed", "closing", "connected", "upgraded", "upgrading", "upgrade_protocols")
    for name in methods:
        assert callable(getattr(AsyncSocket, name)), name
        assert callable(getattr(LeanSocket, name)), name
    for name in (*flags, "queue", "session", "sid"):
        assert hasattr(LeanSocket, name) or name in LeanSocket.__slots__, name


def test_what_the_socket_layer_reads_on_a_started_server_is_there() -> None:
    """SocketLayer (townhall/transport/layer.py) reads these on python-socketio's server, its
    manager and an Engine.IO socket; some are set in __init__, so a built server is asked."""
    import engineio.async_socket
    import socketio

    server = socketio.AsyncServer(async_mode="asgi")
    for owner, names in (
        (server, ("environ", "eio", "manager", "enter_room", "leave_room", "emit")),
        # and the short way (townhall/transport/lean_events.py)
        (server, ("handlers", "namespace_handlers", "not_handled")),
        (server.manager, ("is_connected", "eio_sid_from_sid", "sid_from_eio_sid", "rooms")),
        (server.eio, ("sockets",)),
    ):
        missing = [name for name in names if not hasattr(owner, name)]
        assert not missing, f"{type(owner).__name__} no longer has {missing}"
    socket = engineio.async_socket.AsyncSocket(server.eio, "sid")
    assert callable(socket.queue.empty)


def test_the_lean_handshake_reads_the_client_address_as_uvicorn_gives_it_to_the_app() -> None:
    # client_host runs uvicorn's proxy-headers middleware to its end without an event loop.
    config = uvicorn.Config(app="townhall.app:create_app", forwarded_allow_ips="127.0.0.1")
    forwarded = [(b"x-forwarded-for", b"203.0.113.7")]
    assert client_host(config, ("127.0.0.1", 50000), forwarded) == "203.0.113.7"
    assert client_host(config, ("198.51.100.2", 50000), forwarded) == "198.51.100.2"
    assert client_host(config, ("::1", 50000, 0, 0), []) == "::1"
    assert client_host(config, "", forwarded) == ""  # a Unix socket's peer
    unproxied = uvicorn.Config(app="townhall.app:create_app", proxy_headers=False)
    assert client_host(unproxied, ("127.0.0.1", 50000), forwarded) == "127.0.0.1"
