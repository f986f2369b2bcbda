"""HTTP requests for one forum (its pages, QR code, exports and record) go to that forum's
routes by the code in their path; everything else, and a code no forum has, to the server's."""

from __future__ import annotations

import re
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from townhall.engine.registry import ForumState
from townhall.forums.runtime import ForumRuntime

# /j/CODE, /host/CODE, /screen/CODE, /committee/CODE, /moderate/CODE, /qr/CODE.svg,
# /export/CODE/…, /record/CODE/…
FORUM_PATH = re.compile(
    r"^/(?P<section>j|host|screen|committee|moderate|qr|export|record)/(?P<code>[A-Za-z0-9]{1,32})(?:\.svg$|/|$)"
)
# What a closed forum still answers: its exports and record, behind the host key.
CLOSED_SECTIONS = frozenset({"export", "record"})


class Finder(Protocol):
    def by_code_or_none(self, code: str) -> ForumRuntime | None: ...


class ForumRouter:
    def __init__(self, app: ASGIApp, forums: Finder) -> None:
        self.app = app
        self.forums = forums

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = FORUM_PATH.match(scope.get("path", ""))
            if match is not None:
                runtime = self.forums.by_code_or_none(match["code"])
                if runtime is not None and (
                    runtime.state is ForumState.OPEN or match["section"] in CLOSED_SECTIONS
                ):
                    await runtime.router(scope, receive, send)
                    return
        await self.app(scope, receive, send)
