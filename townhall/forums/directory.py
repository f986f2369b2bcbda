"""What the organiser's console asks of the forums: the list with each one's state, its links,
and the changes (create, open, close, archive, delete), each kept in the registry first."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from townhall.engine import EngineError
from townhall.engine.registry import Entry, ForumState, Source
from townhall.forums.console_rules import check_console_programme
from townhall.forums.held import WATCH_INTERVAL_S, DirectoryError, Forums, now_ms
from townhall.keys import moderator_key
from townhall.model.commands import Actor, Role
from townhall.model.errors import ForumError
from townhall.payloads import decode
from townhall.programme import parse_programme

log = logging.getLogger(__name__)

# The most forums one server's registry holds (a library network's year is a few hundred).
MAX_FORUMS = 1000
# What the console may change on a running forum, as its host: the agenda, and nothing else.
AGENDA_EVENTS = frozenset({"poll_add", "item_add", "item_edit", "option_add"})

__all__ = ["DirectoryError", "ForumDirectory", "ForumLinks", "ForumState", "ForumSummary"]


@dataclass(frozen=True, slots=True)
class ForumSummary:
    id: str
    title: str
    code: str
    state: str  # open, closed, archived, or fault (could not start)
    fault: str | None
    phones: int
    created_ms: int
    last_activity_ms: int | None
    source: str  # file or console


@dataclass(frozen=True, slots=True)
class ForumLinks:
    phone: str
    host: str
    screen: str
    moderator: str | None
    committee: dict[str, str]
    qr: str


class ForumDirectory:
    """The console's view of a server's forums."""

    def __init__(self, forums: Forums) -> None:
        self.forums = forums

    def summaries(self) -> list[ForumSummary]:
        ids = sorted(set(self.forums.entries) | set(self.forums.faults), key=self._created)
        return [self.summary(forum_id) for forum_id in ids]

    def _created(self, forum_id: str) -> tuple[int, str]:
        entry = self.forums.entries.get(forum_id)
        return (entry.created_ms if entry else 0, forum_id)

    def summary(self, forum_id: str) -> ForumSummary:
        entry = self.forums.entries.get(forum_id)
        fault = self.forums.faults.get(forum_id)
        if entry is None and fault is None:
            raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
        runtime = self.forums.runtimes.get(forum_id)
        state = "fault" if fault is not None else entry.state.value if entry else "fault"
        return ForumSummary(
            id=forum_id,
            title=runtime.programme.title
            if runtime
            else self.forums.titles.get(forum_id, forum_id),
            code=runtime.code if runtime else "",
            state=state,
            fault=fault,
            phones=runtime.phones() if runtime else 0,
            created_ms=entry.created_ms if entry else 0,
            last_activity_ms=runtime.last_activity_ms if runtime else None,
            source=entry.source.value if entry else Source.FILE.value,
        )

    def links(self, forum_id: str, base_url: str) -> ForumLinks:
        runtime = self.forums.runtime(forum_id)
        base = base_url.rstrip("/")
        code, key = runtime.code, runtime.keys.host_key
        return ForumLinks(
            phone=f"{base}/j/{code}",
            host=f"{base}/host/{code}#key={key}",
            screen=f"{base}/screen/{code}",
            moderator=f"{base}/moderate/{code}#key={moderator_key(runtime.keys.secret)}",
            committee={
                member: f"{base}/committee/{code}#member={member}&key={member_key}"
                for member, member_key in runtime.hub.committee_keys.items()
            },
            qr=f"/qr/{code}.svg",
        )

    async def change_agenda(
        self, forum_id: str, event: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a running forum's agenda as its host would; the ack, or an error ack."""
        if event not in AGENDA_EVENTS:
            raise DirectoryError("not_allowed", f"{event!r} is not a change to the agenda")
        runtime = self.forums.runtime(forum_id)
        try:
            command = decode(event, payload)
            outcome = await runtime.engine.execute(Actor(Role.HOST, "organiser"), command)
        except ForumError as exc:
            return exc.as_ack()
        except EngineError as exc:
            raise DirectoryError(
                "unavailable", f"the forum cannot store changes now: {exc}"
            ) from exc
        return dict(outcome.ack)

    def programme_text(self, forum_id: str) -> str:
        entry = self.forums.entries.get(forum_id)
        if entry is None:
            raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
        if entry.source is Source.CONSOLE:
            return entry.programme
        path = self.forums.files.get(forum_id)
        if path is None:
            raise DirectoryError("not_allowed", f"forum {forum_id!r}'s file is not known here")
        return path.read_text(encoding="utf-8")

    # changes

    async def create(self, text: str, source: str) -> ForumSummary:
        """Make a forum from programme text, keep it in the registry and start it."""
        check_console_programme(text, source)
        programme = parse_programme(text, source=source, base=self.forums.files_dir())
        async with self.forums.lock:
            await self.forums.refresh()
            if len(self.forums.entries) >= MAX_FORUMS:
                raise DirectoryError(
                    "too_many_forums",
                    f"this server holds {MAX_FORUMS} forums, its most: delete some first",
                )
            if programme.id in self.forums.entries or programme.id in self.forums.faults:
                raise DirectoryError(
                    "duplicate_id", f"there is already a forum {programme.id!r}", "forum.id"
                )
            if programme.code and programme.code.upper() in self.forums.by_code:
                raise DirectoryError(
                    "duplicate_code",
                    f"join code {programme.code} is already another forum's",
                    "forum.code",
                )
            if await asyncio.to_thread(self.forums.registry.has_forum_data, programme.id):
                raise DirectoryError(
                    "duplicate_id",
                    f"data for a forum {programme.id!r} is still kept here: choose another id",
                    "forum.id",
                )
            entry = Entry(programme.id, ForumState.OPEN, Source.CONSOLE, now_ms(), text)
            await asyncio.to_thread(self.forums.registry.put, entry)
            self.forums.entries[entry.id] = entry
            self.forums.titles[entry.id] = programme.title
            runtime = await self.forums.load(entry, programme)
            if runtime is None:
                reason = self.forums.faults.pop(entry.id, "it could not start")
                del self.forums.entries[entry.id]
                await asyncio.to_thread(self.forums.registry.remove, entry.id)
                await asyncio.to_thread(self.forums.registry.remove_forum_data, entry.id)
                raise DirectoryError("not_started", reason)
            self.forums.version = await asyncio.to_thread(self.forums.registry.version)
            log.info("forum %s made in the console (code %s)", entry.id, runtime.code)
            return self.summary(entry.id)

    async def set_state(self, forum_id: str, state: ForumState) -> ForumSummary:
        async with self.forums.lock:
            await self.forums.refresh()
            entry = self.forums.entries.get(forum_id)
            if entry is None:
                raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
            if entry.state is not state:
                entry = Entry(entry.id, state, entry.source, entry.created_ms, entry.programme)
                await asyncio.to_thread(self.forums.registry.put, entry)
                self.forums.entries[forum_id] = entry
                await self.forums.apply(entry)
                self.forums.version = await asyncio.to_thread(self.forums.registry.version)
                log.info("forum %s is now %s", forum_id, state.value)
            return self.summary(forum_id)

    async def delete(self, forum_id: str) -> list[str]:
        """Remove a closed or archived console-made forum and everything stored for it."""
        async with self.forums.lock:
            await self.forums.refresh()
            entry = self.forums.entries.get(forum_id)
            if entry is None:
                raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
            if entry.source is not Source.CONSOLE:
                raise DirectoryError(
                    "not_allowed",
                    f"forum {forum_id!r} is served from its programme file: stop serving it"
                    " and remove its data dir files yourself",
                )
            if entry.state is ForumState.OPEN:
                raise DirectoryError("bad_state", "close or archive the forum before deleting it")
            if entry.state is ForumState.CLOSED and self.forums.shared:
                # Other workers still hold it loaded: archive it everywhere first, so none
                # writes to its keys after they are gone.
                archived = Entry(entry.id, ForumState.ARCHIVED, entry.source, entry.created_ms)
                await asyncio.to_thread(self.forums.registry.put, archived)
                await asyncio.sleep(2 * WATCH_INTERVAL_S + 0.5)
            await self.forums.unload(forum_id)
            await asyncio.to_thread(self.forums.registry.remove, forum_id)
            removed = await asyncio.to_thread(self.forums.registry.remove_forum_data, forum_id)
            self.forums.entries.pop(forum_id, None)
            self.forums.faults.pop(forum_id, None)
            self.forums.titles.pop(forum_id, None)
            self.forums.version = await asyncio.to_thread(self.forums.registry.version)
            log.info("forum %s deleted (%d stored items)", forum_id, len(removed))
            return removed
