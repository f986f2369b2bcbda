"""The opinion shift's exports, `shift.json` and `shift.csv`: every compared pair of polls with
its whole figures (the host's, nothing hidden), behind the host key like every export.
Participants appear only as counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import product
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from townhall.export import host_refusal, json_or_csv, to_csv
from townhall.model.comparison import compared, labelled
from townhall.model.forum import Forum
from townhall.model.shift import NO_CODE, NOT_VOTED, figures, shift_cells
from townhall.model.state import PollStatus

CSV_COLUMNS = (
    "poll",
    "compare_to",
    "group",
    "pre",
    "pre_label",
    "final",
    "final_label",
    "people",
)
# Never a group's id (ids are lowercase letters, digits, - and _), so a row can't be mistaken.
EVERYONE_ROW = "(everyone)"
NO_CODE_ROW = "(no code)"
NOT_VOTED_LABEL = "(did not vote)"


def comparisons(forum: Forum) -> list[dict[str, Any]]:
    """Each poll compared with an earlier one, in agenda order: its figures as they stand
    (final only once both polls are closed), whether the room is shown them, and the cells."""
    found = []
    for item in forum.programme.items:
        if not item.compare_to or item.id not in forum.polls:
            continue
        pre, final = forum.polls[item.compare_to], forum.polls[item.id]
        cells = shift_cells(compared(pre), compared(final))
        whole = figures(cells, [o.id for o in pre.options], [o.id for o in final.options])
        found.append(
            {
                "poll": item.id,
                "compare_to": item.compare_to,
                "polls_closed": pre.status is final.status is PollStatus.CLOSED,
                "shown": item.id in forum.shifts.shown,
                "min_cell": item.shift_min_cell,
                **labelled(whole, pre, final),
                "cells": [list(cell) for cell in cells],
            }
        )
    return found


def csv_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (group, pre, final) cell of every comparison, zeros too: everyone first, then
    each group; a pre (or final) of "" counts the people who voted only in the other poll."""
    rows = []
    for pair in found:
        pre = [(o["id"], o["label"]) for o in pair["pre_options"]] + [(NOT_VOTED, NOT_VOTED_LABEL)]
        final = [(o["id"], o["label"]) for o in pair["final_options"]]
        final.append((NOT_VOTED, NOT_VOTED_LABEL))
        groups = [None, *(pop["group"] for pop in pair["by_group"])]
        for group in groups:
            people: dict[tuple[str, str], int] = {}
            for g, p, f, n in pair["cells"]:
                if group is None or g == group:
                    people[(p, f)] = people.get((p, f), 0) + n
            name = EVERYONE_ROW if group is None else group if group != NO_CODE else NO_CODE_ROW
            for (p, p_label), (f, f_label) in product(pre, final):
                if p == f == NOT_VOTED:
                    continue
                rows.append(
                    {
                        "poll": pair["poll"],
                        "compare_to": pair["compare_to"],
                        "group": name,
                        "pre": p,
                        "pre_label": p_label,
                        "final": f,
                        "final_label": f_label,
                        "people": people.get((p, f), 0),
                    }
                )
    return rows


def routes(
    forum: Callable[[], Forum], code: str, host_key: str, refresh: Callable[[], Awaitable[None]]
) -> list[Route]:
    """`GET /export/{code}/shift.json` and `shift.csv`; `refresh` brings `forum` up to date."""

    async def shift(request: Request) -> Response:
        refused = host_refusal(request, code, host_key)
        if refused is not None:
            return refused
        await refresh()
        now = forum()
        found = comparisons(now)
        return json_or_csv(
            request,
            code,
            "shift",
            now,
            ("comparisons", found),
            lambda: to_csv(csv_rows(found), CSV_COLUMNS),
        )

    return [
        Route("/export/{code}/shift.json", shift),
        Route("/export/{code}/shift.csv", shift),
    ]
