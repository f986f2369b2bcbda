"""Wiring: a server's forums, its one Socket.IO endpoint and its web pages in one ASGI app; each
forum's engine, hub, broadcaster and routes are its runtime (townhall/forums/)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware

from townhall import console, files, metrics, metrics_http, web, wordcloud
from townhall.addresses import Addresses, base_url
from townhall.assets import GZIP_MINIMUM_BYTES
from townhall.collector import Collector
from townhall.config import Settings, SettingsError
from townhall.console import ensure_organiser_key
from townhall.dispatch import Dispatcher
from townhall.engine import Engine, EngineError, open_registry
from townhall.engine.registry import ForumState
from townhall.forums.directory import ForumDirectory
from townhall.forums.held import Forums
from townhall.forums.keystore import RegistryKeyStore
from townhall.forums.routing import ForumRouter
from townhall.http_guard import HeaderLimits, SecurityHeaders, SocketIOGuard
from townhall.hub import ForumHub
from townhall.identity import participant_cookies
from townhall.keys import ForumKeys
from townhall.logformat import PLAIN
from townhall.loglimit import shorten_access_log
from townhall.metrics_sampler import Sampler
from townhall.model.agenda import Programme
from townhall.model.commands import Role
from townhall.ratelimit import AddressBuckets
from townhall.record.book import RecordBook
from townhall.transport.layer import SocketLayer
from townhall.transport.lean_socket import Endpoint

log = logging.getLogger(__name__)

TRANSPORTS = ["websocket", "polling"]


@dataclass(frozen=True, slots=True)
class Server:
    """One worker's server: every forum it holds, one Socket.IO endpoint, one web app."""

    asgi: Any
    forums: Forums
    transport: SocketLayer
    keys: RegistryKeyStore  # the organiser key's record, for the console
    organiser_key: str | None  # made at this start, to be printed once; None if one was kept
    console_url: str

    def load(self) -> list[str]:
        """Claim and read each command-line forum's data before the server listens (blocking);
        returns the refusals, one sentence each. A refused forum is left out."""
        return self.forums.load_prepared()


@dataclass(frozen=True, slots=True)
class Townhall:
    """A server holding one forum given as a programme, and that forum's parts."""

    asgi: Any
    engine: Engine
    hub: ForumHub
    keys: ForumKeys
    addresses: Addresses
    transport: SocketLayer
    book: RecordBook  # the record's running digest, for the pages
    server: Server

    @property
    def websockets(self) -> Endpoint | None:
        """Serves plain Engine.IO WebSockets; None: all go the stock way."""
        return self.transport.endpoint


def build(
    programme: Programme,
    settings: Settings,
    on_ready: Callable[[Addresses], None] | None = None,
) -> Townhall:
    """A server for one forum, ready for uvicorn; the engine starts with the app."""

    def ready(started: list[Addresses]) -> None:
        if on_ready is not None:
            for addresses in started:
                on_ready(addresses)

    server = build_server([(programme, None)], settings, on_ready=ready)
    runtime = server.forums.prepared[0][0]
    assert runtime is not None, server.forums.faults
    return Townhall(
        asgi=server.asgi,
        engine=runtime.engine,
        hub=runtime.hub,
        keys=runtime.keys,
        addresses=runtime.addresses,
        transport=server.transport,
        book=runtime.book,
        server=server,
    )


