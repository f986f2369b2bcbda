"""Pages drawn once and sent many times: a hall joining at once asks for the same join page
thousands of times a minute, and drawing and gzipping it was most of what a join cost
(docs/performance.md, "The join storm")."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.responses import HTMLResponse

from townhall.assets import GZIP_MINIMUM_BYTES, REVALIDATE, accepts_gzip

# Pages kept at once. What a page is drawn from (its template, language, path, where the agenda
# stands, a refusal's text) takes few values on a forum's own pages; a refusal page echoes any
# path asked for, so the cache is emptied when full rather than grown.
MAX_PAGES = 256


@dataclass(frozen=True, slots=True)
class DrawnPage:
    """A page's HTML, and the same gzipped when that is smaller by enough to be worth it."""

    body: bytes
    gzipped: bytes | None

    @classmethod
    def of(cls, html: str) -> DrawnPage:
        body = html.encode("utf-8")
        if len(body) < GZIP_MINIMUM_BYTES:
            return cls(body, None)
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)  # once: the smallest
        return cls(body, gzipped if len(gzipped) < len(body) else None)

    def response(self, accept_encoding: str) -> HTMLResponse:
        """The page for a browser sending this Accept-Encoding; made afresh for each visit as
        far as caches on the way know (its state, its language)."""
        headers = {"cache-control": f"private, {REVALIDATE}"}
        if self.gzipped is not None and accepts_gzip(accept_encoding):
            # The gzip middleware leaves a response with an encoding be, Vary included; the
            # plain page is given its Vary there.
            headers["content-encoding"] = "gzip"
            headers["vary"] = "Accept-Encoding"
            return HTMLResponse(self.gzipped, headers=headers)
        return HTMLResponse(self.body, headers=headers)


class PageCache:
    """Drawn pages by everything they were drawn from."""

    def __init__(self, limit: int = MAX_PAGES) -> None:
        self.limit = limit
        self.pages: dict[Hashable, DrawnPage] = {}

    def get(self, key: Hashable, draw: Callable[[], str]) -> DrawnPage:
        """The page drawn for `key`, drawing it with `draw` the first time."""
        page = self.pages.get(key)
        if page is None:
            if len(self.pages) >= self.limit:
                self.pages.clear()
            page = self.pages[key] = DrawnPage.of(draw())
        return page
