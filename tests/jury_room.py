"""A forum that takes part by ballot code, for the tests: a jury and an audience, a pre-vote
kept by group, a jury-only poll and an idea board, with codes issued into its book; and the
same served by a real Townhall."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.conftest import Live, serve
from townhall.codes.book import CodeBook
from townhall.model.agenda import Programme
from townhall.programme import load_programme

ROOM = """
[forum]
id = "jury-forum"
title = "정책배틀"
code = "JURY"

[eligibility]
mode = "{mode}"
groups = ["jury", "audience"]
{extra}

[[items]]
id = "pre"
kind = "poll"
title = "Pre-vote"
by_group = true
options = [{{ id = "yes", label = "Yes" }}, {{ id = "no", label = "No" }}]

[[items]]
id = "final"
kind = "poll"
title = "The jury's final vote"
voters = ["jury"]
options = [{{ id = "yes", label = "Yes" }}, {{ id = "no", label = "No" }}]

[[items]]
id = "ideas"
kind = "ideas"
title = "Ideas"
"""


def jury_room(tmp_path: Path, mode: str = "codes", extra: str = "") -> tuple[Programme, Codes]:
    """The room, with 3 jury codes and 2 audience codes issued into its book."""
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode=mode, extra=extra), encoding="utf-8")
    book = CodeBook(tmp_path / "jury-forum.codes.jsonl")
    jury = [c.code for c in book.issue(3, "jury", "jury-forum")]
    audience = [c.code for c in book.issue(2, "audience", "jury-forum")]
    return load_programme(room), Codes(jury, audience)


class Codes:
    def __init__(self, jury: list[str], audience: list[str]) -> None:
        self.jury, self.audience = jury, audience


@contextlib.asynccontextmanager
async def served_jury(tmp_path: Path) -> AsyncIterator[tuple[Live, Codes]]:
    """The jury room served by uvicorn in the test's loop, with its codes."""
    programme, codes = jury_room(tmp_path)
    async with serve(programme, tmp_path / "data") as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live, codes
        finally:
            await live.close_clients()
