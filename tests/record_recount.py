"""An independent recount of a Townhall public record, written from docs/record.md alone: it
imports nothing from Townhall. It checks the chain, then recomputes every poll's tally at its
close, each live vote, each published selection result and each shown opinion shift, and
prints them as JSON.

    python tests/record_recount.py RECORD.jsonl
"""

from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from typing import Any

import rfc8785


def recount(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as file:
        lines = [json.loads(text) for text in file.read().splitlines()]
    out: dict[str, Any] = {"chain_ok": True, "tallies": [], "live_votes": [], "selections": []}
    out["shifts"] = []
    prev = "0" * 64
    for line in lines:
        hashed = {k: v for k, v in line.items() if k not in ("hash", "plain")}
        own = hashlib.sha256(rfc8785.dumps(hashed)).hexdigest()
        out["chain_ok"] &= line["prev"] == prev and line["hash"] == own
        prev = line["hash"]
    out["digest"] = prev
    # Each `plain` present against its salted hashes: SHA-256 of its salt, then the text.
    out["plain_ok"] = all(
        hashlib.sha256((line["plain"]["salt"] + line["plain"][member]).encode()).hexdigest()
        == line[f"{member}_sha256"]
        for line in lines
        if "plain" in line
        for member in ("text", "name")
        if member in line["plain"]
    )
    # A post's line leaves `plain` out only when a purge (`posts_purged`, or the operator's
    # `forum_purged`) lists the post; and then every line of it does.
    purged = {
        post
        for line in lines
        if line.get("type") in ("posts_purged", "forum_purged")
        for post in line["posts"]
    }
    out["purges_ok"] = all(
        ("plain" in line) == (line["post"] not in purged)
        for line in lines
        if line.get("type") in ("post_created", "post_edited")
    )
    programme: dict[str, Any] = {}
    promoted: dict[str, tuple[list[list[str]], list[int]]] = {}
    ballots: dict[str, dict[str, list[str]]] = {}
    groups: dict[str, dict[str, str]] = {}
    scores: dict[tuple[str, str], list[list[int]]] = {}
    live: dict[str, int] = {}
    # Polls whose options the agenda's changes on the day set: added, or added to.
    changed: dict[str, list[list[str]]] = {}

    def options_of(poll: str) -> list[list[str]]:
        if poll in promoted:
            return promoted[poll][0]
        if poll in changed:
            return changed[poll]
        item: dict[str, Any] = next(i for i in programme["items"] if i["id"] == poll)
        return list(item["options"])

    def tally(poll: str) -> dict[str, int]:
        options = [o[0] for o in options_of(poll)]
        current = ballots.get(poll, {}).values()
        item: dict[str, Any] = next((i for i in programme["items"] if i["id"] == poll), {})
        if item.get("choice") == "ranking":  # Borda: of n, the 1st gets n - 1 points, the last 0
            return {o: sum(len(b) - 1 - b.index(o) for b in current if o in b) for o in options}
        return {o: sum(o in b for b in current) for o in options}

    for number, event in enumerate(lines[1:], start=2):
        kind = event["type"]
        if kind == "server_started":
            programme = event["programme"]
        elif kind == "item_added" and event["kind"] == "poll":
            changed[event["item"]] = list(event["options"])
        elif kind == "option_added":
            options = options_of(event["poll"])
            if event["poll"] not in promoted:
                changed[event["poll"]] = options = list(options)
            options.append([event["option"], event["label"]])
        elif kind == "poll_options":
            promoted[event["poll"]] = (event["options"], event["agreements"])
        elif kind == "ballot":
            ballots.setdefault(event["poll"], {})[event["actor"]["id"]] = event["choices"]
            groups.setdefault(event["poll"], {})[event["actor"]["id"]] = event.get("group", "")
        elif kind == "poll_closed":
            out["tallies"].append(
                {"line": number, "poll": event["poll"], "tally": tally(event["poll"])}
            )
        elif kind == "live_vote":
            live = {option: n for option, n in event["counts"]}
            counts = tally(event["poll"])
            out["live_votes"].append({"line": number, "poll": event["poll"], "counts": counts})
        elif kind == "committee_scored":
            scores[(event["member"], event["candidate"])] = event["scores"]
        elif kind == "shift" and event["visible"]:
            pre, final = (ballots.get(p, {}) for p in (event["compare_to"], event["poll"]))
            pre_groups, final_groups = (
                groups.get(p, {}) for p in (event["compare_to"], event["poll"])
            )
            cells: dict[tuple[str, str, str], int] = {}
            for person in set(pre) | set(final):
                group = final_groups.get(person) or pre_groups.get(person) or ""
                key = (group, pre.get(person, [""])[0], final.get(person, [""])[0])
                cells[key] = cells.get(key, 0) + 1
            listed = [[*key, n] for key, n in sorted(cells.items())]
            out["shifts"].append({"line": number, "poll": event["poll"], "cells": listed})
        elif kind == "selection_published" and event["published"]:
            rows = selection(programme["selection"], promoted, live, scores)
            out["selections"].append({"line": number, "rows": rows})
    return out


def selection(
    chosen: dict[str, Any],
    promoted: dict[str, tuple[list[list[str]], list[int]]],
    live: dict[str, int],
    scores: dict[tuple[str, str], list[list[int]]],
) -> list[dict[str, Any]]:
    """The spec's "The selection", step by step, in exact fractions."""
    rule = chosen["rule"]
    if chosen["poll"] in promoted:
        options, agreements = promoted[chosen["poll"]]
        if len(agreements) != len(options):
            agreements = [0] * len(options)
        candidates = [(o[0], n) for o, n in zip(options, agreements, strict=True)]
    else:
        candidates = [(c[0], c[2]) for c in chosen["candidates"]]

    def points(counts: list[int], weight: int) -> list[Fraction]:
        divisor = max(counts, default=0) if rule["conversion"] == "top" else sum(counts)
        return [Fraction(weight * n, divisor) if divisor else Fraction(0) for n in counts]

    weights = rule["weights"]
    votes = [live.get(c, 0) for c, _ in candidates]
    agreement = points([n for _, n in candidates], weights["agreement"])
    live_vote = points(votes, weights["live_vote"])
    rows: list[dict[str, Any]] = []
    for i, (candidate, agreements_) in enumerate(candidates):
        given = [v for (m, c), s in scores.items() if c == candidate for _, v in s]
        mean = Fraction(sum(given), len(given)) if given else Fraction(0)
        part = {
            "agreement": agreement[i],
            "live_vote": live_vote[i],
            "committee": mean / rule["highest"] * weights["committee"],
        }
        part["total"] = part["agreement"] + part["live_vote"] + part["committee"]
        rows.append(
            {"candidate": candidate, "agreements": agreements_, "live_votes": votes[i]}
            | {"committee_scores_given": len(given), "points": part}
        )

    def key(row: dict[str, Any]) -> list[Fraction]:
        return [row["points"][p] for p in ("total", *rule["tie_break"])]

    rows.sort(key=lambda row: row["candidate"])
    rows.sort(key=key, reverse=True)
    for place, row in enumerate(rows, start=1):
        tied = place > 1 and key(rows[place - 2]) == key(row)
        row["rank"] = rows[place - 2]["rank"] if tied else place
    for row in rows:
        row["points"] = {p: str(v) for p, v in row["points"].items()}
    return rows


if __name__ == "__main__":
    print(json.dumps(recount(sys.argv[1]), indent=1, ensure_ascii=False))
