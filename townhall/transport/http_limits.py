"""Slow and many connections: a deadline for each request head, a cap on the connections one
client address holds, and the open-file limit a worker needs for the phones it is planned for.

This module reaches into uvicorn's internals (checked against uvicorn 0.54): it subclasses
`uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` and relies on its parser callbacks
(`on_message_begin`, `on_headers_complete`), its `on_response_complete`, and its attributes
`transport`, `loop`, `cycle`, `pipeline` and `server_state`. uvicorn has no deadline for a request
head: `timeout_keep_alive` runs only between requests and stops at the first byte of the next, so
a client that sends part of a head and then trickles or stops holds its connection, and a file
descriptor, for as long as it likes. The protocol is handed to uvicorn as `http=`, as
`townhall.transport.lean_websocket.EngineIOWebSocket` is as `ws=`.

A connection is counted against its address from `connection_made` until `connection_lost`. Once
a WebSocket handshake is complete uvicorn hands the transport to the `ws=` protocol and never
calls the HTTP protocol's `connection_lost`, so `EngineIOWebSocket.connection_lost` calls
`release` too; a transport is released at most once, whichever protocol ends it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from townhall.http_guard import SECURITY_HEADERS
from townhall.loglimit import LogLimiter

log = logging.getLogger(__name__)
_log = LogLimiter(log)

# docs/operations.md's capacity model: one worker holds a hall of this many phones.
PHONES_PER_WORKER = 10_000
# A worker's own descriptors (listening socket, journal, Redis, logs, the event loop) and the
# short-lived connections phones load the pages with, with room to spare.
OWN_FILES = 256


def _response(status: bytes, body: bytes, *headers: bytes) -> bytes:
    """A whole response written before uvicorn has a request to answer: its body is fixed, and
    it carries the security headers every Townhall response does."""
    lines = [
        b"HTTP/1.1 " + status,
        b"content-type: text/plain; charset=utf-8",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *headers,
        *(name + b": " + value for name, value in SECURITY_HEADERS),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


_REQUEST_TIMEOUT = _response(b"408 Request Timeout", b"request timeout\n")
_TOO_MANY = _response(
    b"503 Service Unavailable", b"too many connections from this address\n", b"retry-after: 10"
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 10.0  # seconds to send a whole request head
    max_per_address: int = 5000  # connections one address may hold at once; 0: no cap


def http_protocol(limits: HttpLimits) -> functools.partial[HeadDeadlineProtocol]:
    """uvicorn's `http=` for these limits. A partial of a module-level class, not a class made
    here, because `--workers` pickles uvicorn's options into each worker process."""
    return functools.partial(HeadDeadlineProtocol, limits=limits)


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request head and a cap on the
    connections from one address."""

    def __init__(self, *args: Any, limits: HttpLimits = HttpLimits(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.head_deadline: asyncio.TimerHandle | None = None
        self.reading_head = False  # part of a request head has arrived, not all of it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not _admit(self.server_state, transport, self.limits.max_per_address):
            address = _address(transport)
            _log.warning(
                address or "?",
                "too many",
                "refusing a connection from %s: it holds %d already",
                address,
                self.limits.max_per_address,
            )
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        release(self.transport)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self._await_head()  # already running unless a pipelined request begins mid-response

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self._head_done()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        queued = bool(self.pipeline)
        super().on_response_complete()
        # From here until the next head is whole. uvicorn's keep-alive timer closes a silent
        # connection sooner, but stops at the first byte, even a bare CRLF that begins no request.
        if not queued:
            self._await_head()

    def _await_head(self) -> None:
        if self.head_deadline is None and not self.transport.is_closing():
            self.head_deadline = self.loop.call_later(
                self.limits.header_timeout, self._head_timed_out
            )

    def _head_done(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        transport = self.transport
        if transport.is_closing():
            return
        address = _address(transport)
        _log.info(
            address or "?",
            "head timeout",
            "closing a connection from %s: no complete request head in %g s",
            address,
            self.limits.header_timeout,
        )
        # A connection that sent nothing is closed quietly, as an idle keep-alive one is: a
        # browser that opened it ahead of need retries on a fresh one.
        if self.reading_head and (self.cycle is None or self.cycle.response_complete):
            transport.write(_REQUEST_TIMEOUT)
        transport.close()


# uvicorn's server state (one per server: one per worker) -> connections held per address
_counts: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
# transport -> the counts it was counted in, and its address
_held: dict[Any, tuple[dict[str, int], str]] = {}


def _address(transport: asyncio.BaseTransport) -> str | None:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def _admit(server_state: Any, transport: asyncio.BaseTransport, limit: int) -> bool:
    """Count the connection against its address; False (and not counted) past the cap."""
    address = _address(transport)
    if not limit or address is None:  # no cap, or a Unix socket: nobody to count
        return True
    counts = _counts.setdefault(server_state, {})
    held = counts.get(address, 0)
    if held >= limit:
        return False
    counts[address] = held + 1
    _held[transport] = (counts, address)
    return True


def release(transport: asyncio.BaseTransport | None) -> None:
    """The connection has ended: its slot is free. Any number of calls, counted or not."""
    entry = _held.pop(transport, None)
    if entry is None:
        return
    counts, address = entry
    left = counts[address] - 1
    if left:
        counts[address] = left
    else:
        del counts[address]


def connections_from(server_state: Any, address: str) -> int:
    """How many connections `address` holds on this server."""
    return _counts.get(server_state, {}).get(address, 0)


# the open-file limit


def files_wanted(max_per_address: int) -> int:
    """Descriptors one worker needs: the planned phones, plus one address at its cap (so that it
    cannot lock the hall out), plus the worker's own."""
    return PHONES_PER_WORKER + max_per_address + OWN_FILES


def raise_file_limit(max_per_address: int, limits: tuple[int, int] | None = None) -> str | None:
    """Raise this process's soft RLIMIT_NOFILE to what a worker needs (`files_wanted`), or as
    near as its hard limit allows; worker processes inherit it. A line for the organiser if it
    falls short, else None.

    `limits` stands in for the process's (soft, hard) limits, and nothing is changed, in tests."""
    try:
        import resource
    except ImportError:  # not a Unix: nothing to raise
        return None
    wanted = files_wanted(max_per_address)
    infinity = resource.RLIM_INFINITY
    soft, hard = limits or resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != infinity and soft < wanted:
        target = wanted if hard == infinity else min(hard, wanted)
        if target > soft:
            try:
                if limits is None:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass  # a platform that caps below its hard limit: say what there is
    if soft == infinity or soft >= wanted:
        return None
    per_address = f", and {max_per_address:,} from any one address" if max_per_address else ""
    return (
        f"townhall: the open-file limit is {soft} (hard limit {hard}): room for about"
        f" {max(soft - OWN_FILES, 0):,} phones per worker (planned: {PHONES_PER_WORKER:,}"
        f"{per_address}); raise it with `ulimit -n {wanted}` before starting, or"
        f" LimitNOFILE={wanted} in the systemd unit"
    )
