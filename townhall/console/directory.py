"""What the console asks of the server's registry of forums (townhall/forums/): the records it
shows and the calls it makes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ForumState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class ForumSummary:
    id: str
    title: str
    code: str
    state: str  # a ForumState's value, or "fault": the forum could not start
    fault: str | None  # why it could not start, as a sentence
    phones: int  # participant connections now; 0 if not running
    created_ms: int
    last_activity_ms: int | None
    source: str  # "file" (given on the command line) or "console"


@dataclass(frozen=True, slots=True)
class ForumLinks:
    phone: str
    host: str  # carries #key=HOST_KEY
    screen: str
    moderator: str | None
    committee: dict[str, str]  # member -> link with #member=..&key=..
    qr: str  # "/qr/CODE.svg", the join QR code


class DirectoryError(Exception):
    """A refusal from the registry: `code` is one of unknown_forum, duplicate_id,
    duplicate_code, bad_state, not_allowed; `field` names the programme field, if one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Directory(Protocol):
    """The forums a server holds."""

    def summaries(self) -> list[ForumSummary]: ...

    def summary(self, forum_id: str) -> ForumSummary: ...

    async def create(self, text: str, source: str) -> ForumSummary: ...

    async def set_state(self, forum_id: str, state: ForumState) -> ForumSummary: ...

    async def delete(self, forum_id: str) -> None: ...

    def links(self, forum_id: str, base_url: str) -> ForumLinks: ...

    def programme_text(self, forum_id: str) -> str: ...
