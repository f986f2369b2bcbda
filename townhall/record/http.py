"""The record over HTTP: `GET /export/{code}/record.jsonl` and the running digest behind the host
key like every export, and the published result's digest in public, for the projector."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from townhall.export import host_refusal
from townhall.model.forum import Forum
from townhall.record.book import RecordBook

MEDIA_TYPE = "application/jsonl"
NOT_STORED = {"Cache-Control": "no-store"}


def routes(
    book: RecordBook,
    code: str,
    host_key: str,
    forum: Callable[[], Forum],
    refresh: Callable[[], Awaitable[None]],
) -> list[Route]:
    async def record(request: Request) -> Response:
        refused = host_refusal(request, code, host_key)
        if refused is not None:
            return refused
        return StreamingResponse(
            book.lines(),
            media_type=MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{code}-record.jsonl"',
                **NOT_STORED,
            },
        )

    async def digest(request: Request) -> Response:
        """The record's running digest, for the host screen."""
        refused = host_refusal(request, code, host_key)
        if refused is not None:
            return refused
        seq, last = await book.digest()
        return JSONResponse({"seq": seq, "digest": last}, headers=NOT_STORED)

    async def published(request: Request) -> Response:
        """The published result's line in the record, which the projector shows: public, as
        the projector is; it names a hash, nothing more."""
        if request.path_params["code"].upper() != code:
            return Response("no forum with that code", status_code=404, media_type="text/plain")
        await refresh()
        committee = forum().committee
        seq = committee.published_seq if committee is not None else 0
        if not seq:
            return Response("no result is published", status_code=404, media_type="text/plain")
        return JSONResponse(await book.stamp(seq), headers=NOT_STORED)

    return [
        Route("/export/{code}/record.jsonl", record),
        Route("/export/{code}/digest.json", digest),
        Route("/record/{code}/published.json", published),
    ]
