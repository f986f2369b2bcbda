"""What every HTTP request passes before Townhall reads it: header limits, security headers, and
the Socket.IO endpoint's own checks (no JSONP, no requests from other sites)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from townhall.identity import participant_cookies

MAX_HEADER_BYTES = 8 * 1024
MAX_TARGET_BYTES = 4 * 1024  # a path and query: Townhall's own are under 200 bytes
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
SOCKET_IO_PATH = "/socket.io/"
# A browser names where a request comes from; only the forum's own pages may open a session.
# "none" is a request the person made themselves (typed or bookmarked).
ALLOWED_FETCH_SITES = frozenset({b"same-origin", b"none"})


def refusal(status: int, reason: str) -> Response:
    return Response(reason, status_code=status, media_type="text/plain")


class HeaderLimits:
    """Refuses any request or WebSocket handshake whose headers or target are oversized.

    Placed before everything else that reads a request, so neither the pages nor the Socket.IO
    handshake parse a huge header or query.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(k) + len(v) for k, v in scope.get("headers", ()))
            target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            if size > MAX_HEADER_BYTES or target > MAX_TARGET_BYTES:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1009})
                    return
                status, reason = (
                    (431, "request headers too large")
                    if size > MAX_HEADER_BYTES
                    else (414, "request target too long")
                )
                await refusal(status, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the content security policy and friends to every HTTP response, `/socket.io/`'s too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SocketIOGuard:
    """Requests to the Socket.IO endpoint come from the forum's own pages, and a session is
    spoken for by the participant who opened it.

    A `<script>` tag on another site (or another port of the same host) sends the participant's
    cookie and no Origin, so Engine.IO's origin check never runs on it; were JSONP answered, the
    page would read the session id and could speak as the participant. So JSONP (`j=`) is
    refused outright, and a browser request that says it comes from another site
    (`Sec-Fetch-Site`) is refused before Engine.IO sees it. Requests with an Origin are also
    checked by Engine.IO itself; WebSocket handshakes always carry an Origin and are checked
    there. And a session id is no bearer token: every later request naming a session must carry
    the participant cookies its handshake carried (`opened_with(sid)` gives those).
    """

    def __init__(
        self,
        app: ASGIApp,
        opened_with: Callable[[str], str | None],
        path: str = SOCKET_IO_PATH,
    ) -> None:
        self.app = app
        self.opened_with = opened_with
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # python-engineio serves the path with or without its trailing slash; so is it guarded.
        path = scope.get("path", "")
        path = path if path.endswith("/") else path + "/"
        if scope["type"] in ("http", "websocket") and path.startswith(self.path):
            reason = self.refused(scope)
            if reason is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await refusal(400, reason)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refused(self, scope: Scope) -> str | None:
        """Why this request is refused, or None."""
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "j" in query:
            return "JSONP is not served"
        cookie = ""
        for name, value in scope.get("headers", ()):
            if name == b"sec-fetch-site" and value.strip().lower() not in ALLOWED_FETCH_SITES:
                return "requests from other sites are not accepted"
            if name == b"cookie":
                cookie = value.decode("latin-1")
        sid = query.get("sid")
        if sid:
            opened = self.opened_with(sid[0])
            if opened is not None and participant_cookies(cookie) != opened:
                return "this session belongs to another participant"
        return None
