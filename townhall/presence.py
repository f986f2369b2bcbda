"""Who is connected to this worker, by role: the hub counts connections in and out, and whoever
subscribes (the broadcaster, which sends the host the totals) is told of each change."""

from __future__ import annotations

from collections.abc import Callable

from townhall.model.commands import Role


class Presence:
    """This worker's connections by role, shared by the hub and the broadcaster."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys((role.value for role in Role), 0)
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever a connection comes or goes."""
        self._listeners.append(listener)

    def joined(self, role: Role) -> None:
        self._counts[role.value] += 1
        self._changed()

    def left(self, role: Role) -> None:
        self._counts[role.value] -= 1
        self._changed()

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