def build_server(
    rooms: Sequence[tuple[Programme, Path | None]],
    settings: Settings,
    on_ready: Callable[[list[Addresses]], None] | None = None,
) -> Server:
    """Every forum of `rooms` (programmes, with the files they came from) and the registry's,
    ready for uvicorn; each forum's engine starts with the app. `on_ready` is told the
    addresses of the command-line forums that serve, once they all do."""
    shorten_access_log()
    if len(rooms) > 1 and (settings.host_key or settings.secret):
        raise SettingsError(
            "TOWNHALL_HOST_KEY and TOWNHALL_SECRET fix one forum's keys: serve a single"
            " programme file with them, or leave them unset so that each forum has its own"
        )
    # Several workers share no memory, so a connection must not hop between them mid-handshake:
    # WebSocket only, which needs no sticky sessions. One process also offers long-polling.
    shared = settings.workers > 1 or settings.shared
    transports = ["websocket"] if shared else TRANSPORTS
    transport = SocketLayer(settings, transports)
    assets = web.load_assets()
    templates = web.make_templates(files.TEMPLATES, assets)
    base = base_url(settings)
    registry = open_registry(settings.engine_url, settings.data_dir)
    forums = Forums(settings, transport, registry, (templates, tuple(transports), base))
    keystore = RegistryKeyStore(registry)
    organiser_key = ensure_organiser_key(keystore)
    for programme, path in rooms:
        forums.prepare(programme, path)
    dispatcher = Dispatcher(transport, forums.hub_for)
    forums.on_stop = dispatcher.forget
    transport.serve(dispatcher, inline=dispatcher.runs_inline)
    pages = web.Site(
        programme=None,
        code="",
        join_url="",
        identities=None,
        templates=templates,
        transports=tuple(transports),
        joins=AddressBuckets(settings.join_rate, settings.join_burst),
    )

    def connections() -> Counter[str]:
        counts: Counter[str] = Counter()
        for runtime in forums.runtimes.values():
            counts.update(runtime.hub.presence())
        return counts

    def forums_open() -> int:
        return sum(runtime.state is ForumState.OPEN for runtime in forums.runtimes.values())

    def health() -> dict[str, Any]:
        runtimes = list(forums.runtimes.values())
        held = connections()
        return {
            "ok": all(runtime.engine.available for runtime in runtimes),
            "engine": "redis" if settings.shared else "memory",
            "pid": os.getpid(),
            "forums": {
                runtime.id: {"seq": runtime.engine.forum.seq, "state": runtime.state.value}
                for runtime in runtimes
            },
            "connections": {role.value: held[role.value] for role in Role},
        }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            await forums.start()
        except BaseException as exc:
            if isinstance(exc, EngineError):  # the registry cannot be read: nothing to serve
                refusals.append(str(exc))
            # The forums already started let go of their data dir's locks and connections, so
            # the process ends and a service manager can start it again.
            await forums.stop()
            raise
        if rooms and not forums.runtimes:
            # Nothing asked for on the command line could be served: say why and stop.
            refusals.extend(forums.faults.values())
            await forums.stop()
            raise EngineError("; ".join(forums.faults.values()))
        collector = Collector(forums.activity)
        collector.start()
        if sampler is not None:
            metrics.enable()
            sampler.start()
        state = transport.start()
        if on_ready is not None:
            on_ready(
                [
                    runtime.addresses
                    for runtime, _ in forums.prepared
                    if runtime is not None and runtime.id in forums.runtimes
                ]
            )
        try:
            yield state
        finally:
            await transport.stop()
            await collector.stop()
            if sampler is not None:
                await sampler.stop()
                metrics.disable()
            await forums.stop()
            await wordcloud.stop_tokenizer()

    def opened_with(eio_sid: str) -> str | None:
        """The participant cookies the session's handshake carried, if it carried any."""
        cookies = transport.handshake_cookies(eio_sid)
        return participant_cookies(cookies) if cookies is not None else None

    refusals: list[str] = []  # why the server could not start, said as a sentence
    routes = [
        *console.routes(ForumDirectory(forums), keystore, base, templates),
        *web.site_routes(pages, assets, health, forums.has_code, forums.is_closed),
    ]
    sampler = None
    if settings.metrics:
        sampler = Sampler(metrics.defined(), connections, forums_open)
        routes.append(metrics_http.route(settings.metrics_token, sampler.sample))
    starlette_app = Starlette(routes=routes, lifespan=lifespan)
    # Pages and exports are gzipped for a browser that takes it (streamed exports chunk by
    # chunk); the Socket.IO endpoint is not, being outside; static files come gzipped already.
    routed = GZipMiddleware(
        ForumRouter(starlette_app, forums), minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6
    )
    # Outermost first: every response, refusals and the Socket.IO endpoint's included, carries
    # the security headers; oversized requests are refused unread; long-polling only from the
    # forum's own pages.
    guarded = SecurityHeaders(HeaderLimits(SocketIOGuard(transport.asgi(routed), opened_with)))
    asgi = StartupRefusal(guarded, refusals)
    return Server(
        asgi=asgi,
        forums=forums,
        transport=transport,
        keys=keystore,
        organiser_key=organiser_key,
        console_url=f"{base}/admin",
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

    `townhall serve --workers N` starts N of these; each holds its own sockets and serves every
    forum: those of `TOWNHALL_ROOM` (programme files, separated by the path separator) and the
    registry's.
    """
    from townhall.programme import load_programme

    settings = Settings.from_env(os.environ)
    # uvicorn has set up the log already for JSON lines; for plain lines, only its own loggers.
    logging.basicConfig(level=settings.log_level.upper(), format=PLAIN)
    paths = [Path(name) for name in settings.room.split(os.pathsep) if name]
    server = build_server([(load_programme(path), path) for path in paths], settings)
    server.load()
    return server.asgi
