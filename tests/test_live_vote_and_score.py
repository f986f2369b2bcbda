"""The live vote recorded when the selection poll closes, and `townhall score` from a journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ENGINES, engine_url
from townhall.cli import main
from townhall.engine import Engine, open_engine
from townhall.model.commands import (
    Actor,
    ClosePoll,
    OpenPoll,
    PublishSelection,
    Role,
    ScoreCandidate,
    Vote,
)
from townhall.programme import load_programme

HOST = Actor(Role.HOST, "host")
ROOM = """\
[forum]
id = "scored"
title = "Scored forum"

[[items]]
id = "vote"
kind = "poll"
title = "Candidates"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }, { id = "c", label = "C" }]

[selection]
poll = "vote"
committee = ["kim", "lee"]
rubric = ["Impact?", "Feasible?"]

[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 40

[[selection.candidates]]
id = "b"
title = "Proposal B"
agreements = 20

[[selection.candidates]]
id = "c"
title = "Proposal C"
agreements = 0
"""


@pytest.fixture
def room(tmp_path: Path) -> Path:
    path = tmp_path / "scored.toml"
    path.write_text(ROOM, encoding="utf-8")
    return path


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


async def vote_and_close(engine: Engine, choices: list[str], prefix: str) -> None:
    await engine.execute(HOST, OpenPoll("vote"))
    for n, choice in enumerate(choices):
        await engine.execute(voter(n), Vote("vote", (choice,), f"{prefix}-{n}"))
    await engine.execute(HOST, ClosePoll("vote"))


@pytest.mark.parametrize("kind", ENGINES)
async def test_closing_the_selection_poll_records_the_live_vote_and_a_reclose_replaces_it(
    request: pytest.FixtureRequest, kind: str, room: Path, tmp_path: Path
) -> None:
    url = engine_url(request, kind)
    engine = open_engine(url, load_programme(room), tmp_path)
    await engine.start()
    await vote_and_close(engine, ["a", "a", "b"], "first")
    ((seq, first),) = engine.forum.live_votes
    assert dict(first.counts) == {"a": 2, "b": 1, "c": 0}
    # Started at 1, opened at 2, ballots at 3-5, closed at 6, recorded at 7 with the tally's
    # version, 5.
    assert (seq, first.version) == (7, 5)
    # Reopened, one voter changes their mind, closed again: the new result replaces the old.
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.execute(voter(1), Vote("vote", ("c",), "second-1"))
    await engine.execute(HOST, ClosePoll("vote"))
    assert len(engine.forum.live_votes) == 2
    assert dict(engine.forum.live_votes[-1][1].counts) == {"a": 1, "b": 1, "c": 1}
    await engine.close()
    restarted = open_engine(url, load_programme(room), tmp_path)
    await restarted.start()
    assert [dict(r.counts) for _, r in restarted.forum.live_votes] == [
        {"a": 2, "b": 1, "c": 0},
        {"a": 1, "b": 1, "c": 1},
    ]
    await restarted.close()


async def test_score_from_the_journal_with_the_committees_sheet(
    room: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    engine = open_engine("memory://", load_programme(room), data)
    await engine.start()
    await vote_and_close(engine, ["b", "b", "b", "a"], "v")
    await engine.close()
    sheet = tmp_path / "committee.csv"
    sheet.write_text("member,candidate,q1,q2\nkim,a,5,5\nkim,b,3,\nlee,a,4,4\nlee,b,3,3\n")
    assert (
        main(["score", str(room), "--data-dir", str(data), "--committee", str(sheet), "--json"])
        == 0
    )
    table = json.loads(capsys.readouterr().out)
    assert table["live_vote"]["counts"] == {"a": 1, "b": 3, "c": 0}
    # Agreement, 25 to the top (40): a 25, b 12.5, c 0
    # Live vote, 25 to the top (3):  a 8 1/3, b 25, c 0
    # Committee, mean/5 * 50:        a (5+5+4+4)/4 = 4.5 -> 45; b (3+3+3)/3 = 3 -> 30
    #                                 (kim's q2 for b is missing); c nobody scored -> 0
    # Totals: a 78 1/3; b 67.5; c 0
    rows = {row["candidate"]: row for row in table["rows"]}
    assert [row["candidate"] for row in table["rows"]] == ["a", "b", "c"]
    assert rows["a"]["exact"]["total"] == "235/3"
    assert rows["b"]["total"] == 67.5
    assert rows["b"]["inputs"]["scores_missing"] == 1
    assert rows["c"]["inputs"]["committee_mean"] is None
    assert table["rule"]["weights"] == {"agreement": 25, "live_vote": 25, "committee": 50}
    assert main(["score", str(room), "--data-dir", str(data), "--committee", str(sheet)]) == 0
    text = capsys.readouterr().out
    assert "poll vote at version" in text and "78.33" in text and "67.50" in text


@pytest.mark.parametrize(
    ("sheet", "reason"),
    [
        ("member,candidate,q1\n", "the header must be member,candidate,q1,q2"),
        ("member,candidate,q1,q2\nmallory,a,5,5\n", ":2: 'mallory' is not on the committee"),
        ("member,candidate,q1,q2\nkim,z,5,5\n", ":2: 'z' is not a candidate"),
        ("member,candidate,q1,q2\nkim,a,5,x\n", ":2: q2 'x' is not a whole number"),
        ("member,candidate,q1,q2\nkim,a,9,5\n", "outside 1-5"),
        *(
            (
                f"member,candidate,q1,q2\nkim,a,5,5\n\nlee,b,{digit},\n",
                f":4: q1 {digit!r} is not a whole number; write it with the digits 0-9",
            )
            for digit in ("²", "٣", "３")
        ),
        (
            "member,candidate,q1,q2\nkim,a,5," + "4" * 5000 + "\n",
            ":2: q2 '44444444444444444444…' is not a whole number",
        ),
        (
            'member,candidate,q1,q2\nkim,a,5,"' + "x" * 200_000 + '"\n',
            ":2: not CSV: field larger than field limit (131072)",
        ),
        ("member,candidate,q1,q2\n".encode("cp949") + "kim,a,오,\n".encode("cp949"), "not UTF-8"),
    ],
)
async def test_score_refuses_a_bad_sheet_naming_the_line(
    room: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sheet: str | bytes,
    reason: str,
) -> None:
    data = tmp_path / "data"
    engine = open_engine("memory://", load_programme(room), data)
    await engine.start()
    await vote_and_close(engine, ["a"], "v")
    await engine.close()
    path = tmp_path / "sheet.csv"
    path.write_bytes(sheet if isinstance(sheet, bytes) else sheet.encode())
    assert main(["score", str(room), "--data-dir", str(data), "--committee", str(path)]) == 1
    err = capsys.readouterr().err
    assert reason in err
    assert err.count("\n") == 1


async def test_score_before_the_live_vote_closed_says_so(
    room: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", str(room), "--data-dir", str(tmp_path)]) == 1
    assert "no journal" in capsys.readouterr().err
    engine = open_engine("memory://", load_programme(room), tmp_path)
    await engine.start()
    await engine.execute(HOST, OpenPoll("vote"))
    await engine.close()
    assert main(["score", str(room), "--data-dir", str(tmp_path)]) == 1
    assert "has not been closed yet" in capsys.readouterr().err


async def test_score_takes_the_committees_scores_from_the_log(
    room: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    engine = open_engine("memory://", load_programme(room), data)
    await engine.start()
    await vote_and_close(engine, ["a", "c"], "v")
    await engine.execute(Actor(Role.COMMITTEE, "kim"), ScoreCandidate("c", (5, 5)))
    await engine.execute(Actor(Role.COMMITTEE, "lee"), ScoreCandidate("c", (3, None)))
    await engine.execute(HOST, PublishSelection(published=True))
    await engine.close()
    assert main(["score", str(room), "--data-dir", str(data), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["committee_source"] == "the forum's log"
    assert table["published"] is True
    # c: agreements 0 -> 0; votes 1 of top 1 -> 25; committee (5+5+3)/3 = 13/3 -> 43 1/3
    rows = {row["candidate"]: row for row in table["rows"]}
    assert rows["c"]["exact"]["total"] == "205/3"
    assert rows["c"]["inputs"]["scores_missing"] == 1
    assert [row["candidate"] for row in table["rows"]] == ["c", "a", "b"]
    assert main(["score", str(room), "--data-dir", str(data)]) == 0
    assert "Scores from the forum's log; the result is published." in capsys.readouterr().out
