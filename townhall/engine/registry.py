"""The registry of forums a server holds: which forums there are beyond the command line's,
their programmes, and whether each is open, closed or archived; kept where the engine keeps
forums (a directory in the data dir, or a hash in Redis), so that they come back after a
restart and every worker and node agrees on them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol


class ForumState(StrEnum):
    OPEN = "open"  # serving: phones join, the host runs it
    CLOSED = "closed"  # kept loaded: no one joins; the host key still reads its exports
    ARCHIVED = "archived"  # not loaded: its data is kept, and it can be opened again


class Source(StrEnum):
    FILE = "file"  # a programme file named on the command line: it is read from there
    CONSOLE = "console"  # made in the console: its programme is kept in the registry


@dataclass(frozen=True, slots=True)
class Entry:
    """One forum as the registry keeps it."""

    id: str
    state: ForumState
    source: Source
    created_ms: int
    programme: str = ""  # the TOML it runs from, for a forum made in the console

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Entry:
        data: dict[str, Any] = json.loads(text)
        return cls(
            id=str(data["id"]),
            state=ForumState(data["state"]),
            source=Source(data["source"]),
            created_ms=int(data["created_ms"]),
            programme=str(data.get("programme", "")),
        )


class Registry(Protocol):
    """Where the entries and the server's own secrets are kept. Calls may block on I/O: the
    server makes them in a thread."""

    def entries(self) -> dict[str, Entry]:
        """Every forum the registry holds, by id."""
        ...

    def put(self, entry: Entry) -> None: ...

    def remove(self, forum_id: str) -> None: ...

    def version(self) -> int:
        """A number that changes whenever an entry does, for workers watching for changes."""
        ...

    def get_secret(self, name: str) -> bytes | None: ...

    def put_secret(self, name: str, value: bytes) -> None: ...

    def has_forum_data(self, forum_id: str) -> bool:
        """Whether anything is stored for a forum with this id (a log, keys)."""
        ...

    def remove_forum_data(self, forum_id: str) -> list[str]:
        """Delete everything stored for a forum (its log, keys and state); says what went."""
        ...
