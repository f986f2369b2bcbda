"""The selection rule's settings in a programme, and candidates from a proposal board's CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.candidates import CandidateError, parse_candidates
from townhall.cli import main
from townhall.model.scorer import Candidate, Conversion
from townhall.programme import ProgrammeError, load_programme, parse_programme

ROOMS = Path(__file__).resolve().parent.parent / "rooms"

HEAD = """\
[forum]
title = "Selection"

[[items]]
id = "vote"
kind = "poll"
title = "Candidates"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }]

[selection]
poll = "vote"
"""


def test_the_shipped_room_states_the_seeds_rule() -> None:
    selection = load_programme(ROOMS / "small-library-open-forum.toml").selection
    assert selection is not None
    assert selection.poll == "candidate-vote"
    assert dict(selection.rule.weights) == {"agreement": 25, "live_vote": 25, "committee": 50}
    assert selection.rule.conversion is Conversion.TOP
    assert selection.rule.rubric[4] == "실현가능성이 높은가?"
    assert [c.agreements for c in selection.candidates] == [42, 35, 28]
    assert len(selection.committee) == 5


def test_candidates_inline() -> None:
    text = (
        HEAD
        + """committee = ["kim"]
[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 7

[[selection.candidates]]
id = "b"
title = "Proposal B"
"""
    )
    selection = parse_programme(text, source="s.toml").selection
    assert selection is not None
    assert selection.candidates == (
        Candidate("a", "Proposal A", 7),
        Candidate("b", "Proposal B", 0),
    )
    assert selection.committee == ("kim",)


@pytest.mark.parametrize(
    ("extra", "line", "field", "reason"),
    [
        (
            "weights = { agreement = 30, live_vote = 30, committee = 50 }\n"
            'candidates_csv = "c.csv"\n',
            12,
            "selection.weights",
            "weights must add up to 100, not 110",
        ),
        (
            'conversion = "most"\ncandidates_csv = "c.csv"\n',
            12,
            "selection.conversion",
            "must be top or share",
        ),
        (
            'committee = ["Kim Lee"]\ncandidates_csv = "c.csv"\n',
            12,
            "selection.committee",
            "unique member ids",
        ),
        ("", 10, "selection", "give either [[selection.candidates]] or candidates_csv"),
    ],
)
def test_bad_settings_name_line_and_field(
    tmp_path: Path, extra: str, line: int, field: str, reason: str
) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nb,B,2\n", encoding="utf-8")
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + extra, source="s.toml", base=tmp_path)
    assert (error.value.line, error.value.field) == (line, field)
    assert reason in error.value.reason


def test_candidates_must_be_the_polls_options(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nc,C,2\n", encoding="utf-8")
    with pytest.raises(ProgrammeError, match="'b' is only in one of them"):
        parse_programme(HEAD + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path)


def test_a_bad_csv_row_is_named_by_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nb,B,lots\n", encoding="utf-8")
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path)
    assert (
        str(error.value)
        == f"{tmp_path / 'c.csv'}:3: agreements 'lots' is not a whole number of 0 or more"
    )


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", None, "empty"),
        ("id,title\na,A\n", 1, "missing agreements"),
        ("id,title,agreements\nA B,x,1\n", 2, "must be a-z"),
        ("id,title,agreements\na,x,1\n\na,y,2\n", 4, "appears twice"),
        ("id,title,agreements\na,,1\n", 2, "title must be"),
        ("id,title,agreements\na,x,-3\n", 2, "not a whole number"),
        ("id,title,agreements\na,x\n", 2, "2 columns where the header has 3"),
        ("id,title,agreements\n", None, "no candidates"),
    ],
)
def test_csv_rows_are_checked(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(CandidateError) as error:
        parse_candidates(text, source="board.csv")
    assert error.value.line == line
    assert reason in error.value.reason


def test_csv_columns_in_any_order_and_quoted_cells() -> None:
    text = 'Agreements,ID,Title\n12,night,"Night, with a comma"\n'
    assert parse_candidates(text, source="x.csv") == [Candidate("night", "Night, with a comma", 12)]


def test_check_reports_the_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOMS / "small-library-open-forum.toml")]) == 0
    assert "selection: 3 candidates, 5 committee members" in capsys.readouterr().out
