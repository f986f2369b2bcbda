"""The selection committee: scoring on the rubric, the host's lock and publication, and who may
see what, in the model, on both engines, and over a real server."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ENGINES, Live, Refused, engine_url, serve
from townhall.engine import open_engine
from townhall.keys import committee_key
from townhall.model.commands import (
    Actor,
    ClosePoll,
    LockScoring,
    OpenPoll,
    PromoteIdeas,
    PublishSelection,
    Role,
    ScoreCandidate,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.errors import ForumError
from townhall.model.forum import Forum
from townhall.model.scorer import Candidate, Conversion, Rule, result
from townhall.programme import parse_programme

HOST = Actor(Role.HOST, "host")
KIM = Actor(Role.COMMITTEE, "kim")
LEE = Actor(Role.COMMITTEE, "lee")
ROOM = """\
[forum]
id = "committee-forum"
title = "Choosing an experiment"

[[items]]
id = "ideas"
kind = "ideas"
title = "Ideas"
promote_to = "vote"
promote_count = 2

[[items]]
id = "vote"
kind = "poll"
title = "Which experiment?"
options = [{ id = "a", label = "Proposal A" }, { id = "b", label = "Proposal B" }]

[selection]
poll = "vote"
committee = [{ id = "kim", name = "김지현" }, "lee"]
rubric = ["Impact?", "Feasible?"]

