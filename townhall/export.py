"""Exports for the organiser, as CSV and JSON: the boards' posts with their upvotes and states,
every poll's results with the tally at each close, and the selection with its inputs, settings
and result, enough to recompute it by hand.

Behind the host key, sent as `Authorization: Bearer KEY` so it never sits in a URL or a log.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from townhall.committee_sheet import committee_rows
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
BOM = "\ufeff"  # encoded as UTF-8: EF BB BF; our own readers open CSV as utf-8-sig
# A spreadsheet runs a cell that starts like a formula; participants wrote these cells.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def attachment(filename: str) -> dict[str, str]:
    """The headers of an export: a download under `filename`, kept by no cache on the way (it
    holds the forum as it stands, and is asked for with the host key)."""
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


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


def selection_rows(table: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The selection as one row per candidate, in rank order: its inputs (every member's score
    on every question, blank where not given), its points, and the rule's settings."""
    rule, live = table["rule"], table["live_vote"] or {}
    questions = len(rule["rubric"])
    members = table["committee_members"]
    score_columns = [f"{m} q{q}" for m in members for q in range(1, questions + 1)]
    columns = [
        "rank",
        "candidate",
        "title",
        "agreements",
        "live_votes",
        *score_columns,
        "committee_mean",
        "scores_given",
        "scores_missing",
        "points_agreement",
        "points_live_vote",
        "points_committee",
        "total",
        "total_exact",
        "weight_agreement",
        "weight_live_vote",
        "weight_committee",
        "conversion",
        "score_range",
        "tie_break",
        "live_vote_poll",
        "live_vote_version",
        "published",
        "record_digest",
    ]
    scores = table["committee_scores"]
    rows = []
    for row in table["rows"]:
        inputs, points = row["inputs"], row["points"]
        given = {
            f"{m} q{q}": scores.get(m, {}).get(row["candidate"], {}).get(str(q), "")
            for m in members
            for q in range(1, questions + 1)
        }
        rows.append(
            {
                "rank": row["rank"],
                "candidate": row["candidate"],
                "title": row["title"],
                "agreements": inputs["agreements"],
                "live_votes": inputs["live_votes"],
                **given,
                "committee_mean": ""
                if inputs["committee_mean"] is None
                else inputs["committee_mean"],
                "scores_given": inputs["scores_given"],
                "scores_missing": inputs["scores_missing"],
                "points_agreement": points["agreement"],
                "points_live_vote": points["live_vote"],
                "points_committee": points["committee"],
                "total": row["total"],
                "total_exact": row["exact"]["total"],
                "weight_agreement": rule["weights"]["agreement"],
                "weight_live_vote": rule["weights"]["live_vote"],
                "weight_committee": rule["weights"]["committee"],
                "conversion": rule["conversion"],
                "score_range": "-".join(map(str, rule["score_range"])),
                "tie_break": " > ".join(rule["tie_break"]),
                "live_vote_poll": live.get("poll", ""),
                "live_vote_version": live.get("version", ""),
                "published": table["published"],
                "record_digest": table.get("digest", ""),
            }
        )
    return columns, rows


RESULT_COLUMNS = (
    "poll",
    "question",
    "option",
    "label",
    "count",
    "voters",
    "choice",
    "mean",
    "opened_at",
    "closed_at",
    "closes",
    "group",
)


def result_rows(polls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per option of every poll: its count now (a ranking's: its Borda points), a
    scale's mean point, when the poll first opened and last closed, and its count at each
    close, in order, separated by spaces; then, for a poll kept by group, one row per group and
    option with the group's count (`group` names it)."""
    rows = []
    for poll in polls:
        spells = poll["openings"]
        closes = [spell["counts"] for spell in spells if spell["counts"] is not None]
        closed = [spell["closed_at"] for spell in spells if spell["closed_at"]]
        for option in poll["options"]:
            rows.append(
                {
                    "poll": poll["poll"],
                    "question": poll["question"],
                    "option": option["id"],
                    "label": option["label"],
                    "count": option["count"],
                    "voters": poll["voters"],
                    "choice": poll["choice"],
                    "mean": "" if poll.get("mean") is None else poll["mean"],
                    "opened_at": (spells[0]["opened_at"] or "") if spells else "",
                    "closed_at": closed[-1] if closed else "",
                    "closes": " ".join(str(c.get(option["id"], 0)) for c in closes),
                    "group": "",
                }
            )
        # A poll kept by group: each group's count of each option, after the whole poll's.
        for group, counts in (poll["groups"] or {}).items():
            for option in poll["options"]:
                rows.append(
                    {
                        "poll": poll["poll"],
                        "question": poll["question"],
                        "option": option["id"],
                        "label": option["label"],
                        "count": counts.get(option["id"], 0),
                        "group": group or "(no code)",
                    }
                )
    return rows


def json_or_csv(
    request: Request,
    code: str,
    name: str,
    forum: Forum,
    found: tuple[str, Any],
    csv_text: Callable[[], str],
) -> Response:
    """An export as a download: as CSV for a path ending .csv, else as JSON, with the forum, its
    seq and the time in front of `found` (its key and value)."""
    as_csv = request.url.path.endswith(".csv")
    file = f"{code}-{name}.{'csv' if as_csv else 'json'}"
    headers = attachment(f"{file}")
    if as_csv:
        return Response(csv_text(), media_type="text/csv; charset=utf-8", headers=headers)
    exported = {"forum": forum.programme.id, "title": forum.programme.title, "seq": forum.seq}
    exported["exported_at"] = datetime.now(UTC).isoformat()
    return JSONResponse({**exported, found[0]: found[1]}, headers=headers)


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str] = CSV_COLUMNS) -> str:
    """The rows as CSV text that starts with a byte-order mark: without one, spreadsheet
    programs read UTF-8 as the system's legacy code page, and Korean text comes out garbled."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def host_refusal(request: Request, code: str, host_key: str) -> Response | None:
    """The refusal to send instead of an export, if the request is not the host's."""
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


