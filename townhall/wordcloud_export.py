"""The word items' exports, `words.json` and `words.csv`: every word of each word item's shown
answers with its count, as the cloud counts them, behind the host key like every export. The
answers themselves are in the posts' export."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from townhall.export import host_refusal, json_or_csv, to_csv
from townhall.model.forum import Forum
from townhall.wordcloud import WordClouds, is_words

CSV_COLUMNS = ("board", "board_title", "rank", "word", "count")


async def clouds_of(forum: Forum, clouds: WordClouds) -> list[dict[str, Any]]:
    """Each word item with its shown answers' count and every word counted, most first."""
    found = []
    for board_id, board in forum.boards.boards.items():
        if is_words(board.item):
            found.append(
                {
                    "board": board_id,
                    "title": board.item.title,
                    "answers": sum(1 for p in board.posts.values() if p.state.public),
                    "hidden_words": list(board.item.hidden_words),
                    "words": await clouds.counts(board, None),
                }
            )
    return found


def csv_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"board": c["board"], "board_title": c["title"], "rank": rank, "word": w, "count": n}
        for c in found
        for rank, (w, n) in enumerate(c["words"], start=1)
    ]


def routes(
    forum: Callable[[], Forum],
    clouds: WordClouds,
    code: str,
    host_key: str,
    refresh: Callable[[], Awaitable[None]],
) -> list[Route]:
    """`GET /export/{code}/words.json` and `words.csv`; `refresh` brings `forum` up to date."""

    async def words(request: Request) -> Response:
        refused = host_refusal(request, code, host_key)
        if refused is not None:
            return refused
        await refresh()
        now = forum()
        found = await clouds_of(now, clouds)
        return json_or_csv(
            request,
            code,
            "words",
            now,
            ("clouds", found),
            lambda: to_csv(csv_rows(found), CSV_COLUMNS),
        )

    return [
        Route("/export/{code}/words.json", words),
        Route("/export/{code}/words.csv", words),
    ]
