"""Public records for the tests, built by following docs/record.md (not Townhall's writer): a
forum as a list of line objects, then chained, then written as canonical JSON Lines."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import rfc8785

KEY = b"test forum secret"
AT = 1_785_000_000_000  # when the test forum's first event was stored, in ms


def pseudonym(participant: str) -> str:
    return "p-" + hmac.new(KEY, participant.encode(), hashlib.sha256).hexdigest()[:16]


def header(forum: str) -> dict[str, Any]:
    scheme = {"scheme": "hmac-sha256", "length": 16, "key": "per-forum secret, not published"}
    return {"format": "townhall-record", "version": 1, "forum": forum, "pseudonyms": scheme}


class Events:
    """Appends events with their seq and time; `who` is "host", "server", a participant's id
    (pseudonymised here) or ("committee", member)."""

    def __init__(self, forum: str) -> None:
        self.lines: list[dict[str, Any]] = [header(forum)]

    def add(self, who: str | tuple[str, str], kind: str, **fields: Any) -> dict[str, Any]:
        if isinstance(who, tuple):
            actor = {"role": who[0], "id": who[1]}
        elif who in ("host", "server"):
            actor = {"role": who}
        else:
            actor = {"role": "participant", "id": pseudonym(who)}
        seq = len(self.lines)
        line = {"seq": seq, "at": AT + 1000 * seq, "type": kind, "actor": actor, **fields}
        self.lines.append(line)
        return line

    def post(self, who: str, board: str, text: str, name: str) -> dict[str, Any]:
        seq = len(self.lines)
        return self.add(
            who,
            "post_created",
            board=board,
            post=seq,
            state="visible",
            op=f"op-{seq}",
            at_ms=AT + 1000 * seq,
            text_sha256=salted_sha(salt(seq), text),
            name_sha256=salted_sha(salt(seq), name),
            plain={"salt": salt(seq), "text": text, "name": name},
        )

    def edit(self, post: int, text: str) -> dict[str, Any]:
        seq = len(self.lines)
        return self.add(
            "host",
            "post_edited",
            post=post,
            text_sha256=salted_sha(salt(seq), text),
            plain={"salt": salt(seq), "text": text},
        )


def chained(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines with their `prev` and `hash` (any earlier ones replaced)."""
    prev = "0" * 64
    done = []
    for line in lines:
        body = {k: v for k, v in line.items() if k not in ("prev", "hash", "plain")}
        body["prev"] = prev
        prev = hashlib.sha256(rfc8785.dumps(body)).hexdigest()
        done.append(dict(line, prev=body["prev"], hash=prev))
    return done


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    """The record's bytes: each line chained, canonical, ended by LF."""
    return b"".join(rfc8785.dumps(line) + b"\n" for line in chained(lines))


def salt(seq: int) -> str:
    """The salt of line `seq`'s texts, as the spec's writer derives it from the forum secret."""
    return hmac.new(KEY, f"record text salt {seq}".encode(), hashlib.sha256).hexdigest()[:32]


def salted_sha(salt: str, text: str) -> str:
    """`text_sha256` or `name_sha256`: SHA-256 of the UTF-8 bytes of the salt, then the text."""
    return hashlib.sha256((salt + text).encode()).hexdigest()


def poll(poll_id: str, title: str, options: list[str], choice: str = "single") -> dict[str, Any]:
    return {
        "id": poll_id,
        "kind": "poll",
        "title": title,
        "question": title,
        "options": [[o, o.title()] for o in options],
        "choice": choice,
        "max_choices": 1 if choice == "single" else len(options),
    }


# The forum of the tests: a warm-up poll, an idea board, and the selection's live vote on three
# candidates, scored by a committee of two on a two-question rubric.
PROGRAMME: dict[str, Any] = {
    "id": "library-forum",
    "title": "Small library forum",
    "language": "en",
    "items": [
        {"id": "welcome", "kind": "talk", "title": "Welcome"},
        poll("lunch", "Soup or salad?", ["soup", "salad"]),
        {"id": "ideas", "kind": "ideas", "title": "Ideas"},
        poll("pick", "Which experiment?", ["reading", "club", "repair"]),
    ],
    "selection": {
        "poll": "pick",
        "candidates": [
            ["reading", "Reading room", 10],
            ["club", "Book club", 6],
            ["repair", "Repair café", 2],
        ],
        "committee": ["kim", "lee"],
        "rule": {
            "weights": {"agreement": 25, "live_vote": 25, "committee": 50},
            "conversion": "share",
            "rubric": ["Does it matter to daily life?", "Is it feasible?"],
            "lowest": 1,
            "highest": 5,
            "tie_break": ["committee", "live_vote", "agreement"],
        },
    },
}

