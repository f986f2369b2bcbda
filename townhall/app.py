"""Wiring: one forum's engine, transport, Socket.IO hub, broadcaster and web pages in one ASGI
app."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from townhall import export, shift_export, web
from townhall.broadcast import Broadcaster
from townhall.collector import Collector
from townhall.config import Settings, SettingsError
from townhall.engine import Engine, EngineError, open_engine
from townhall.http_guard import HeaderLimits, SecurityHeaders, SocketIOGuard
from townhall.hub import ForumHub
from townhall.identity import COOKIE_NAME, Identities, read_cookie
from townhall.keys import ForumKeys, committee_keys, load_keys, moderator_key
from townhall.loglimit import shorten_access_log
from townhall.model.agenda import Programme
from townhall.presence import Presence
from townhall.ratelimit import AddressBuckets
from townhall.record import http as record_http
from townhall.record.book import RecordBook
from townhall.transport.layer import SocketLayer
from townhall.transport.lean_socket import Endpoint

log = logging.getLogger(__name__)

TRANSPORTS = ["websocket", "polling"]
SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where each role opens the forum: printed at start and shown on the projector."""

    phone: str
    host: str
    screen: str
    committee_members: int = 0  # their secret links are listed on the host screen
    moderator: str = ""  # the boards' moderator's secret link

    @classmethod
    def of(cls, base_url: str, keys: ForumKeys, programme: Programme | None = None) -> Addresses:
        selection = programme.selection if programme is not None else None
        return cls(
            phone=f"{base_url}/j/{keys.code}",
            host=f"{base_url}/host/{keys.code}#key={keys.host_key}",
            screen=f"{base_url}/screen/{keys.code}",
            committee_members=len(selection.committee) if selection is not None else 0,
            moderator=f"{base_url}/moderate/{keys.code}#key={moderator_key(keys.secret)}",
        )


@dataclass(frozen=True, slots=True)
class Townhall:
    asgi: Any
    engine: Engine
    hub: ForumHub
    keys: ForumKeys
    addresses: Addresses
    transport: SocketLayer
    book: RecordBook  # the record's running digest, for the pages

    @property
    def websockets(self) -> Endpoint | None:
        """Serves plain Engine.IO WebSockets; None: all go the stock way."""
        return self.transport.endpoint


