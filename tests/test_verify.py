"""`townhall verify` against records built from docs/record.md: a whole forum verifies, an
independent recount agrees with it, and each kind of tampering is named at its first bad line."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tests import record_builder as build
from townhall.cli import main
from townhall.model.scorer import Candidate, Conversion, Rule, result
from townhall.record.verify import Report, verify

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "docs" / "record.md"


def write(tmp_path: Path, data: bytes, name: str = "record.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def first_bad_line(report: Report) -> int:
    assert report.problems, "expected the record to fail"
    return report.problems[0].line


def line_of(lines: list[dict[str, Any]], kind: str, last: bool = False) -> int:
    """The 1-based line number of the first (or last) line of that type."""
    numbers = [n for n, line in enumerate(lines, start=1) if line.get("type") == kind]
    return numbers[-1] if last else numbers[0]


def recount(path: Path) -> dict[str, Any]:
    """The independent recount's output, run as its own process."""
    done = subprocess.run(
        [sys.executable, str(HERE / "record_recount.py"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    output: dict[str, Any] = json.loads(done.stdout)
    return output


# -- a whole forum --------------------------------------------------------------------------


def test_the_forum_verifies_and_the_cli_prints_its_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = build.chained(build.forum())
    path = write(tmp_path, build.jsonl(build.forum()))
    report = verify(path)
    assert report.problems == []
    assert report.digest == lines[-1]["hash"]
    assert report.checked == {"polls": 2, "live_votes": 1, "publications": 1, "plain": 2}
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"digest {lines[-1]['hash']}" in out
    assert f"{len(lines)} lines: the header and {len(lines) - 1} events" in out
    assert "poll tallies at their close: 2; live votes: 1; selection results recomputed: 1" in out


def test_the_independent_recount_agrees_with_the_record(tmp_path: Path) -> None:
    lines = build.chained(build.forum())
    path = write(tmp_path, build.jsonl(build.forum()))
    counted = recount(path)
    assert counted["chain_ok"] and counted["digest"] == lines[-1]["hash"]
    assert counted["plain_ok"]
    assert [t["line"] for t in counted["tallies"]] == [
        n for n, line in enumerate(lines, start=1) if line.get("type") == "poll_closed"
    ]
    for tally in counted["tallies"]:
        assert tally["tally"] == lines[tally["line"] - 1]["tally"]
    [live] = counted["live_votes"]
    assert list(live["counts"].items()) == [tuple(c) for c in lines[live["line"] - 1]["counts"]]
    [chosen] = counted["selections"]
    assert chosen["rows"] == lines[chosen["line"] - 1]["result"]["rows"] == build.RESULT_ROWS


def test_a_shared_rank_is_recounted_alike(tmp_path: Path) -> None:
    """Two candidates equal on everything share rank 1, listed by id; the next is ranked 3."""
    lines = build.forum()
    selection = lines[1]["programme"]["selection"]
    selection["candidates"] = [["reading", "R", 4], ["club", "C", 4], ["repair", "X", 0]]
    selection["rule"]["conversion"] = "top"
    for line in lines:
        if line.get("op") == "v4-1":
            line["choices"] = ["club"]  # the live vote becomes 4, 4, 1
        if line.get("type") == "poll_closed" and line["poll"] == "pick":
            line["tally"] = {"reading": 4, "club": 4, "repair": 1}
        if line.get("type") == "live_vote":
            line["counts"] = [["reading", 4], ["club", 4], ["repair", 1]]
        if line.get("type") == "committee_scored":
            line["scores"] = [[0, 3], [1, 3]]
    path = write(tmp_path, build.jsonl(lines))
    rows = recount(path)["selections"][0]["rows"]
    assert [(r["rank"], r["candidate"], r["points"]["total"]) for r in rows] == [
        (1, "club", "80"),
        (1, "reading", "80"),
        (3, "repair", "145/4"),
    ]
    lines[-1]["result"] = {"rows": rows}
    assert verify(write(tmp_path, build.jsonl(lines))).problems == []


def test_the_worked_example_in_the_spec_verifies_and_matches_its_builder(tmp_path: Path) -> None:
    block = re.search(r"```jsonl\n(.*?)```", SPEC.read_text(encoding="utf-8"), re.S)
    assert block is not None, "docs/record.md lost its worked example"
    documented = block.group(1).encode()
    assert documented == build.jsonl(build.example()), "regenerate the example from the builder"
    hashed = re.search(r"```\n(\{.*?\})\n```", SPEC.read_text(encoding="utf-8"))
    assert hashed is not None, "docs/record.md lost the bytes it hashes for line 3"
    line_3 = json.loads(documented.splitlines()[2])
    assert hashed.group(1).encode() == rfc8785.dumps(
        {k: v for k, v in line_3.items() if k != "hash"}
    )
    assert hashlib.sha256(hashed.group(1).encode()).hexdigest() == line_3["hash"]
    path = write(tmp_path, documented)
    report = verify(path)
    assert report.problems == []
    assert report.checked["polls"] == 1
    assert recount(path)["tallies"][0]["tally"] == {"soup": 2, "salad": 1}


# -- tampering ------------------------------------------------------------------------------

FORUM = build.jsonl(build.forum())
RAW = FORUM.split(b"\n")[:-1]
OFFSETS = [sum(len(r) + 1 for r in RAW[:n]) for n in range(len(RAW))]


@pytest.mark.parametrize(
    "kind",
    [
        "server_started",
        "ballot",
        "poll_closed",
        "post_created",
        "committee_scored",
        "selection_published",
    ],
)
def test_any_changed_byte_fails_at_its_line(tmp_path: Path, kind: str) -> None:
    lines = build.forum()
    number = line_of(lines, kind)
    start, length = OFFSETS[number - 1], len(RAW[number - 1])
    for at in range(start, start + length, max(1, length // 40)):
        data = bytearray(FORUM)
        data[at] ^= 1
        report = verify(write(tmp_path, bytes(data)))
        assert first_bad_line(report) == number, (at - start, report.problems[:2])


def test_a_dropped_line_fails_at_the_line_after_it(tmp_path: Path) -> None:
    for dropped in (1, 2, 5, len(RAW) - 3):
        data = b"".join(r + b"\n" for n, r in enumerate(RAW, start=1) if n != dropped)
        report = verify(write(tmp_path, data))
        assert first_bad_line(report) == dropped
    message = verify(write(tmp_path, b"".join(r + b"\n" for r in RAW[:4] + RAW[5:])))
    assert "prev: expected" in message.problems[0].message


def test_two_swapped_lines_fail_at_the_first(tmp_path: Path) -> None:
    for first in (2, 6, len(RAW) - 2):
        raw = list(RAW)
        raw[first - 1], raw[first] = raw[first], raw[first - 1]
        report = verify(write(tmp_path, b"".join(r + b"\n" for r in raw)))
        assert first_bad_line(report) == first


def test_a_truncated_file_fails_at_its_last_line(tmp_path: Path) -> None:
    for cut in (OFFSETS[7] + 30, OFFSETS[-1] + 5, len(FORUM) - 1):
        report = verify(write(tmp_path, FORUM[:cut]))
        assert first_bad_line(report) == FORUM[:cut].count(b"\n") + 1
        assert any("no line end" in p.message for p in report.problems)


def test_a_line_spliced_in_from_another_record_fails_there(tmp_path: Path) -> None:
    other = build.jsonl(build.example()).split(b"\n")
    raw = [*RAW[:6], other[3], *RAW[6:]]
    report = verify(write(tmp_path, b"".join(r + b"\n" for r in raw)))
    assert first_bad_line(report) == 7


def test_a_forged_ballot_appended_after_the_close_fails(tmp_path: Path) -> None:
    lines = build.forum()
    events = build.Events("x")
    events.lines = lines
    events.add("mallory", "ballot", poll="pick", choices=["club"], op="late")
    report = verify(write(tmp_path, build.jsonl(lines)))
    [problem] = report.problems
    assert problem.line == len(lines)
    assert "a ballot for poll 'pick', which is closed" in problem.message


def test_a_tally_that_disagrees_with_the_ballots_fails(tmp_path: Path) -> None:
    lines = build.forum()
    number = line_of(lines, "poll_closed")
    lines[number - 1]["tally"] = {"soup": 2, "salad": 1}
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problem.line == number
    assert problem.message == (
        'tally of poll \'lunch\': expected {"soup":3,"salad":0} from the ballots,'
        ' found {"salad":1,"soup":2}'
    )


def test_a_live_vote_that_disagrees_fails_and_so_does_the_result_built_on_it(
    tmp_path: Path,
) -> None:
    lines = build.forum()
    number = line_of(lines, "live_vote")
    lines[number - 1]["counts"] = [["reading", 4], ["club", 4], ["repair", 1]]
    problems = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problems[0].line == number and "live vote of poll 'pick'" in problems[0].message


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda rows: rows[0]["points"].update(total="75"), 'points.total: expected "1355/18"'),
        (lambda rows: rows.reverse(), "rank: expected 1, found 3"),
        (lambda rows: rows[2].update(committee_scores_given=3), "committee_scores_given"),
        (lambda rows: rows.pop(), "expected 3 rows, found 2"),
    ],
)
def test_a_published_result_that_disagrees_fails(
    tmp_path: Path, change: Callable[[list[dict[str, Any]]], None], said: str
) -> None:
    lines = build.forum()
    rows = json.loads(json.dumps(build.RESULT_ROWS))
    change(rows)
    lines[-1]["result"] = {"rows": rows}
    problems = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problems and {p.line for p in problems} == {len(lines)}
    assert said in problems[0].message


def test_a_plain_text_that_is_not_the_one_hashed_fails(tmp_path: Path) -> None:
    lines = build.forum()
    number = line_of(lines, "post_created")
    lines[number - 1]["plain"]["text"] = "Something else"
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problem.line == number
    assert "plain.text hashes to" in problem.message and "not the one hashed" in problem.message


def purge(lines: list[dict[str, Any]], *posts: int) -> list[dict[str, Any]]:
    """The forum with its idea board's `posts` purged at the end, and their `plain` left out."""
    events = build.Events("x")
    events.lines = lines
    events.add("host", "posts_purged", board="ideas", posts=list(posts))
    for line in lines:
        if line.get("post") in posts and line["type"] in ("post_created", "post_edited"):
            del line["plain"]
    return lines


def test_a_purged_text_may_be_left_out(tmp_path: Path) -> None:
    lines = build.forum()
    report = verify(
        write(tmp_path, build.jsonl(purge(lines, _first(lines, "post_created")["seq"])))
    )
    assert report.problems == [] and "plain" not in report.checked


def test_a_purged_post_that_keeps_its_text_fails(tmp_path: Path) -> None:
    """A purge takes a post's text out of the record: one still carrying it is named."""
    lines = build.forum()
    first = _first(lines, "post_created")
    events = build.Events("x")
    events.lines = lines
    events.add("host", "posts_purged", board="ideas", posts=[first["seq"]])
    problems = verify(write(tmp_path, build.jsonl(lines))).problems
    carrying = [
        n
        for n, line in enumerate(lines, start=1)
        if line.get("post") == first["seq"] and "plain" in line
    ]
    assert [p.line for p in problems] == carrying and carrying[0] == lines.index(first) + 1
    assert all(
        f"post {first['seq']} was purged, but its plain text is still here" in p.message
        for p in problems
    )


def test_a_post_merged_into_a_purged_one_is_purged_with_it(tmp_path: Path) -> None:
    """A purge lists the posts merged into the ones it removes: their text goes too."""
    lines = build.forum()
    events = build.Events("x")
    events.lines = lines
    first = _first(lines, "post_created")["seq"]
    second = events.post("ben", "ideas", "Repairs, please", "")["seq"]
    events.add("host", "posts_merged", source=second, target=first)
    events.add("host", "post_state", post=first, state="hidden")
    report = verify(write(tmp_path, build.jsonl(purge(lines, first, second))))
    assert report.problems == []


@pytest.mark.parametrize("kind", ["post_created", "post_edited"])
def test_a_plain_left_out_of_a_post_never_purged_fails(tmp_path: Path, kind: str) -> None:
    lines = build.forum()
    number = line_of(lines, kind)
    post = lines[number - 1]["post"]
    del lines[number - 1]["plain"]
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert (problem.line, problem.message) == (
        number,
        f"plain is missing but post {post} is never purged",
    )
    # Another post's purge is not this one's.
    events = build.Events("x")
    events.lines = lines
    other = events.post("ben", "ideas", "Repairs, please", "")["seq"]
    [problem] = verify(write(tmp_path, build.jsonl(purge(lines, other)))).problems
    assert problem.line == number and f"post {post} is never purged" in problem.message


def test_plain_needs_its_salt_and_the_hashes_are_salted(tmp_path: Path) -> None:
    lines = build.forum()
    number = line_of(lines, "post_created")
    post = lines[number - 1]
    assert post["text_sha256"] == build.salted_sha(post["plain"]["salt"], post["plain"]["text"])
    del post["plain"]["salt"]
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problem.line == number
    assert "plain: expected members ['name', 'salt', 'text']" in problem.message
    # Unsalted hashes, which let anyone check a guess at a purged text, are not the format.
    lines = build.forum()
    post = lines[number - 1]
    post["text_sha256"] = hashlib.sha256(post["plain"]["text"].encode()).hexdigest()
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problem.line == number and "plain.salt + plain.text hashes to" in problem.message
    post["plain"]["salt"] = "not hex"
    [problem] = verify(write(tmp_path, build.jsonl(lines))).problems
    assert "plain.salt: expected 32 lowercase hex digits" in problem.message


def test_a_byte_order_mark_is_said_once(tmp_path: Path) -> None:
    report = verify(write(tmp_path, b"\xef\xbb\xbf" + FORUM))
    assert [(p.line, p.message) for p in report.problems] == [
        (
            1,
            "the file starts with a byte-order mark; a record has none"
            " — was it saved by an editor?",
        )
    ]


def test_crlf_line_ends_are_said_once_at_the_first(tmp_path: Path) -> None:
    report = verify(write(tmp_path, FORUM.replace(b"\n", b"\r\n")))
    assert [(p.line, p.message) for p in report.problems] == [
        (1, "line ends are CRLF; a record uses LF (the first is line 1's)")
    ]
    mixed = b"".join(r + (b"\r\n" if n >= 5 else b"\n") for n, r in enumerate(RAW, start=1))
    [problem] = verify(write(tmp_path, mixed)).problems
    assert problem.line == 5 and problem.message.startswith("line ends are CRLF")


def _first(lines: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return lines[line_of(lines, kind) - 1]


@pytest.mark.parametrize(
    ("kind", "change", "said"),
    [
        ("ballot", {"choices": ["soup", "salad"]}, "expected 1 to 1 of ['soup', 'salad']"),
        ("ballot", {"choices": ["tea"]}, "choices: 'tea' is not an option of poll 'lunch'"),
        ("ballot", {"actor": {"role": "host"}}, 'actor: expected {"role": "participant"'),
        ("ballot", {"actor": {"role": "participant", "id": "ana"}}, "actor: expected"),
        ("ballot", {"poll": "welcome"}, "'welcome' is not a poll in the programme"),
        ("committee_scored", {"scores": [[0, 6]]}, "scores: 6 is outside 1-5"),
        ("committee_scored", {"scores": [[2, 3]]}, "question index 2 is not in the rubric"),
        ("committee_scored", {"member": "lee"}, "'lee' is not a committee member scoring as"),
        ("committee_scored", {"candidate": "moon"}, "'moon' is not a current candidate"),
        ("post_created", {"post": 3}, "post: expected 11 (this line's seq), found 3"),
        ("poll_opened", {"type": "poll_reopened"}, 'type: "poll_reopened" is not an event type'),
        ("poll_opened", {"note": "x"}, "unexpected ['note']"),
        ("item", {"at": -5}, "at: expected milliseconds since 1970 or null, found -5"),
        ("server_started", {"programme": {"id": "other", "items": []}}, "programme.id: expected"),
        ("format", {"version": 2}, "version: expected 1, found 2"),
    ],
)
def test_a_line_that_breaks_a_rule_fails_there(
    tmp_path: Path, kind: str, change: dict[str, Any], said: str
) -> None:
    lines = build.forum()
    number = 1 if kind == "format" else line_of(lines, kind)
    lines[number - 1].update(change)
    problems = verify(write(tmp_path, build.jsonl(lines))).problems
    assert problems[0].line == number
    assert said in problems[0].message


def test_a_reopened_poll_keeps_its_ballots(tmp_path: Path) -> None:
    lines = build.forum()
    close = line_of(lines, "poll_closed")
    events = build.Events("x")
    events.lines = lines[:close]
    events.add("host", "poll_opened", poll="lunch")
    events.add("dee", "ballot", poll="lunch", choices=["salad"], op="dee-1")
    events.add("host", "poll_closed", poll="lunch", tally={"soup": 3, "salad": 1})
    report = verify(write(tmp_path, build.jsonl(events.lines)))
    assert report.problems == [] and report.checked["polls"] == 2


def test_non_canonical_and_float_lines_are_refused(tmp_path: Path) -> None:
    spaced = RAW[1].replace(b'","', b'", "', 1)
    report = verify(write(tmp_path, b"\n".join([RAW[0], spaced, *RAW[2:]]) + b"\n"))
    assert first_bad_line(report) == 2 and "canonical form" in report.problems[0].message
    lines = build.forum()
    lines[2]["timer_ms"] = 1.5
    report = verify(write(tmp_path, build.jsonl(lines)))
    assert first_bad_line(report) == 3 and "floating-point" in report.problems[0].message


# -- the selection export and the command line ----------------------------------------------


def export(digest: str | None) -> dict[str, Any]:
    """The selection export as GET /export/{code}/selection.json makes it, from the scorer."""
    chosen = build.PROGRAMME["selection"]
    rule = chosen["rule"]
    table = result(
        [Candidate(c[0], c[1], c[2]) for c in chosen["candidates"]],
        {"reading": 5, "club": 3, "repair": 1},
        {
            "kim": {"reading": {0: 4, 1: 5}, "club": {0: 3, 1: 3}, "repair": {0: 5, 1: 4}},
            "lee": {"reading": {0: 5, 1: 5}, "club": {0: 2, 1: 4}},
        },
        Rule(
            weights=rule["weights"],
            conversion=Conversion(rule["conversion"]),
            rubric=tuple(rule["rubric"]),
            lowest=rule["lowest"],
            highest=rule["highest"],
            tie_break=tuple(rule["tie_break"]),
        ),
    )
    return {"forum": "library-forum", "published": True, **table} | (
        {} if digest is None else {"digest": digest}
    )


def test_the_selection_export_matches_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = build.chained(build.forum())
    path = write(tmp_path, build.jsonl(build.forum()))
    good = write(tmp_path, json.dumps(export(lines[-1]["hash"])).encode(), "selection.json")
    assert main(["verify", str(path), "--selection", str(good)]) == 0
    assert "3 rows match the last published result, its digest is in the record" in (
        capsys.readouterr().out
    )
    early = write(tmp_path, json.dumps(export(lines[5]["hash"])).encode(), "early.json")
    [problem] = verify(path, early).problems
    assert problem.line == len(lines) and "line 6's hash, before the publication" in problem.message
    changed = export(None)
    changed["rows"][1]["exact"]["total"] = "50"
    [problem] = verify(path, write(tmp_path, json.dumps(changed).encode(), "c.json")).problems
    assert problem.message == 'selection export row 2: points.total: expected "455/9", found "50"'


def test_the_cli_names_each_bad_line_and_never_shows_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = build.forum()
    lines[line_of(lines, "poll_closed")]["choices"] = ["nothing"]
    path = write(tmp_path, build.jsonl(lines))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:{line_of(lines, 'poll_closed') + 1}: ")
    assert main(["verify", str(tmp_path / "missing.jsonl")]) == 2
    assert "can't read it" in capsys.readouterr().err
    assert main(["verify", str(write(tmp_path, b"not json\n"))]) == 1
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'record.jsonl'}:1: not JSON")
    assert main(["verify", str(write(tmp_path, b""))]) == 1
    assert "the file is empty" in capsys.readouterr().out
    bad_export = write(tmp_path, b"{", "selection.json")
    assert main(["verify", str(path), "--selection", str(bad_export)]) == 2
    assert "not a selection export: not JSON" in capsys.readouterr().err