# The result worked by hand. Agreements 10/6/2 (sum 18) and live votes 5/3/1 (sum 9), each
# shared out of 25: reading 25·10/18 = 125/9 and 25·5/9 = 125/9; club 25·6/18 = 25/3 twice;
# repair 25·2/18 = 25/9 twice. Committee, the mean of the scores given ÷ 5 × 50:
# reading (4+5+5+5)/4 = 19/4 → 95/2; club (3+3+2+4)/4 = 3 → 30; repair (5+4)/2 = 9/2 → 45.
# Totals: reading 250/9 + 95/2 = 1355/18; club 50/3 + 30 = 140/3; repair 50/9 + 45 = 455/9.
RESULT_ROWS = [
    {
        "rank": 1,
        "candidate": "reading",
        "agreements": 10,
        "live_votes": 5,
        "committee_scores_given": 4,
        "points": {"agreement": "125/9", "live_vote": "125/9", "committee": "95/2"}
        | {"total": "1355/18"},
    },
    {
        "rank": 2,
        "candidate": "repair",
        "agreements": 2,
        "live_votes": 1,
        "committee_scores_given": 2,
        "points": {"agreement": "25/9", "live_vote": "25/9", "committee": "45", "total": "455/9"},
    },
    {
        "rank": 3,
        "candidate": "club",
        "agreements": 6,
        "live_votes": 3,
        "committee_scores_given": 4,
        "points": {"agreement": "25/3", "live_vote": "25/3", "committee": "30", "total": "140/3"},
    },
]


def forum() -> list[dict[str, Any]]:
    """The test forum from start to published result, unchained: a fresh copy to change."""
    e = Events(PROGRAMME["id"])
    programme = copy.deepcopy(PROGRAMME)
    e.add("server", "server_started", engine="memory", townhall="0.1.0", programme=programme)
    e.lines[-1]["rules"] = {"max_post_length": 280, "posts_per_minute": 6}
    e.add("host", "item", index=1, timer_ms=60_000)
    e.add("host", "poll_opened", poll="lunch")
    for who, choice in [("ana", "soup"), ("ben", "salad"), ("cy", "soup"), ("ben", "soup")]:
        e.add(who, "ballot", poll="lunch", choices=[choice], op=f"{who}-{choice}")
    e.add("host", "poll_closed", poll="lunch", tally={"soup": 3, "salad": 0})
    e.add("host", "results", poll="lunch", visible=True)
    e.add("host", "item", index=2, timer_ms=600_000)
    post = e.post("ana", "ideas", "A repair café on Saturdays ☕", "Ana")["post"]
    e.edit(post, "A repair café on Saturdays")
    e.add("host", "item", index=3, timer_ms=300_000)
    e.add("host", "poll_opened", poll="pick")
    voters = [f"v{n}" for n in range(9)]
    firsts = ["reading"] * 5 + ["repair", "club", "club", "reading"]
    finals = ["reading"] * 5 + ["club", "club", "club", "repair"]  # two change their minds
    for who, first in zip(voters, firsts, strict=True):
        e.add(who, "ballot", poll="pick", choices=[first], op=f"{who}-1")
    for who, first, final in zip(voters, firsts, finals, strict=True):
        if final != first:
            e.add(who, "ballot", poll="pick", choices=[final], op=f"{who}-2")
    version = e.lines[-1]["seq"]
    e.add("host", "poll_closed", poll="pick", tally={"reading": 5, "club": 3, "repair": 1})
    counts = [["reading", 5], ["club", 3], ["repair", 1]]
    e.add("host", "live_vote", poll="pick", version=version, counts=counts)
    for member, candidate, scores in [
        ("kim", "club", [1, 1]),  # changed below
        ("kim", "reading", [4, 5]),
        ("lee", "reading", [5, 5]),
        ("kim", "club", [3, 3]),
        ("lee", "club", [2, 4]),
        ("kim", "repair", [5, 4]),
    ]:
        given = [[q, v] for q, v in enumerate(scores)]
        e.add(
            ("committee", member),
            "committee_scored",
            member=member,
            candidate=candidate,
            scores=given,
        )
    e.add("host", "scoring_locked", locked=True)
    e.add(
        "host", "selection_published", published=True, result={"rows": copy.deepcopy(RESULT_ROWS)}
    )
    return e.lines


def example() -> list[dict[str, Any]]:
    """docs/record.md's worked example: a start, a poll opened, three ballots, a change of
    mind, the close with its tally."""
    e = Events("demo")
    tiny = {
        "id": "demo",
        "title": "Demo",
        "language": "en",
        "items": [poll("lunch", "Soup or salad?", ["soup", "salad"])],
    }
    e.add(
        "server",
        "server_started",
        engine="memory",
        townhall="0.1.0",
        programme=tiny,
        rules={"max_post_length": 280},
    )
    e.add("host", "poll_opened", poll="lunch")
    for who, choice in [("ana", "soup"), ("ben", "salad"), ("cy", "salad"), ("ben", "soup")]:
        e.add(who, "ballot", poll="lunch", choices=[choice], op=f"{who}-{choice}")
    e.add("host", "poll_closed", poll="lunch", tally={"soup": 2, "salad": 1})
    return e.lines
