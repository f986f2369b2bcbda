"""The forums a server holds: those named on the command line and those made in the console,
each loaded, started, closed, archived and stopped on its own, so that one forum's refusal or
fault never stops the others. With Redis the registry is shared: every worker watches it and
serves every forum."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from townhall.config import Settings
from townhall.dispatch import Refused
from townhall.engine import EngineError
from townhall.engine.registry import Entry, ForumState, Registry, Source
from townhall.forums.runtime import ForumRuntime, make_runtime
from townhall.hub import ForumHub
from townhall.model.agenda import Programme
from townhall.programme import load_programme, parse_programme
from townhall.programme_fields import ProgrammeError
from townhall.transport.layer import SocketLayer

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5  # how often a worker looks for forums changed by another


def now_ms() -> int:
    return int(time.time() * 1000)


def naming(forum_id: str, exc: Exception) -> str:
    """The refusal as a sentence that names its forum (most already do)."""
    sentence = str(exc)
    return sentence if repr(forum_id) in sentence else f"forum {forum_id!r}: {sentence}"


class DirectoryError(Exception):
    """A change to the forums refused: a code, a sentence, and the field it is about if any."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Forums:
    """Every forum this worker serves, by id and by join code."""

    def __init__(
        self,
        settings: Settings,
        layer: SocketLayer,
        registry: Registry,
        site_parts: tuple[dict[str, Any], tuple[str, ...], str],
    ) -> None:
        self.settings = settings
        self.layer = layer
        self.registry = registry
        self.site_parts = site_parts
        self.runtimes: dict[str, ForumRuntime] = {}
        self.by_code: dict[str, str] = {}
        self.entries: dict[str, Entry] = {}
        self.files: dict[str, Path] = {}  # forums named on the command line: their files
        self.faults: dict[str, str] = {}  # forums that could not start: why, in a sentence
        self.titles: dict[str, str] = {}  # forums not loaded (archived, faulty): their titles
        self.lock = asyncio.Lock()  # one change to the forums at a time on this worker
        self.version = -1
        self._watcher: asyncio.Task[None] | None = None
        self.on_stop: Callable[[ForumHub], None] = lambda hub: None
        # The command line's forums, made before the server starts (None: refused).
        self.prepared: list[tuple[ForumRuntime | None, Path | None]] = []

    @property
    def shared(self) -> bool:
        """Whether other workers or nodes serve these forums too (through Redis)."""
        return self.settings.shared

    # finding forums

    def hub_for(self, code: str) -> ForumHub:
        """The hub of the open forum with join code `code`; raises Refused otherwise."""
        runtime = self.by_code_or_none(code)
        if runtime is None:
            raise Refused("unknown_forum", "no forum with that code")
        if runtime.state is not ForumState.OPEN:
            raise Refused("forum_closed", "this forum has closed")
        return runtime.hub

    def by_code_or_none(self, code: str) -> ForumRuntime | None:
        forum_id = self.by_code.get(code.upper())
        return self.runtimes.get(forum_id) if forum_id is not None else None

    def runtime(self, forum_id: str) -> ForumRuntime:
        runtime = self.runtimes.get(forum_id)
        if runtime is None:
            if forum_id in self.entries or forum_id in self.files:
                raise DirectoryError("not_loaded", f"forum {forum_id!r} is not running")
            raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
        return runtime

    # starting and stopping the server

    def prepare(self, programme: Programme, path: Path | None) -> None:
        """Make a command-line forum's parts before the server starts (blocking: keys and
        engine); `load_prepared` reads its data, the app's start starts it."""
        try:
            runtime = make_runtime(
                programme, self.settings, self.layer, self.site_parts, Source.FILE, now_ms()
            )
        except (EngineError, OSError, ValueError) as exc:
            self.faults[programme.id] = naming(programme.id, exc)
            self.prepared.append((None, path))
            return
        self.prepared.append((runtime, path))

    def load_prepared(self) -> list[str]:
        """Claim and read each command-line forum's data (blocking), so that a refusal comes
        before the server listens; returns the refusals. A refused forum is left out."""
        refusals = list(self.faults.values())
        for index, (runtime, path) in enumerate(self.prepared):
            if runtime is None:
                continue
            try:
                runtime.engine.load()
            except (EngineError, OSError) as exc:
                sentence = str(exc)
                self.faults[runtime.id] = sentence
                refusals.append(sentence)
                self.prepared[index] = (None, path)
        return refusals

    def has_code(self, code: str) -> bool:
        runtime = self.by_code_or_none(code)
        return runtime is not None and runtime.state is ForumState.OPEN

    def is_closed(self, code: str) -> bool:
        runtime = self.by_code_or_none(code)
        return runtime is not None and runtime.state is ForumState.CLOSED

    def activity(self) -> tuple[int, int]:
        """Events stored and connections held over every forum, for the collector's quiet spells."""
        seq = sum(runtime.engine.forum.seq for runtime in self.runtimes.values())
        held = sum(len(runtime.hub.connections) for runtime in self.runtimes.values())
        return seq, held

    async def start(self) -> None:
        """Load the registry, start the command line's forums and every console-made one that
        is open or closed; a forum that cannot start is reported and left out."""
        entries = await asyncio.to_thread(self.registry.entries)
        for runtime, path in self.prepared:
            if runtime is None:
                continue
            forum_id = runtime.id
            entry = entries.get(forum_id)
            if entry is not None and entry.source is Source.CONSOLE:
                self.faults[forum_id] = (
                    f"{path or forum_id}: forum id {forum_id!r} belongs to a forum made in the"
                    " console"
                )
                await runtime.engine.close()
                continue
            if path is not None:
                self.files[forum_id] = path
            if entry is None:
                entry = Entry(forum_id, ForumState.OPEN, Source.FILE, now_ms())
                await asyncio.to_thread(self.registry.put, entry)
            self.entries[forum_id] = entry
            self.titles[forum_id] = runtime.programme.title
            if entry.state is ForumState.ARCHIVED:
                await runtime.engine.close()
                continue
            await self._start(entry, runtime)
        for entry in entries.values():
            if entry.source is Source.CONSOLE:
                await self._adopt(entry)
        self.version = await asyncio.to_thread(self.registry.version)
        if self.shared:
            self._watcher = asyncio.create_task(self._watch(), name="townhall-forums-watch")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for forum_id in list(self.runtimes):
            await self.unload(forum_id, let_go=False)

    async def _adopt(self, entry: Entry) -> None:
        """Take a console-made entry as the registry has it: parse and load it, or note why not."""
        self.entries[entry.id] = entry
        try:
            programme = self._parse(entry.programme, entry.id)
        except ProgrammeError as exc:
            self.faults[entry.id] = str(exc)
            return
        self.titles[entry.id] = programme.title
        if entry.state is not ForumState.ARCHIVED:
            await self.load(entry, programme)

    def _parse(self, text: str, forum_id: str) -> Programme:
        source = f"forum {forum_id}"
        return parse_programme(text, source=source, default_id=forum_id, base=self.files_dir())

    def files_dir(self) -> Path:
        # A console-made programme names no other file (check_console_programme); any it did
        # would be looked for in a directory that holds none.
        return self.settings.data_dir / "forums" / "no-files"

    async def load(self, entry: Entry, programme: Programme) -> ForumRuntime | None:
        """Make, load and start a forum's runtime; on a refusal, note it and carry on."""
        settings = self.settings
        if entry.source is Source.CONSOLE:
            settings = settings.override(host_key="", secret="")
        try:
            runtime = await asyncio.to_thread(
                make_runtime,
                programme,
                settings,
                self.layer,
                self.site_parts,
                entry.source,
                entry.created_ms,
            )
        except (EngineError, OSError, ValueError) as exc:
            self.faults[entry.id] = naming(entry.id, exc)
            log.error("forum %s cannot start: %s", entry.id, exc)
            return None
        return await self._start(entry, runtime)

    async def _start(self, entry: Entry, runtime: ForumRuntime) -> ForumRuntime | None:
        try:
            clash = self.by_code.get(runtime.code)
            if clash is not None and clash != entry.id:
                raise EngineError(f"join code {runtime.code} is already forum {clash!r}'s")
            await asyncio.to_thread(runtime.engine.load)
            await runtime.start()
        except (EngineError, ProgrammeError, OSError, ValueError) as exc:
            await self._discard(runtime)
            self.faults[entry.id] = naming(entry.id, exc)
            log.error("forum %s cannot start: %s", entry.id, exc)
            return None
        except Exception as exc:  # one forum's bug must not keep the others from starting
            await self._discard(runtime)
            self.faults[entry.id] = f"forum {entry.id!r} failed to start: {type(exc).__name__}"
            log.exception("forum %s failed to start", entry.id)
            return None
        self.faults.pop(entry.id, None)
        runtime.created_ms = entry.created_ms
        runtime.state = ForumState.CLOSED if entry.state is ForumState.CLOSED else ForumState.OPEN
        self.runtimes[entry.id] = runtime
        self.by_code[runtime.code] = entry.id
        return runtime

    @staticmethod
    async def _discard(runtime: ForumRuntime) -> None:
        try:
            await runtime.stop()
        except Exception:
            log.exception("forum %s did not stop cleanly", runtime.id)

    async def unload(self, forum_id: str, let_go: bool = True) -> None:
        runtime = self.runtimes.pop(forum_id, None)
        if runtime is None:
            return
        self.by_code.pop(runtime.code, None)
        try:
            await runtime.stop(let_go)
        except Exception:
            log.exception("forum %s did not stop cleanly", forum_id)
        self.on_stop(runtime.hub)

    async def apply(self, entry: Entry) -> None:
        """Bring this worker's runtime of a forum in line with its entry."""
        runtime = self.runtimes.get(entry.id)
        if entry.state is ForumState.ARCHIVED:
            await self.unload(entry.id)
            return
        if runtime is None:
            if entry.source is Source.CONSOLE:
                await self._adopt(entry)
            else:
                await self._reload_file(entry)
            return
        if entry.state is ForumState.CLOSED and runtime.state is ForumState.OPEN:
            await runtime.close()
        elif entry.state is ForumState.OPEN:
            runtime.state = ForumState.OPEN

    async def _reload_file(self, entry: Entry) -> None:
        path = self.files.get(entry.id)
        if path is None:
            return
        try:
            programme = await asyncio.to_thread(load_programme, path)
        except ProgrammeError as exc:
            self.faults[entry.id] = str(exc)
            return
        await self.load(entry, programme)

    # watching the shared registry

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            try:
                async with self.lock:
                    await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot read the forum registry: %s", exc)

    async def refresh(self) -> None:
        """Take in what other workers changed in the registry since this one last looked."""
        version = await asyncio.to_thread(self.registry.version)
        if version == self.version:
            return
        self.version = version
        entries = await asyncio.to_thread(self.registry.entries)
        for forum_id in [f for f in self.entries if f not in entries]:
            await self.unload(forum_id)
            self.entries.pop(forum_id, None)
            self.faults.pop(forum_id, None)
            self.titles.pop(forum_id, None)
        for forum_id, entry in entries.items():
            known = self.entries.get(forum_id)
            if entry.source is Source.FILE and forum_id not in self.files:
                continue  # another worker's command line: not this one's to serve
            if known is None or known.state is not entry.state:
                self.entries[forum_id] = entry
                await self.apply(entry)