# The record's digest to stamp an export with: given the seq of the publication in force (None:
# nothing published), `{"seq", "digest"}` of that line, else of the record's last line.
Stamp = Callable[[int | None], Awaitable[dict[str, Any]]]


def routes(
    forum: Callable[[], Forum],
    code: str,
    host_key: str,
    refresh: Callable[[], Awaitable[None]] | None = None,
    stamp: Stamp | None = None,
) -> list[Route]:
    """The export routes; `forum` gives this process's current view of the forum, which
    `refresh` brings up to date with the store first; `stamp` gives the record's digest the
    selection exports carry."""

    async def current() -> Forum:
        if refresh is not None:
            await refresh()
        return forum()

    def authorised(request: Request) -> Response | None:
        return host_refusal(request, code, host_key)

    async def posts_csv(request: Request) -> Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        return Response(
            to_csv(post_rows(await current())),
            media_type="text/csv; charset=utf-8",
            headers=attachment(f"{code}-posts.csv"),
        )

    async def posts_json(request: Request) -> Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        now = await current()
        return JSONResponse(
            {
                "forum": now.programme.id,
                "title": now.programme.title,
                "seq": now.seq,
                "exported_at": datetime.now(UTC).isoformat(),
                "posts": post_rows(now),
            },
            headers=attachment(f"{code}-posts.json"),
        )

    async def selection(request: Request) -> dict[str, Any] | Response:
        """The selection as exported, or the refusal to send instead."""
        refused = authorised(request)
        if refused is not None:
            return refused
        now = await current()
        if now.committee is None:
            return Response(
                "this forum's programme has no [selection]: nothing to export",
                status_code=404,
                media_type="text/plain",
            )
        table = {
            "seq": now.seq,
            "exported_at": datetime.now(UTC).isoformat(),
            "committee_source": "the forum's log",
            **now.selection_result(),
        }
        if stamp is not None:
            # The published result's line in the record, so the file can be matched to what the
            # projector showed; before publication, the record as it stands.
            stamped = await stamp(now.committee.published_seq or None)
            table["digest"], table["digest_seq"] = stamped["digest"], stamped["seq"]
        return table

    async def selection_json(request: Request) -> Response:
        table = await selection(request)
        if isinstance(table, Response):
            return table
        return JSONResponse(
            table,
            headers=attachment(f"{code}-selection.json"),
        )

    async def selection_csv(request: Request) -> Response:
        table = await selection(request)
        if isinstance(table, Response):
            return table
        columns, rows = selection_rows(table)
        return Response(
            to_csv(rows, columns),
            media_type="text/csv; charset=utf-8",
            headers=attachment(f"{code}-selection.csv"),
        )

    async def committee_csv(request: Request) -> Response:
        """The committee's scores as the sheet `townhall score --committee` reads."""
        table = await selection(request)
        if isinstance(table, Response):
            return table
        columns, rows = committee_rows(table)
        return Response(
            to_csv(rows, columns),
            media_type="text/csv; charset=utf-8",
            headers=attachment(f"{code}-committee.csv"),
        )

    async def poll_results(request: Request) -> Response:
        """Every poll's results, as JSON or as CSV (one row per option)."""
        refused = authorised(request)
        if refused is not None:
            return refused
        now = await current()
        polls = now.poll_results()
        return json_or_csv(
            request,
            code,
            "results",
            now,
            ("polls", polls),
            lambda: to_csv(result_rows(polls), RESULT_COLUMNS),
        )

    return [
        Route("/export/{code}/posts.csv", posts_csv),
        Route("/export/{code}/posts.json", posts_json),
        Route("/export/{code}/selection.json", selection_json),
        Route("/export/{code}/selection.csv", selection_csv),
        Route("/export/{code}/committee.csv", committee_csv),
        Route("/export/{code}/results.json", poll_results),
        Route("/export/{code}/results.csv", poll_results),
    ]
