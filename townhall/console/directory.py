"""What the console asks of the server's forums (townhall/forums/directory.py's ForumDirectory
is what it gets): the records it shows and the calls it makes."""

from __future__ import annotations

from typing import Any, Protocol

from townhall.engine.registry import ForumState
from townhall.forums.directory import ForumLinks, ForumSummary
from townhall.forums.held import DirectoryError

__all__ = ["Directory", "DirectoryError", "ForumLinks", "ForumState", "ForumSummary"]


class Directory(Protocol):
    """The forums a server holds."""

    def summaries(self) -> list[ForumSummary]: ...

    def summary(self, forum_id: str) -> ForumSummary: ...

    async def create(self, text: str, source: str) -> ForumSummary: ...

    async def set_state(self, forum_id: str, state: ForumState) -> ForumSummary: ...

    async def delete(self, forum_id: str) -> list[str]: ...

    def links(self, forum_id: str, base_url: str) -> ForumLinks: ...

    def programme_text(self, forum_id: str) -> str: ...

    async def change_agenda(
        self, forum_id: str, event: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Change a running forum's agenda as its host would (`poll_add`, `item_add`,
        `item_edit`, `option_add`, payloads as in docs/protocol.md); the host's ack."""
        ...