[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 30

[[selection.candidates]]
id = "b"
title = "Proposal B"
agreements = 10
"""


def programme() -> Any:
    return parse_programme(ROOM, source="committee.toml")


def refused(forum: Forum, actor: Actor, command: Any) -> str:
    with pytest.raises(ForumError) as caught:
        forum.execute(actor, command, 0)
    return caught.value.code


def closed_forum(votes: dict[str, str]) -> Forum:
    forum = Forum(programme())
    forum.execute(HOST, OpenPoll("vote"), 0)
    for participant, choice in votes.items():
        forum.execute(Actor(Role.PARTICIPANT, participant), Vote("vote", (choice,), "1"), 0)
    forum.execute(HOST, ClosePoll("vote"), 0)
    return forum


# -- the model ------------------------------------------------------------------------------


def test_a_member_scores_changes_and_a_resend_changes_nothing() -> None:
    forum = Forum(programme())
    assert forum.execute(KIM, ScoreCandidate("a", (5, None)), 0)
    assert forum.committee_view("kim")["mine"] == {"a": [5, None]}
    assert forum.execute(KIM, ScoreCandidate("a", (5, None)), 0) == []  # a resend
    forum.execute(KIM, ScoreCandidate("a", (4, 3)), 0)
    assert forum.committee_view("kim")["mine"] == {"a": [4, 3]}
    # Clearing every score takes the candidate back to "not scored".
    forum.execute(KIM, ScoreCandidate("a", (None, None)), 0)
    assert forum.committee_view("kim")["mine"] == {}


@pytest.mark.parametrize(
    ("actor", "command", "code"),
    [
        (KIM, ScoreCandidate("z", (5, 5)), "unknown_candidate"),
        (KIM, ScoreCandidate("a", (5,)), "invalid_scores"),
        (KIM, ScoreCandidate("a", (5, 5, 5)), "invalid_scores"),
        (KIM, ScoreCandidate("a", (6, 5)), "score_out_of_range"),
        (KIM, ScoreCandidate("a", (0, 5)), "score_out_of_range"),
        (Actor(Role.COMMITTEE, "mallory"), ScoreCandidate("a", (5, 5)), "forbidden"),
        (Actor(Role.PARTICIPANT, "p1"), ScoreCandidate("a", (5, 5)), "forbidden"),
        (HOST, ScoreCandidate("a", (5, 5)), "forbidden"),
        (KIM, LockScoring(locked=True), "forbidden"),
        (KIM, PublishSelection(published=True), "forbidden"),
        (Actor(Role.SCREEN, "screen"), LockScoring(locked=True), "forbidden"),
    ],
)
def test_bad_scores_and_wrong_roles_are_refused(actor: Actor, command: Any, code: str) -> None:
    forum = Forum(programme())
    seq = forum.seq
    assert refused(forum, actor, command) == code
    assert forum.seq == seq


def test_locking_stops_changes_until_the_host_reopens_scoring() -> None:
    forum = Forum(programme())
    forum.execute(KIM, ScoreCandidate("a", (5, 5)), 0)
    forum.execute(HOST, LockScoring(locked=True), 0)
    assert refused(forum, KIM, ScoreCandidate("a", (1, 1))) == "scoring_locked"
    assert refused(forum, LEE, ScoreCandidate("b", (3, 3))) == "scoring_locked"
    assert forum.execute(HOST, LockScoring(locked=True), 0) == []
    forum.execute(HOST, LockScoring(locked=False), 0)
    forum.execute(KIM, ScoreCandidate("a", (1, 1)), 0)
    assert forum.committee_view("kim")["mine"] == {"a": [1, 1]}


def test_publishing_needs_the_live_vote_and_locks_scoring() -> None:
    forum = Forum(programme())
    assert refused(forum, HOST, PublishSelection(published=True)) == "no_live_vote"
    forum = closed_forum({"p1": "a"})
    events = forum.execute(HOST, PublishSelection(published=True), 0)
    assert [e.type for e in events] == ["scoring_locked", "selection_published"]
    assert forum.committee is not None and forum.committee.locked
    assert refused(forum, HOST, LockScoring(locked=False)) == "selection_published"
    forum.execute(HOST, PublishSelection(published=False), 0)
    forum.execute(HOST, LockScoring(locked=False), 0)
    assert forum.execute(KIM, ScoreCandidate("b", (2, 2)), 0)


def test_nobody_but_the_host_sees_anything_of_the_scores_before_publication() -> None:
    forum = closed_forum({"p1": "a", "p2": "b", "p3": "b"})
    forum.execute(KIM, ScoreCandidate("a", (5, 4)), 0)
    forum.execute(LEE, ScoreCandidate("a", (3, None)), 0)
    for role in (Role.PARTICIPANT, Role.SCREEN, Role.COMMITTEE):
        view = forum.state_view(role)["selection"]
        assert view["result"] is None and "progress" not in view, role
    # A member sees their own scores only.
    assert forum.committee_view("lee")["mine"] == {"a": [3, None]}
    assert forum.committee_view("kim")["mine"] == {"a": [5, 4]}
    host = forum.state_view(Role.HOST)["selection"]
    assert host["progress"] == {"kim": 2, "lee": 1}
    assert host["scores_expected"] == 4
    assert host["result"] is not None and "committee_scores" not in host["result"]
    forum.execute(HOST, PublishSelection(published=True), 0)
    for role in Role:
        result = forum.state_view(role)["selection"]["result"]
        assert [row["candidate"] for row in result["rows"]] == ["a", "b"]
        assert "committee_scores" not in result


def test_the_selection_result_shows_its_inputs_and_working() -> None:
    forum = closed_forum({"p1": "a", "p2": "b", "p3": "b", "p4": "b"})
    forum.execute(KIM, ScoreCandidate("a", (5, 5)), 0)
    forum.execute(KIM, ScoreCandidate("b", (2, None)), 0)
    forum.execute(LEE, ScoreCandidate("a", (4, 4)), 0)
    result = forum.selection_result()
    # Agreement (top gets 25): a 30 -> 25; b 10 -> 25 * 10/30 = 8 1/3
    # Live vote (top gets 25): a 1 -> 25 * 1/3 = 8 1/3; b 3 -> 25
    # Committee (mean/5 * 50): a (5+5+4+4)/4 = 4.5 -> 45; b kim's 2 alone -> 20
    # Totals: a 25 + 8 1/3 + 45 = 78 1/3; b 8 1/3 + 25 + 20 = 53 1/3
    rows = {row["candidate"]: row for row in result["rows"]}
    assert rows["a"]["exact"]["total"] == "235/3"
    assert rows["b"]["exact"]["total"] == "160/3"
    assert rows["a"]["rank"] == 1 and rows["b"]["rank"] == 2
    # b: kim gave 1 of 2, lee none of 2: three scores missing, shown as such.
    assert rows["b"]["inputs"]["scores_missing"] == 3
    assert result["committee_scores"] == {
        "kim": {"a": {"1": 5, "2": 5}, "b": {"1": 2}},
        "lee": {"a": {"1": 4, "2": 4}},
    }
    assert result["live_vote"]["counts"] == {"a": 1, "b": 3}
    assert result["rule"]["weights"] == {"agreement": 25, "live_vote": 25, "committee": 50}


def test_promoted_ideas_become_the_candidates_with_their_upvotes_as_agreements() -> None:
    forum = Forum(programme())
    authors = [Actor(Role.PARTICIPANT, f"author{n}") for n in range(3)]
    for n, author in enumerate(authors):
        forum.execute(author, SubmitPost("ideas", f"Idea {n}", "", f"post-{n}"), 0)
    posts = sorted(forum.boards.posts)
    # Idea 1 gets 3 upvotes, idea 0 gets 1, idea 2 none: the top two are promoted.
    for n in range(3):
        forum.execute(Actor(Role.PARTICIPANT, f"fan{n}"), Upvote(posts[1], True, f"u{n}"), 0)
    forum.execute(Actor(Role.PARTICIPANT, "fan0"), Upvote(posts[0], True, "v"), 0)
    forum.execute(HOST, PromoteIdeas("ideas"), 0)
    candidates = forum.selection_candidates()
    assert [(c.title, c.agreements) for c in candidates] == [("Idea 1", 3), ("Idea 0", 1)]
    view = forum.committee_view("kim")
    assert [c["id"] for c in view["candidates"]] == [f"idea-{posts[1]}", f"idea-{posts[0]}"]
    # The programme's candidates are no longer candidates.
    assert refused(forum, KIM, ScoreCandidate("a", (5, 5))) == "unknown_candidate"
    forum.execute(KIM, ScoreCandidate(f"idea-{posts[0]}", (5, 5)), 0)


# -- both engines ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENGINES)
async def test_scores_lock_and_publication_survive_a_restart(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path
) -> None:
    url = engine_url(request, kind)
    engine = open_engine(url, programme(), tmp_path)
    await engine.start()
    ack = (await engine.execute(KIM, ScoreCandidate("a", (5, None)))).ack
    assert ack == {"ok": True, "candidate": "a", "scores": [5, None], "seq": 2, "duplicate": False}
    again = (await engine.execute(KIM, ScoreCandidate("a", (5, None)))).ack
    assert again["duplicate"] is True and again["scores"] == [5, None]
    await engine.execute(LEE, ScoreCandidate("b", (2, 3)))
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(Actor(Role.PARTICIPANT, "p1"), Vote("vote", ("b",), "1"))
    await engine.execute(HOST, ClosePoll("vote"))
    await engine.execute(HOST, PublishSelection(published=True))
    with pytest.raises(ForumError) as caught:
        await engine.execute(KIM, ScoreCandidate("a", (1, 1)))
    assert caught.value.code == "scoring_locked"
    before = engine.forum.selection_result()
    await engine.close()
    restarted = open_engine(url, programme(), tmp_path)
    await restarted.start()
    assert restarted.forum.selection_result() == before
    assert before["published"] and before["locked"]
    assert before["committee_scores"] == {"kim": {"a": {"1": 5}}, "lee": {"b": {"1": 2, "2": 3}}}
    await restarted.close()


# -- over a real server ---------------------------------------------------------------------


@pytest.fixture
async def committee_live(tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(programme(), tmp_path) as (townhall, url):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield forum
        finally:
            await forum.close_clients()


def member_auth(live: Live, member: str, key: str | None = None) -> dict[str, str]:
    assert live.townhall is not None
    secret = live.townhall.keys.secret
    return {
        "role": "committee",
        "code": live.code,
        "member": member,
        "key": key if key is not None else committee_key(secret, member),
    }


async def test_a_committee_link_works_only_for_its_own_member(committee_live: Live) -> None:
    live = committee_live
    kim_key = member_auth(live, "kim")["key"]
    for auth in (
        member_auth(live, "lee", key=kim_key),  # kim's key for lee
        member_auth(live, "mallory", key=kim_key),
        member_auth(live, "kim", key=""),
        {"role": "committee", "code": live.code, "member": ["kim"], "key": kim_key},
    ):
        with pytest.raises(Refused) as caught:
            await live.connect(auth)
        assert caught.value.code == "bad_key"
    kim = await live.connect(member_auth(live, "kim"))
    snapshot = await kim.call("snapshot")
    assert snapshot["committee"]["member"] == "kim"
    assert snapshot["committee"]["rubric"] == ["Impact?", "Feasible?"]
    assert snapshot["state"]["selection"]["result"] is None


async def test_scores_travel_over_the_wire_and_stay_secret_until_published(
    committee_live: Live,
) -> None:
    live = committee_live
    host = await live.host()
    kim = await live.connect(member_auth(live, "kim"))
    lee = await live.connect(member_auth(live, "lee"))
    phone, _ = await live.phone()
    screen = await live.screen()
    ack = await kim.call("score", {"candidate": "a", "scores": [5, 4]})
    assert ack["ok"] and ack["scores"] == [5, 4]
    refusal = await phone.call("score", {"candidate": "a", "scores": [1, 1]})
    assert refusal["error"]["code"] == "forbidden"
    refusal = await kim.call("scoring_lock")
    assert refusal["error"]["code"] == "forbidden"
    # Lee's snapshot has Lee's (no) scores; the host's state says how far Kim has got.
    assert (await lee.call("snapshot"))["committee"]["mine"] == {}
    host_state = await host.wait_for(
        "state", lambda s: s["selection"]["progress"]["kim"] == 2, "the host to see progress"
    )
    assert host_state["selection"]["progress"] == {"kim": 2, "lee": 0}
    for client in (phone, screen, lee):
        for state in client.received.get("state", []):
            assert state["selection"]["result"] is None and "progress" not in state["selection"]
    assert (await host.call("selection_publish"))["error"]["code"] == "no_live_vote"
    assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
    assert (await phone.call("vote", {"poll": "vote", "choices": ["b"], "op": "v1"}))["ok"]
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
    assert (await host.call("selection_publish"))["ok"]
    published = await screen.wait_for(
        "state", lambda s: s["selection"]["published"], "the projector to get the result"
    )
    rows = published["selection"]["result"]["rows"]
    # a: 25 + 0 + 45 = 70; b: 25 * 10/30 + 25 + 0 (no scores: missing, not zero-scored) = 33 1/3
    assert [(r["candidate"], r["total"]) for r in rows] == [("a", 70.0), ("b", 33.33)]
    assert rows[1]["inputs"]["committee_mean"] is None
    locked = await kim.call("score", {"candidate": "b", "scores": [3, 3]})
    assert locked["error"]["code"] == "scoring_locked"


async def test_the_selection_exports_carry_enough_to_recompute_it(
    committee_live: Live, live: Live, tmp_path: Path
) -> None:
    forum = committee_live
    kim = await forum.connect(member_auth(forum, "kim"))
    lee = await forum.connect(member_auth(forum, "lee"))
    host = await forum.host()
    phone, _ = await forum.phone()
    assert (await kim.call("score", {"candidate": "a", "scores": [5, 4]}))["ok"]
    assert (await kim.call("score", {"candidate": "b", "scores": [2, None]}))["ok"]
    assert (await lee.call("score", {"candidate": "a", "scores": [3, 3]}))["ok"]
    assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
    assert (await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "1"}))["ok"]
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
    bearer = {"Authorization": f"Bearer {forum.host_key}"}
    async with httpx.AsyncClient(base_url=forum.url) as http:
        assert (await http.get(f"/export/{forum.code}/selection.json")).status_code == 401
        wrong = await http.get(
            f"/export/{forum.code}/selection.json", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        exported = (await http.get(f"/export/{forum.code}/selection.json", headers=bearer)).json()
        sheet = await http.get(f"/export/{forum.code}/selection.csv", headers=bearer)
        committee_sheet = await http.get(f"/export/{forum.code}/committee.csv", headers=bearer)
    async with httpx.AsyncClient(base_url=live.url) as http:
        none = await http.get(
            f"/export/{live.code}/selection.json",
            headers={"Authorization": f"Bearer {live.host_key}"},
        )
        assert none.status_code == 404 and "[selection]" in none.text
    # The JSON's inputs and settings, fed back into the scorer, give its own result.
    rule = exported["rule"]
    recomputed = result(
        [Candidate(c["id"], c["title"], c["agreements"]) for c in exported["candidates"]],
        exported["live_vote"]["counts"],
        {
            m: {c: {int(q) - 1: v for q, v in s.items()} for c, s in by.items()}
            for m, by in exported["committee_scores"].items()
        },
        Rule(
            weights=rule["weights"],
            conversion=Conversion(rule["conversion"]),
            rubric=tuple(rule["rubric"]),
            lowest=rule["score_range"][0],
            highest=rule["score_range"][1],
            tie_break=tuple(rule["tie_break"]),
        ),
    )
    assert recomputed["rows"] == exported["rows"]
    assert exported["published"] is False
    # The CSV: one row per candidate in rank order, every member's every score, the settings.
    assert sheet.content.startswith(codecs.BOM_UTF8)
    assert committee_sheet.content.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert [r["candidate"] for r in rows] == [r["candidate"] for r in exported["rows"]]
    by_id = {r["candidate"]: r for r in rows}
    assert (by_id["a"]["kim q1"], by_id["a"]["kim q2"], by_id["a"]["lee q1"]) == ("5", "4", "3")
    assert (by_id["b"]["kim q2"], by_id["b"]["lee q1"]) == ("", "")
    assert by_id["b"]["scores_missing"] == "3"
    assert by_id["a"]["weight_committee"] == "50" and by_id["a"]["conversion"] == "top"
    assert by_id["a"]["total_exact"] == exported["rows"][0]["exact"]["total"]
    # The committee sheet is what `townhall score --committee` reads.
    assert list(csv.reader(io.StringIO(committee_sheet.content.decode("utf-8-sig")))) == [
        ["member", "candidate", "q1", "q2"],
        ["kim", "a", "5", "4"],
        ["kim", "b", "2", ""],
        ["lee", "a", "3", "3"],
    ]


async def test_committee_members_count_in_presence_across_workers(
    redis_url: str, tmp_path: Path
) -> None:
    first = open_engine(redis_url, programme(), tmp_path / "one")
    second = open_engine(redis_url, programme(), tmp_path / "two")
    await first.start()
    await second.start()
    try:
        zero = {"participant": 0, "host": 0, "screen": 0, "committee": 0}
        await first.presence(zero | {"participant": 3, "committee": 1})
        totals = await second.presence(zero | {"host": 1, "committee": 2})
        assert totals == {"participant": 3, "host": 1, "screen": 0, "committee": 3}
    finally:
        await first.close()
        await second.close()
