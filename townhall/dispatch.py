"""The server's one Socket.IO namespace: each connection names a forum's code when it connects,
and from then on every event of that connection goes to that forum's hub."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

from townhall.hub import ForumHub, error_ack
from townhall.transport.layer import NAMESPACE, SocketLayer

log = logging.getLogger(__name__)


class Refused(Exception):
    """No forum takes this connection: a code for the client, and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Dispatcher(socketio.AsyncNamespace):  # type: ignore[misc]
    """Routes each connection to the hub of the forum whose code it connected with. `find`
    returns that hub, or raises Refused (no such forum, or it is closed)."""

    def __init__(self, transport: SocketLayer, find: Callable[[str], ForumHub]) -> None:
        super().__init__(NAMESPACE)
        self.transport = transport
        self.find = find
        self.hubs: dict[str, ForumHub] = {}  # sid -> the hub of its forum

    async def trigger_event(self, event: str, *args: Any) -> Any:
        sid = args[0]
        hub = self.hubs.get(sid)
        if event == "connect" and hub is None:
            return await self._connect(*args)
        if hub is None:
            if event == "disconnect":
                return None
            return error_ack("not_connected", "connect to the forum first")
        try:
            return await hub.trigger_event(event, *args)
        finally:
            if event == "disconnect" and sid not in hub.connections:
                self.hubs.pop(sid, None)

    def runs_inline(self, sid: str) -> bool:
        """Whether this connection's events may be handled outside a task: its forum's engine
        never asks for the task it runs in."""
        hub = self.hubs.get(sid)
        return hub is not None and hub.engine.runs_inline

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> Any:
        if not isinstance(auth, dict):
            raise refuse("bad_auth", "send {role, code} when connecting")
        code = auth.get("code")
        if not isinstance(code, str) or not code.isascii() or len(code) > 32:
            raise refuse("unknown_forum", "no forum with that code")
        try:
            hub = self.find(code.upper())
        except Refused as exc:
            raise refuse(exc.code, exc.message) from None
        self.hubs[sid] = hub
        try:
            return await hub.trigger_event("connect", sid, environ, auth)
        except BaseException:
            self.hubs.pop(sid, None)
            raise

    def forget(self, hub: ForumHub) -> None:
        """A forum has stopped: its connections are gone."""
        for sid in [sid for sid, held in self.hubs.items() if held is hub]:
            del self.hubs[sid]


def refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code})