def base_url(settings: Settings) -> str:
    """The address phones reach: the public URL if set, else this machine's LAN address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
        host = lan_address()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def lan_address() -> str:
    """This machine's first non-loopback IPv4 address, which phones on the same Wi-Fi can reach.

    Read from the network interfaces (no packet is sent); 127.0.0.1 if there is none.
    """
    candidates = [*_interface_addresses(), *_hostname_addresses()]
    return next((a for a in candidates if not a.startswith("127.")), "127.0.0.1")


def _interface_addresses() -> list[str]:
    try:
        import fcntl  # Linux and the BSDs; elsewhere the host name is asked instead

        names = [name for _, name in socket.if_nameindex()]
    except (ImportError, OSError):
        return []
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names:
            try:
                request = struct.pack("256s", name.encode()[:15])
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue
            found.append(socket.inet_ntoa(reply[20:24]))
    return found


def _hostname_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def build(
    programme: Programme,
    settings: Settings,
    on_ready: Callable[[Addresses], None] | None = None,
) -> Townhall:
    """Everything one forum needs, ready for uvicorn; the engine starts with the app."""
    shorten_access_log()
    keys = load_keys(programme, settings)
    engine = open_engine(settings.engine_url, programme, settings.data_dir)
    addresses = Addresses.of(base_url(settings), keys, programme)
    identities = Identities(keys.secret)
    forum_info = {
        "id": programme.id,
        "title": programme.title,
        "subtitle": programme.subtitle,
        "language": programme.language,
        "code": keys.code,
        "join_url": addresses.phone,
    }
    # Several workers share no memory, so a connection must not hop between them mid-handshake:
    # WebSocket only, which needs no sticky sessions. One process also offers long-polling.
    transports = ["websocket"] if settings.workers > 1 or engine.shared else TRANSPORTS
    transport = SocketLayer(settings, transports)
    present = Presence()
    hub = ForumHub(
        engine,
        transport,
        present,
        identities,
        keys.code,
        keys.host_key,
        forum_info,
        committee_keys(programme, keys.secret),
        moderator_key(keys.secret),
    )
    transport.serve(hub)
    broadcaster = Broadcaster(transport, engine, settings.tick_ms / 1000, present)
    book = RecordBook(engine, programme, keys.secret)
    site = web.Site(
        programme=programme,
        code=keys.code,
        join_url=addresses.phone,
        identities=identities,
        templates=web.make_templates(web.ROOT / "templates"),
        transports=tuple(transports),
        joins=AddressBuckets(settings.join_rate, settings.join_burst),
    )

    def health() -> dict[str, Any]:
        return {
            "ok": engine.available,
            "forum": programme.id,
            "seq": engine.forum.seq,
            "engine": engine.name,
            "pid": os.getpid(),
            "connections": hub.presence(),
        }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            await engine.start()
        except EngineError as exc:
            refusals.append(str(exc))
            raise
        broadcaster.start()
        collector = Collector(lambda: (engine.forum.seq, len(hub.connections)))
        collector.start()
        state = transport.start()
        if on_ready is not None:
            on_ready(addresses)
        try:
            yield state
        finally:
            await transport.stop()
            await collector.stop()
            await broadcaster.stop()
            await engine.close()

    def opened_with(eio_sid: str) -> str | None:
        """The participant cookie the session's handshake carried, if it carried one."""
        cookies = transport.handshake_cookies(eio_sid)
        return read_cookie(cookies, COOKIE_NAME) if cookies is not None else None

    routes = [
        *export.routes(lambda: engine.forum, keys.code, keys.host_key, engine.refresh, book.stamp),
        *record_http.routes(book, keys.code, keys.host_key, lambda: engine.forum, engine.refresh),
        *shift_export.routes(lambda: engine.forum, keys.code, keys.host_key, engine.refresh),
        *web.routes(site, health),
    ]
    refusals: list[str] = []  # the engine's refusal to start, said as a sentence
    starlette_app = Starlette(routes=routes, lifespan=lifespan)
    # Outermost first: every response, refusals and the Socket.IO endpoint's included, carries
    # the security headers; oversized requests are refused unread; long-polling only from the
    # forum's own pages.
    guarded = SecurityHeaders(
        HeaderLimits(SocketIOGuard(transport.asgi(starlette_app), opened_with))
    )
    asgi = StartupRefusal(guarded, refusals)
    return Townhall(
        asgi=asgi,
        engine=engine,
        hub=hub,
        keys=keys,
        addresses=addresses,
        transport=transport,
        book=book,
    )


class StartupRefusal:
    """uvicorn prints what a failed startup says: for the engine's refusal to start (a forum
    it may not serve as configured) that is one sentence, not a traceback."""

    def __init__(self, app: Any, refusals: list[str]) -> None:
        self.app = app
        self.refusals = refusals

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def say(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.failed" and self.refusals:
                message = {**message, "message": f"townhall: {self.refusals[-1]}"}
            await send(message)

        await self.app(scope, receive, say)


def create_app() -> Any:
    """The ASGI app for one worker process, configured from `TOWNHALL_*` variables.

    `townhall serve --workers N` starts N of these; each holds its own sockets.
    """
    from townhall.programme import load_programme

    settings = Settings.from_env(os.environ)
    if not settings.room:
        raise SettingsError("TOWNHALL_ROOM: the programme file is not set")
    logging.basicConfig(level=settings.log_level.upper())
    return build(load_programme(settings.room), settings).asgi
