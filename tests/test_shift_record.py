"""The opinion shift in the public record: the `shift` line carries the figures as the server
computed them, `townhall verify` and the independent recount recompute them from the ballot
lines (groups included), and a tampered figure is named at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.record_builder import chained
from tests.test_shift import PEOPLE, ROOM
from tests.test_verify import recount, write
from townhall.model.commands import Actor, ClosePoll, OpenPoll, Role, ShowShift
from townhall.model.events import BallotCast, CodeRedeemed, Event, ServerStarted, to_record
from townhall.model.forum import Forum
from townhall.model.statement import programme_statement, rules_in_force
from townhall.programme import parse_programme
from townhall.record.chain import encoded
from townhall.record.verify import verify
from townhall.record.writer import RecordWriter

HOST = Actor(Role.HOST)
SECRET = "shift record secret"
# The battle, its jurors and audience voting with ballot codes, the rest without.
CODED_ROOM = ROOM.replace(
    "[[items]]", '[eligibility]\ngroups = ["jury", "audience"]\n\n[[items]]', 1
)


def battle_log() -> list[Event]:
    """A start, the two polls voted in by tests.test_shift's people (with their groups), the
    shift shown, hidden, and the final vote reopened."""
    programme = parse_programme(CODED_ROOM, source="battle.toml")
    forum = Forum(programme)
    log: list[Event] = []

    def run(events: list[Event]) -> None:
        for event in events:
            forum.apply(event)
            log.append(event)

    run([ServerStarted("memory", "0.1.0", programme_statement(programme), rules_in_force())])
    run(
        [
            CodeRedeemed(person, group, f"phone-{person}")
            for person, (group, *_) in PEOPLE.items()
            if group
        ]
    )
    for at, poll in enumerate(("pre", "final")):
        run(forum.decide(HOST, OpenPoll(poll), 0))
        for person, (group, *choices) in PEOPLE.items():
            if choices[at]:
                run([BallotCast(poll, person, (choices[at],), f"op-{poll}", group)])
        run(forum.decide(HOST, ClosePoll(poll), 0))
    for command in (ShowShift("final", True), ShowShift("final", False), OpenPoll("final")):
        run(forum.decide(HOST, command, 0))
    return log


def record_lines() -> list[dict[str, Any]]:
    """The battle's record, as the server writes it."""
    writer = RecordWriter(parse_programme(CODED_ROOM, source="battle.toml"), SECRET)
    lines = [writer.header()]
    for seq, event in enumerate(battle_log(), start=1):
        lines.append(writer.line({**to_record(event), "seq": seq, "at": 1_785_000_000_000 + seq}))
    return lines


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(encoded(line) for line in lines)


def rechained(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines with every hash made again, as a forger who re-chains would."""
    return chained([{k: v for k, v in line.items() if k not in ("prev", "hash")} for line in lines])


def test_the_shift_line_is_verified_and_recounted_independently(tmp_path: Path) -> None:
    lines = record_lines()
    shifts = [line for line in lines if line.get("type") == "shift"]
    assert [line["visible"] for line in shifts] == [True, False]
    shown = shifts[0]
    assert shown["compare_to"] == "pre" and shown["actor"] == {"role": "host"}
    # The cells as tests.test_shift worked them out, with the groups the ballots carried.
    assert shown["cells"][:3] == [["", "", "c", 1], ["", "a", "a", 2], ["", "b", "", 1]]
    assert ["jury", "b", "a", 2] in shown["cells"] and shifts[1]["cells"] == []
    coded = [line for line in lines if line.get("type") == "ballot" and "group" in line]
    assert {line["group"] for line in coded} == {"jury", "audience"}
    path = write(tmp_path, jsonl(lines))
    report = verify(path)
    assert report.problems == [] and report.checked["shifts"] == 1
    assert "opinion shifts recomputed: 1" in " ".join(report.summary())
    [counted] = recount(path)["shifts"]
    assert counted["cells"] == shown["cells"]
    assert counted["line"] == lines.index(shown) + 1


def test_a_tampered_figure_is_named_at_its_line(tmp_path: Path) -> None:
    lines = record_lines()
    at = next(n for n, line in enumerate(lines) if line.get("type") == "shift")
    lines[at]["cells"] = [
        c if c[:3] != ["jury", "b", "a"] else ["jury", "b", "a", 3] for c in lines[at]["cells"]
    ]
    report = verify(write(tmp_path, jsonl(rechained(lines))))
    assert [p.line for p in report.problems] == [at + 1]
    assert "cells: expected" in report.problems[0].message
    assert '["jury","b","a",2]' in report.problems[0].message


def test_a_shift_the_programme_does_not_state_or_a_hidden_one_with_figures(tmp_path: Path) -> None:
    lines = record_lines()
    shown = next(n for n, line in enumerate(lines) if line.get("type") == "shift")
    hidden = next(n for n, line in enumerate(lines) if line.get("type") == "shift" and n != shown)
    lines[shown]["compare_to"] = "final"
    lines[hidden]["cells"] = [["", "a", "a", 1]]
    report = verify(write(tmp_path, jsonl(rechained(lines))))
    assert [p.line for p in report.problems] == [shown + 1, hidden + 1]
    assert "the programme compares 'final' with 'pre'" in report.problems[0].message
    assert "a hidden shift carries none" in report.problems[1].message


def test_a_shift_shown_before_the_polls_closed_is_refused(tmp_path: Path) -> None:
    lines = record_lines()
    closed = [n for n, line in enumerate(lines) if line.get("type") == "poll_closed"]
    del lines[closed[-1]]  # the final vote's close
    for seq, line in enumerate(lines[1:], start=1):
        line["seq"] = seq
    report = verify(write(tmp_path, jsonl(rechained(lines))))
    messages = [p.message for p in report.problems]
    assert any("the later poll 'final' is open" in m for m in messages), messages
