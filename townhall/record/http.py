"""`GET /export/{code}/record.jsonl`: the public record, behind the host key like every export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from townhall.export import host_refusal
from townhall.record.book import RecordBook

MEDIA_TYPE = "application/jsonl"


def routes(book: RecordBook, code: str, host_key: str) -> list[Route]:
    async def record(request: Request) -> Response:
        refused = host_refusal(request, code, host_key)
        if refused is not None:
            return refused
        return StreamingResponse(
            book.lines(),
            media_type=MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{code}-record.jsonl"'},
        )

    return [Route("/export/{code}/record.jsonl", record)]
