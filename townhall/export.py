"""Exports for the organiser: the boards' posts with their upvotes and states, as CSV and JSON.

Behind the host key, sent as `Authorization: Bearer KEY` so it never sits in a URL or a log.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from townhall.model.forum import Forum

CSV_COLUMNS = (
    "board",
    "board_title",
    "post",
    "state",
    "upvotes",
    "name",
    "text",
    "original_text",
    "merged_into",
    "posted_at",
)
# A spreadsheet runs a cell that starts like a formula; participants wrote these cells.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def post_rows(forum: Forum) -> list[dict[str, Any]]:
    """One row per post on every board, in the order they were posted."""
    rows = []
    for board_id, board in forum.boards.boards.items():
        for post in board.posts.values():
            rows.append(
                {
                    "board": board_id,
                    "board_title": board.item.title,
                    "post": post.id,
                    "state": post.state.value,
                    "upvotes": len(post.upvoters),
                    "name": post.name,
                    "text": post.text,
                    "original_text": post.original,
                    "merged_into": post.merged_into or "",
                    "posted_at": datetime.fromtimestamp(post.at_ms / 1000, UTC).isoformat(),
                }
            )
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def routes(forum: Callable[[], Forum], code: str, host_key: str) -> list[Route]:
    """The export routes; `forum` gives this process's current view of the forum."""

    def authorised(request: Request) -> Response | None:
        if request.path_params["code"].upper() != code:
            return Response("no forum with that code", status_code=404, media_type="text/plain")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode(), host_key.encode()
        ):
            return Response(
                "send the host key as: Authorization: Bearer KEY",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None

    async def posts_csv(request: Request) -> Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        return Response(
            to_csv(post_rows(forum())),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{code}-posts.csv"'},
        )

    async def posts_json(request: Request) -> Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        current = forum()
        return JSONResponse(
            {
                "forum": current.programme.id,
                "title": current.programme.title,
                "seq": current.seq,
                "exported_at": datetime.now(UTC).isoformat(),
                "posts": post_rows(current),
            },
            headers={"Content-Disposition": f'attachment; filename="{code}-posts.json"'},
        )

    return [
        Route("/export/{code}/posts.csv", posts_csv),
        Route("/export/{code}/posts.json", posts_json),
    ]
