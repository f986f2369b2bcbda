"""One forum as a server runs it: its engine, hub, broadcaster, record book and routes, made
from its programme and started and stopped on their own, beside every other forum."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute, Router

from townhall import export, shift_export, web, wordcloud_export
from townhall.addresses import Addresses
from townhall.broadcast import Broadcaster
from townhall.config import Settings
from townhall.engine import Engine, open_engine
from townhall.engine.registry import ForumState, Source
from townhall.hub import ForumHub
from townhall.identity import Identities, cookie_name
from townhall.keys import ForumKeys, committee_keys, load_keys, moderator_key
from townhall.model.agenda import Programme
from townhall.presence import Presence
from townhall.ratelimit import AddressBuckets
from townhall.record import http as record_http
from townhall.record.book import RecordBook
from townhall.transport.layer import SocketLayer
from townhall.wordcloud import WordClouds

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ForumRuntime:
    """A forum's running parts. `state` is open (serving) or closed (no one joins; its exports
    still answer the host key)."""

    programme: Programme
    keys: ForumKeys
    engine: Engine
    hub: ForumHub
    broadcaster: Broadcaster
    book: RecordBook
    addresses: Addresses
    router: Router
    source: Source
    created_ms: int
    state: ForumState = ForumState.OPEN
    last_activity_ms: int | None = None
    started: bool = field(default=False)

    @property
    def id(self) -> str:
        return self.programme.id

    @property
    def code(self) -> str:
        return self.keys.code

    def phones(self) -> int:
        """Participant connections to this forum on this worker."""
        return self.hub.presence().get("participant", 0)

    async def start(self) -> None:
        """Replay the forum's log and begin serving it; the engine's refusal is raised."""
        await self.engine.start()
        self.engine.subscribe(self._touched)
        self.broadcaster.start()
        self.started = True

    async def stop(self, let_go: bool = True) -> None:
        """Let everyone connected go (unless the whole server is stopping, which closes every
        connection itself), stop broadcasting, and flush and close the engine."""
        if let_go:
            await self.hub.disconnect_all()
        if self.started:
            await self.broadcaster.stop()
        await self.engine.close()
        self.started = False

    async def close(self) -> None:
        """Stop taking part: the forum stays loaded, its connections are let go."""
        self.state = ForumState.CLOSED
        await self.hub.disconnect_all()

    def _touched(self, events: Any) -> None:
        self.last_activity_ms = self.engine.clock()


def make_runtime(
    programme: Programme,
    settings: Settings,
    layer: SocketLayer,
    site_parts: tuple[dict[str, Any], tuple[str, ...], str],
    source: Source,
    created_ms: int,
) -> ForumRuntime:
    """A forum's parts, not yet started: its keys are kept (made on first start) and its engine
    made; `engine.load()` and `start()` come after. `site_parts` is the pages' templates, the
    transports offered, and the base URL phones reach. Blocking I/O: call it in a thread."""
    templates, transports, base = site_parts
    keys = load_keys(programme, settings)
    engine = open_engine(settings.engine_url, programme, settings.data_dir)
    engine.tick_s = settings.tick_ms / 1000
    addresses = Addresses.of(base, keys, programme)
    identities = Identities(keys.secret, cookie_name(keys.code))
    forum_info = {
        "id": programme.id,
        "title": programme.title,
        "subtitle": programme.subtitle,
        "language": programme.language,
        "code": keys.code,
        "join_url": addresses.phone,
    }
    channel = layer.channel(programme.id)
    present = Presence()
    clouds = WordClouds(programme.items)
    hub = ForumHub(
        engine,
        channel,
        present,
        identities,
        keys.code,
        keys.host_key,
        forum_info,
        committee_keys(programme, keys.secret),
        moderator_key(keys.secret),
        clouds=clouds,
    )
    broadcaster = Broadcaster(channel, engine, settings.tick_ms / 1000, present, clouds)
    book = RecordBook(engine, programme, keys.secret)
    site = web.Site(
        programme=programme,
        code=keys.code,
        join_url=addresses.phone,
        identities=identities,
        templates=templates,
        transports=transports,
        joins=AddressBuckets(settings.join_rate, settings.join_burst),
        now_on=lambda: web.now_on(engine.forum),
    )
    routes: list[BaseRoute] = [
        *export.routes(lambda: engine.settled, keys.code, keys.host_key, engine.settle, book.stamp),
        *record_http.routes(book, keys.code, keys.host_key, lambda: engine.forum, engine.refresh),
        *shift_export.routes(lambda: engine.settled, keys.code, keys.host_key, engine.settle),
        *wordcloud_export.routes(
            lambda: engine.forum, clouds, keys.code, keys.host_key, engine.refresh
        ),
        *web.forum_routes(site),
    ]
    return ForumRuntime(
        programme=programme,
        keys=keys,
        engine=engine,
        hub=hub,
        broadcaster=broadcaster,
        book=book,
        addresses=addresses,
        router=Router(routes=routes),
        source=source,
        created_ms=created_ms,
    )
